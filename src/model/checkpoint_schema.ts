/**
 * What a checkpoint header may hold, field by field, for every model kind; and what its declared
 * sizes imply: the learned tensors the file must hold (names and lengths) and how many values the
 * model would allocate. Both are checked when a file is read, before any model is built, so a
 * hand-edited or hostile header is refused (E_FORMAT) instead of loading with defaults or
 * allocating what it declares.
 */
import { MULTITASK_TRAIN_MODES, READOUT_KINDS } from '../multitask/config.js';
import { RNN_TRAINABLE_SETS, RULE_KINDS } from '../rnn/config.js';
import { CONTRASTIVE_RULES } from '../contrastive/config.js';
import { ACTIVATIONS } from './activation.js';
import { LOSSES, TRAINABLE_SETS } from './config.js';
import { arr, bool, checkSchema, either, int, nullable, num, obj, oneOf, record, type Schema, str } from './schema.js';

/** Widths, inputs, outputs and classes a checkpoint may declare (each). */
export const MAX_CHECKPOINT_UNITS = 1 << 24;
/** Hidden layers of an MLP or multi-task checkpoint. */
export const MAX_CHECKPOINT_LAYERS = 1024;
/** Tasks of a multi-task checkpoint; conditions of an RNN. */
export const MAX_CHECKPOINT_TASKS = 1 << 16;
/**
 * Default cap on the values (frozen and learned, float32) a loaded model may allocate: 2^27
 * (512 MiB). A checkpoint declaring more is refused with E_FORMAT before anything is allocated;
 * `load(path, { maxWeights })` raises the cap for a model you trust.
 */
export const DEFAULT_MAX_LOAD_WEIGHTS = 2 ** 27;
/** Entries of the tensor table. */
const MAX_TENSORS = 1 << 20;

const seed = int(0, Number.MAX_SAFE_INTEGER);
const units = int(1, MAX_CHECKPOINT_UNITS);
const init = obj({ dist: oneOf(['uniform', 'normal', 'zeros']), scale: num(0), relative: bool });
const optimizer = obj({
  type: oneOf(['adam', 'adamw', 'sgd']),
  lr: num(0, Infinity, true),
  beta1: num(0, 1),
  beta2: num(0, 1),
  eps: num(0),
  momentum: num(0, 1),
  nesterov: bool,
  weightDecay: num(0),
});
/** Checkpoints of 0.1.x have no clip (it loads as 0). */
const clip = num(0);
/** The frozen-weight precision (src/model/precision.ts); absent in checkpoints before it (fp32). */
const precision = { weightPrecision: oneOf(['fp32', 'bf16']), tf32: bool };
const PRECISION_KEYS = ['weightPrecision', 'tf32'];

const MLP_SCHEMA = obj(
  {
    kind: oneOf(['mlp']),
    seed,
    loss: oneOf(LOSSES),
    train: either(
      `one of ${TRAINABLE_SETS.join(', ')} or { layers: [{ weight, bias }] }`,
      oneOf(TRAINABLE_SETS),
      obj({ layers: arr(obj({ weight: bool, bias: bool }), 1, MAX_CHECKPOINT_LAYERS + 1) }),
    ),
    layers: arr(
      obj({
        in: units,
        out: units,
        activation: oneOf(ACTIVATIONS),
        weightInit: init,
        biasInit: init,
        trainWeight: bool,
        trainBias: bool,
      }),
      1,
      MAX_CHECKPOINT_LAYERS + 1,
    ),
    optimizer,
    clip,
    ...precision,
  },
  ['clip', ...PRECISION_KEYS],
);

const MULTITASK_SCHEMA = obj(
  {
    kind: oneOf(['multitask-mlp']),
    seed,
    inputSize: units,
    hidden: arr(units, 1, MAX_CHECKPOINT_LAYERS),
    activation: oneOf(ACTIVATIONS.filter((a) => a !== 'identity')),
    train: oneOf(MULTITASK_TRAIN_MODES),
    readout: oneOf(READOUT_KINDS.filter((r) => r !== 'auto')),
    tasks: arr(obj({ name: str(128), classes: int(1, 1 << 20) }), 1, MAX_CHECKPOINT_TASKS),
    weightInit: arr(init, 2, MAX_CHECKPOINT_LAYERS + 1),
    biasInit: arr(init, 2, MAX_CHECKPOINT_LAYERS + 1),
    maskInit: num(),
    maskSlope: obj({ start: num(0, Infinity, true), end: num(0, Infinity, true) }),
    optimizer,
    clip,
    ...precision,
  },
  ['clip', ...PRECISION_KEYS],
);

