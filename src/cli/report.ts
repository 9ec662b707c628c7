/** `biaslearn report <runs dir>`: one self-contained, offline HTML page comparing the runs (src/report/html_report.ts). */
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildReport, findRuns } from '../report/html_report.js';
import { displayPath, type CliContext } from './context.js';
import { writeTextAtomic } from './files.js';
import { UsageError, println } from './io.js';

/** Adds the `report` command. */
export function registerReport(program: Command, ctx: CliContext): Command {
  return program
    .command('report')
    .description(
      'write one self-contained HTML page comparing the runs in a folder (loss curves, accuracy vs width, per-task accuracy, figures)',
    )
    .argument('<runs>', 'folder holding run folders (train, sweep, multitask, rnn outputs)')
    .option('--out <file>', 'output file (default: <runs>/report.html)')
    .action(async (dir: string, flags: { out?: string }) => {
      const runs = findRuns(dir);
      if (!runs.length) throw new UsageError(`no runs (metrics.json or sweep.json) under ${dir}`);
      const { html, charts } = buildReport(dir, runs);
      const out = flags.out ?? join(dir, 'report.html');
      await writeTextAtomic(out, html);
      println(
        ctx.io.stdout,
        `report of ${runs.length} run${runs.length === 1 ? '' : 's'} (${charts} interactive chart${charts === 1 ? '' : 's'}): ${displayPath(out)}`,
      );
    });
}
