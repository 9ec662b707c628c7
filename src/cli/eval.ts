/** `biaslearn eval <checkpoint>`: test loss and accuracy of a saved model. */
import { Option, type Command } from 'commander';
import { readCheckpoint } from '../model/checkpoint.js';
import { MLP } from '../model/mlp.js';
import type { BackendName } from '../native/binding.js';
import { applyThreads } from './common.js';
import { displayPath, type CliContext } from './context.js';
import { DATA_NAMES, addDataOptions, loadData, resolveDataSpec, type DataFlags, type DataSpec } from './data.js';
import { fixed, seconds } from './format.js';
import { UsageError, println } from './io.js';
import { intParser } from './parse.js';

interface EvalFlags extends DataFlags {
  backend: BackendName;
  threads?: number;
  batchSize: number;
  json?: boolean;
}

export function registerEval(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('eval')
    .description('evaluate a checkpoint on the test split of its training data (or of the data flags given)')
    .argument('<checkpoint>', 'a model.blck written by `biaslearn train`')
    .optionsGroup('Data (default: as recorded in the checkpoint):');
  addDataOptions(cmd, { evalMode: true });
  cmd
    .optionsGroup('Evaluation:')
    .option('--batch-size <n>', 'evaluation batch size', intParser(1), 1024)
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cuda'] as const).default('cpu'))
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores', intParser(0, 1024))
    .option('--json', 'print one JSON object instead of text')
    .addHelpText(
      'after',
      `
Without data flags, the data recorded in the checkpoint is rebuilt (same files, seed and split).
Data flags override it: --data starts afresh, others (e.g. --data-dir) adjust the recorded data.

Examples:
  biaslearn eval runs/2025-01-01T12-00-00/model.blck
  biaslearn eval model.blck --data mnist --json`,
    )
    .action(async (checkpoint: string, flags: EvalFlags) => {
      await runEval(checkpoint, flags, ctx);
    });
  return cmd;
}

function recordedData(metadata: Record<string, unknown> | undefined): DataSpec | undefined {
  const d = metadata?.data as Partial<DataSpec> | undefined;
  if (!d || typeof d !== 'object' || !(DATA_NAMES as readonly string[]).includes(d.name as string)) return undefined;
  if (typeof d.seed !== 'number' || typeof d.testFraction !== 'number') return undefined;
  return d as DataSpec;
}

async function runEval(checkpoint: string, flags: EvalFlags, ctx: CliContext): Promise<void> {
  applyThreads(flags.threads);
  const { header } = await readCheckpoint(checkpoint);
  const recorded = recordedData(header.metadata);
  if (!recorded && flags.data === undefined) {
    throw new UsageError(`${checkpoint} does not record its training data; pass --data (and its flags)`);
  }
  const spec = resolveDataSpec(flags, recorded);
  const t0 = performance.now();
  const data = await loadData(spec, { withTrain: false, progress: ctx.io.stderr });
  const model = await MLP.load(checkpoint, { backend: flags.backend });
  try {
    const r = await model.evaluate(data.test, { batchSize: flags.batchSize });
    const secs = (performance.now() - t0) / 1000;
    if (flags.json) {
      const out = {
        checkpoint: displayPath(checkpoint),
        data: data.spec,
        dataDescription: data.description,
        n: r.n,
        loss: r.loss,
        accuracy: r.accuracy ?? null,
        backend: model.backend,
        seconds: secs,
      };
      println(ctx.io.stdout, JSON.stringify(out));
    } else {
      println(ctx.io.stderr, `data: ${data.description}`);
      println(ctx.io.stdout, `test accuracy: ${fixed(r.accuracy)} (loss ${fixed(r.loss)}, ${r.n} samples, ${seconds(secs)})`);
    }
  } finally {
    model.dispose();
  }
}