const RNN_SCHEMA = obj(
  {
    kind: oneOf(['rnn']),
    inputSize: int(0, 1 << 20),
    hidden: int(1, 1 << 20),
    outputSize: int(1, 1 << 20),
    activation: oneOf(ACTIVATIONS),
    decay: num(0),
    gain: num(0, Infinity, true),
    alpha: nullable(num(0, 1, true)),
    form: oneOf(['leaky', 'residual', 'custom']),
    recurrentGain: num(0),
    conditions: int(1, 1 << 20),
    recurrentInit: init,
    inputInit: init,
    readoutInit: init,
    biasInit: init,
    stateInit: init,
    readoutBiasInit: init,
    feedbackInit: init,
    train: oneOf([...RNN_TRAINABLE_SETS, 'custom']),
    trainable: obj({
      recurrentWeight: bool,
      inputWeight: bool,
      readoutWeight: bool,
      recurrentBias: bool,
      readoutBias: bool,
      initialState: bool,
    }),
    rule: obj(
      {
        kind: oneOf(RULE_KINDS),
        window: int(0, 1 << 30),
        online: bool,
        feedback: oneOf(['random', 'symmetric']),
        traceDecay: num(),
      },
      ['traceDecay'],
    ),
    clip,
    seed,
    optimizer,
    ...precision,
  },
  ['clip', ...PRECISION_KEYS],
);

const steps = int(1, 1 << 30);
const CONTRASTIVE_SCHEMA = obj({
  kind: oneOf(['contrastive']),
  sizes: arr(units, 2, MAX_CHECKPOINT_LAYERS + 2),
  activation: oneOf(ACTIVATIONS),
  outputActivation: oneOf(ACTIVATIONS),
  train: either(
    "'bias', 'full' or { layers: [{ weight, bias }] }",
    oneOf(['bias', 'full']),
    obj({ layers: arr(obj({ weight: bool, bias: bool }), 1, MAX_CHECKPOINT_LAYERS + 1) }),
  ),
  trainWeight: arr(bool, 1, MAX_CHECKPOINT_LAYERS + 1),
  trainBias: arr(bool, 1, MAX_CHECKPOINT_LAYERS + 1),
  seed,
  weightInit: arr(init, 1, MAX_CHECKPOINT_LAYERS + 1),
  biasInit: arr(init, 1, MAX_CHECKPOINT_LAYERS + 1),
  optimizer,
  relaxation: obj({
    rule: oneOf(CONTRASTIVE_RULES),
    stepSize: num(0, 1, true),
    freeSteps: steps,
    nudgedSteps: steps,
    beta: num(),
    periods: num(0, Infinity, true),
    pi: num(0, 1),
    phases: steps,
    phaseMin: steps,
    phaseMax: steps,
    traceTau: num(0),
    tolerance: num(0),
    clip: num(0),
    persistent: bool,
    stepUpdates: bool,
  }),
});

/** An optimizer state beside a checkpoint (src/train/model_checkpoint.ts): step counts, then the moments by name. */
const OPTIMIZER_STATE_SCHEMA = obj({
  kind: oneOf(['optimizer-state']),
  steps: arr(int(0, Number.MAX_SAFE_INTEGER), 1, MAX_CHECKPOINT_TASKS),
});

/** The model schema of every kind this release loads, by `kind`. */
export const MODEL_SCHEMAS: Readonly<Record<string, Schema>> = {
  mlp: MLP_SCHEMA,
  'multitask-mlp': MULTITASK_SCHEMA,
  rnn: RNN_SCHEMA,
  contrastive: CONTRASTIVE_SCHEMA,
  'optimizer-state': OPTIMIZER_STATE_SCHEMA,
};

/** The header around the model: library, version, the tensor table and free-form metadata. */
export const HEADER_SCHEMA = obj(
  {
    library: oneOf(['biaslearn']),
    libraryVersion: str(64),
    model: { t: 'record' },
    tensors: arr(obj({ name: str(256), length: int(0, 2 ** 31 - 1) }), 0, MAX_TENSORS),
    metadata: record,
  },
  ['metadata'],
);

/** Checks the header and its model against their schemas (throws SchemaError naming the field). */
export function checkHeaderSchema(header: unknown): void {
  checkSchema(HEADER_SCHEMA, header, 'header');
  const model = (header as { model: { kind?: unknown } }).model;
  const kind = model.kind;
  const schema = typeof kind === 'string' && Object.hasOwn(MODEL_SCHEMAS, kind) ? MODEL_SCHEMAS[kind] : undefined;
  if (!schema) checkSchema(oneOf(Object.keys(MODEL_SCHEMAS)), kind, 'header.model.kind');
  else checkSchema(schema, model, 'header.model');
}

/** What a model's declared sizes imply: learned tensor lengths by name, and every value it allocates. */
export interface DeclaredSizes {
  /** Undefined: the kind declares no names (an optimizer state; its model checks the moments). */
  learned: Map<string, number> | undefined;
  /** Frozen and learned values together (float32 elements). */
  values: number;
}

interface MlpLayer {
  in: number;
  out: number;
  trainWeight: boolean;
  trainBias: boolean;
}

function mlpSizes(m: { layers: MlpLayer[] }): DeclaredSizes {
  const learned = new Map<string, number>();
  let values = 0;
  m.layers.forEach((l, i) => {
    if (l.trainWeight) learned.set(`layers.${i}.weight`, l.in * l.out);
    if (l.trainBias) learned.set(`layers.${i}.bias`, l.out);
    values += l.in * l.out + l.out;
  });
  return { learned, values };
}

