/** `biaslearn data fetch <name...>` and `biaslearn data list`: the named image sets and where they live. */
import { Argument, type Command } from 'commander';
import { fetchDataset, DATASET_SOURCES } from '../data/fetch.js';
import { DATASET_NAMES, dataHome, datasetSearchDirs, fetchCommand, splitsIn, type DatasetName } from '../data/locations.js';
import type { CliContext } from './context.js';
import { println } from './io.js';

export function registerData(program: Command, ctx: CliContext): Command {
  const data = program
    .command('data')
    .description(
      `download and list the named datasets (${DATASET_NAMES.join(', ')}); stored in $BIASLEARN_DATA or the user cache`,
    );
  data
    .command('fetch')
    .description('download the official IDX files, verify their SHA-256 and store them (atomically) in the data folder')
    .addArgument(new Argument('<name...>', 'dataset(s) to fetch').choices(DATASET_NAMES))
    .option('--dir <dir>', 'store the files in this folder instead of <data folder>/<name> (one dataset only)')
    .option('--base-url <url>', 'fetch from this folder URL instead of the official one (also $BIASLEARN_DATA_URL/<name>/)')
    .action(async (names: DatasetName[], flags: { dir?: string; baseUrl?: string }) => {
      const out = ctx.io.stdout;
      for (const name of names) {
        println(out, `${DATASET_SOURCES[name].title}:`);
        const result = await fetchDataset(name, {
          ...(flags.dir !== undefined && names.length === 1 ? { dir: flags.dir } : {}),
          ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
          onFile: (f) =>
            println(out, `  ${f.status === 'present' ? 'present   ' : 'downloaded'} ${f.name} (${f.bytes} bytes, SHA-256 ok)`),
        });
        println(out, `  stored in ${result.dir}`);
      }
    });
  data
    .command('list')
    .description('show which datasets are present, where, and with which splits')
    .option('--json', 'print one JSON object instead of text')
    .action((flags: { json?: boolean }) => {
      const rows = DATASET_NAMES.map((name) => ({
        name,
        locations: datasetSearchDirs(name).map((dir) => ({ dir, splits: splitsIn(dir) as string[] })),
      }));
      if (flags.json) {
        println(ctx.io.stdout, JSON.stringify({ dataHome: dataHome(), datasets: rows }));
        return;
      }
      const out = ctx.io.stdout;
      println(
        out,
        `data folder: ${dataHome()} (${process.env.BIASLEARN_DATA ? 'BIASLEARN_DATA' : 'user cache; set BIASLEARN_DATA to change'})`,
      );
      for (const row of rows) {
        const found = row.locations.filter((l) => l.splits.length > 0);
        if (!found.length) {
          println(out, `  ${row.name.padEnd(14)} not found (${fetchCommand(row.name)})`);
          continue;
        }
        found.forEach((l, i) => {
          println(
            out,
            `  ${(i === 0 ? row.name : '').padEnd(14)} ${l.splits.join('+').padEnd(10)} ${l.dir}${i > 0 ? ' (shadowed)' : ''}`,
          );
        });
      }
      println(out, '  spirals        embedded (generated, no files)');
    });
  return data;
}
