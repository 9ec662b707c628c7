/** `biaslearn eval <checkpoint>`: test loss and accuracy of a saved model. */
import { Option, type Command } from 'commander';
import { readCheckpoint } from '../model/checkpoint.js';
import { MLP } from '../model/mlp.js';
import type { BackendName } from '../native/binding.js';
import { applyThreads } from './common.js';
import { displayPath, type CliContext } from './context.js';
import { DATA_NAMES, addDataOptions, loadData, resolveDataSpec, type DataFlags, type DataName, type DataSpec } from './data.js';
import { FileFormatError } from '../errors.js';
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
Without data flags, the data recorded in the checkpoint is rebuilt by name (same seed and split):
image sets from the data locations (--data-dir, $BIASLEARN_DATA, ...), never from a path the
checkpoint names; a recorded --data idx needs --images and --labels again. Data flags override it:
--data starts afresh, others (e.g. --data-dir) adjust the recorded data.

Examples:
  biaslearn eval runs/2025-01-01T12-00-00/model.blck
  biaslearn eval model.blck --data mnist --json`,
    )
    .action(async (checkpoint: string, flags: EvalFlags) => {
      await runEval(checkpoint, flags, ctx);
    });
  return cmd;
}

/**
 * The data a checkpoint records, as data rather than instructions: the dataset's name, seed,
 * split and sizes, range-checked; never a path. Image sets are then found in the data locations
 * (--data-dir, $BIASLEARN_DATA, ...), and IDX files only where --images / --labels name them.
 * Out-of-range values refuse the record (E_FORMAT); pass --data to start afresh.
 */
export function recordedData(metadata: Record<string, unknown> | undefined, checkpoint: string): DataSpec | undefined {
  const d = metadata?.data as Record<string, unknown> | undefined;
  if (!d || typeof d !== 'object' || !(DATA_NAMES as readonly string[]).includes(d.name as string)) return undefined;
  const spec: DataSpec = { name: d.name as DataName, seed: 0, testFraction: 0 };
  const bad = (field: string): never => {
    throw new FileFormatError(
      'E_FORMAT',
      checkpoint,
      `the recorded data has an invalid ${field}; pass --data (and its flags) to choose the data`,
    );
  };
  const int = (field: string, min: number, max: number, required: boolean): number | undefined => {
    const v = d[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) return bad(field);
    return v;
  };
  spec.seed = int('seed', 0, 0xffffffff, true)!;
  const f = d.testFraction;
  if (typeof f !== 'number' || !(f > 0 && f < 1)) bad('testFraction');
  spec.testFraction = f as number;
  if (d.split !== undefined) {
    if (d.split !== 'official' && d.split !== 'holdout') bad('split');
    spec.split = d.split as 'official' | 'holdout';
  }
  const limit = int('limit', 1, Number.MAX_SAFE_INTEGER, false);
  if (limit !== undefined) spec.limit = limit;
  if (spec.name === 'spirals') {
    spec.samples = int('samples', 2, MAX_RECORDED_SAMPLES, true)!;
    spec.classes = int('classes', 2, 1000, true)!;
    spec.embed = int('embed', 2, 100000, true)!;
    if (spec.samples * spec.embed > MAX_RECORDED_VALUES) bad('size (samples x embed over 2^27 values)');
  }
  return spec;
}

/** Caps on a recorded spirals set: its generated samples, and samples x features. */
const MAX_RECORDED_SAMPLES = 10_000_000;
const MAX_RECORDED_VALUES = 2 ** 27;

async function runEval(checkpoint: string, flags: EvalFlags, ctx: CliContext): Promise<void> {
  applyThreads(flags.threads);
  const { header } = await readCheckpoint(checkpoint);
  const recorded = recordedData(header.metadata, checkpoint);
  if (!recorded && flags.data === undefined) {
    throw new UsageError(`${checkpoint} does not record its training data; pass --data (and its flags)`);
  }
  if (recorded?.name === 'idx' && flags.data === undefined && (flags.images === undefined || flags.labels === undefined)) {
    throw new UsageError(
      `${checkpoint} was trained on IDX files: pass --images and --labels (paths recorded in a checkpoint are never opened)`,
    );
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