function multitaskSizes(m: {
  inputSize: number;
  hidden: number[];
  train: string;
  readout: string;
  tasks: { classes: number }[];
}): DeclaredSizes {
  const learned = new Map<string, number>();
  const K = m.tasks.length;
  const mask = m.train === 'mask';
  const full = m.train === 'full';
  const R = m.readout === 'per-task' ? m.tasks.reduce((s, t) => s + t.classes, 0) : m.tasks[0]!.classes;
  let values = 0;
  let fanIn = m.inputSize;
  m.hidden.forEach((H, l) => {
    if (full) learned.set(`layers.${l}.weight`, H * fanIn);
    for (let k = 0; k < K; k++) learned.set(`tasks.${k}.layers.${l}.${mask ? 'gate' : 'bias'}`, H);
    values += H * fanIn + K * H * (mask ? 3 : 1);
    fanIn = H;
  });
  if (full) learned.set('readout.weight', R * fanIn);
  if (!mask)
    m.tasks.forEach((t, k) => {
      learned.set(`tasks.${k}.readout.bias`, t.classes);
    });
  values += R * fanIn + K * R;
  return { learned, values };
}

function rnnSizes(m: {
  inputSize: number;
  hidden: number;
  outputSize: number;
  conditions: number;
  trainable: Record<string, boolean>;
}): DeclaredSizes {
  const { inputSize: I, hidden: H, outputSize: O, conditions: C, trainable: t } = m;
  const all: [string, boolean | undefined, number][] = [
    ['recurrent.weight', t.recurrentWeight, H * H],
    ['input.weight', t.inputWeight && I > 0, H * I],
    ['readout.weight', t.readoutWeight, O * H],
    ['recurrent.bias', t.recurrentBias, H],
    ['readout.bias', t.readoutBias, O],
    ['initial_state', t.initialState, C * H],
    ['feedback.weight', false, H * O],
  ];
  const learned = new Map<string, number>();
  let values = 0;
  for (const [name, train, size] of all) {
    if (train) learned.set(name, size);
    values += size;
  }
  return { learned, values };
}

/** Layer pair l couples sizes[l] and sizes[l + 1] through layers.l.weight; layers.l.bias is layer l + 1's. */
function contrastiveSizes(m: { sizes: number[]; trainWeight: boolean[]; trainBias: boolean[] }): DeclaredSizes {
  const learned = new Map<string, number>();
  let values = 0;
  for (let l = 0; l + 1 < m.sizes.length; l++) {
    const inSize = m.sizes[l]!;
    const out = m.sizes[l + 1]!;
    if (m.trainWeight[l]) learned.set(`layers.${l}.weight`, inSize * out);
    if (m.trainBias[l]) learned.set(`layers.${l}.bias`, out);
    values += inSize * out + out;
  }
  return { learned, values };
}

/** The sizes a schema-checked model declares (kind already checked). */
export function declaredSizes(model: Record<string, unknown> & { kind: string }): DeclaredSizes {
  if (model.kind === 'mlp') return mlpSizes(model as unknown as { layers: MlpLayer[] });
  if (model.kind === 'multitask-mlp') return multitaskSizes(model as unknown as Parameters<typeof multitaskSizes>[0]);
  if (model.kind === 'optimizer-state') return { learned: undefined, values: 0 };
  if (model.kind === 'contrastive') return contrastiveSizes(model as unknown as Parameters<typeof contrastiveSizes>[0]);
  return rnnSizes(model as unknown as Parameters<typeof rnnSizes>[0]);
}

/** Tensor names of release 0.1.0's multi-task checkpoints in this release's terms (tasks.0.bias.1 -> tasks.0.layers.1.bias). */
export function currentTensorName(name: string): string {
  const m = /^(tasks\.\d+\.)?(weight|bias|gate)\.(\d+)$/.exec(name);
  return m ? `${m[1] ?? ''}layers.${m[3]}.${m[2]}` : name;
}

/**
 * Compares the tensor table with what the model declares: the same names (no duplicate, none
 * missing, none extra) and lengths, and no more than `maxValues` values in all. Returns a reason
 * to refuse, or undefined.
 */
export function tensorTableProblem(
  model: Record<string, unknown> & { kind: string },
  tensors: readonly { name: string; length: number }[],
  maxValues: number,
): string | undefined {
  const declared = declaredSizes(model);
  const { learned } = declared;
  const values = learned ? declared.values : tensors.reduce((sum, t) => sum + t.length, 0);
  if (!(values <= maxValues))
    return `the model declares ${values.toExponential(3)} values, over the loading cap of ${maxValues} (pass { maxWeights } to load a larger model you trust)`;
  const seen = new Set<string>();
  for (const t of tensors) {
    const name = currentTensorName(t.name);
    if (seen.has(name)) return `tensor ${t.name} appears twice`;
    seen.add(name);
    if (!learned) continue;
    const want = learned.get(name);
    if (want === undefined) return `tensor ${t.name} is not learned by this model`;
    if (want !== t.length) return `tensor ${t.name} holds ${t.length} values, the model declares ${want}`;
  }
  for (const name of learned?.keys() ?? []) if (!seen.has(name)) return `tensor ${name} is missing`;
  return undefined;
}
