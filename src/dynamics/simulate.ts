/**
 * Teacher-student training of a linear biaslearn RNN (identity activation, alpha = 1, so
 * r[t+1] = W r[t] + B x[t] + b, y[t+1] = A r[t+1], r[0] = 0) on a linear teacher driven by white
 * noise x[t] ~ N(0, I).
 *
 * Every step: one native call computes the rule's gradient (estimate) on a batch (off the JS
 * thread: src/rnn RNN.gradients with the rule's run options), the step theta <- theta - lr Delta
 * is applied to float64 master copies (so that low-rank and subspace claims are checked without
 * float32 rounding of the weights accumulating over thousands of steps), and the float32 copy is
 * sent back. The loss is the paper's: 1/2 |y_T - y*_T|^2 (final step) or (1/2T) sum_t |y_t - y*_t|^2
 * (whole sequence); the native loss is (2/O) times it, so Delta = (O/2) x the native gradient.
 */
import { ValidationError } from '../errors.js';
import { RNN } from '../rnn/rnn.js';
import { SequenceDataset } from '../rnn/sequences.js';
import type { RuleSpec } from '../rnn/config.js';
import { Rng } from '../util/rng.js';
import { expectInt, expectNumber, expectOneOf } from '../util/validate.js';
import { gaussian } from './matrix.js';
import { checkRule, type DynamicsRule } from './modes.js';
import { modeCoordinates, type LinearTeacher } from './teacher.js';

/** Student tensors, float64, row-major: W [H, H], B [H, I], A [O, H], b [H]. */
export interface StudentParams {
  W: Float64Array;
  B: Float64Array;
  A: Float64Array;
  b: Float64Array;
}

/** Which student tensors learn (default W, B, A; not b). */
export interface StudentTrainable {
  W?: boolean;
  B?: boolean;
  A?: boolean;
  b?: boolean;
}

export interface SimulateOptions {
  teacher: LinearTeacher;
  rule: DynamicsRule;
  /** Sequence length T (default 30). */
  steps?: number;
  /** 'final' (default): loss on the last step; 'sequence': on every step. */
  loss?: 'final' | 'sequence';
  /** Learning rate (default 0.02). */
  lr?: number;
  /** Updates K (default 2000). */
  iterations?: number;
  /** Sequences per update (default 64). */
  batch?: number;
  /** Pre-drawn batches of white noise the updates sample from (default 32). */
  pool?: number;
  train?: StudentTrainable;
  /**
   * Initial student: explicit tensors (missing ones: zeros for b, else small), or 'small'
   * (default): every trainable tensor N(0, initScale^2). Frozen tensors are the model's
   * seeded random ones (src/rnn: W ~ N(0, g^2/H) with g = frozenGain, B, A uniform fan-in).
   */
  init?: 'small' | Partial<StudentParams>;
  /** Default 0.05. */
  initScale?: number;
  /** g of a frozen W (default 0.5). */
  frozenGain?: number;
  /**
   * rflo / eprop feedback F [H, O] (the paper's R^T): 'random' (default: N(0, 1/H), drawn from
   * the seed), 'symmetric' (A^T at every step) or an explicit matrix (e.g. the aligned one).
   */
  feedback?: 'random' | 'symmetric' | Float64Array;
  /** rflo's trace leak w-hat (default 0.5). */
  wHat?: number;
  seed?: number;
  /** Loss recorded every this many updates (default max(1, K / 200)). */
  recordEvery?: number;
  /** Called about every 1 % of the updates with (updates done, K). */
  onProgress?: (done: number, total: number) => void;
  /** Stops the run between updates (the result then has `stopped: true`). */
  signal?: AbortSignal;
}

export interface SimulationResult {
  rule: DynamicsRule;
  lr: number;
  iterations: number;
  steps: number;
  batch: number;
  /** Update counts of the records and the batch loss there (the paper's loss). */
  k: number[];
  loss: number[];
  /** 1/2 E|y*_T|^2 estimated on the pool (final-step loss of the zero student): the scale of `loss`. */
  teacherLoss: number;
  initial: StudentParams;
  final: StudentParams;
  /** The feedback used (rflo, eprop; absent for 'symmetric' and the gradient rules). */
  feedback?: Float64Array;
  /** Mode coordinates (a, b, w per mode) at every record, for a data-aligned teacher. */
  modes?: { a: number[]; b: number[]; w: number[] }[];
  /** True when the loss went non-finite (the run stops there). */
  diverged: boolean;
  /** True when `signal` stopped the run early. */
  stopped?: boolean;
  seconds: number;
}

const NAMES = { W: 'recurrent.weight', B: 'input.weight', A: 'readout.weight', b: 'recurrent.bias' } as const;
type Key = keyof typeof NAMES;
const KEYS: Key[] = ['W', 'B', 'A', 'b'];

/** The linear teacher as a frozen-free biaslearn RNN, to compute targets natively. */
async function teacherModel(t: LinearTeacher): Promise<RNN> {
  const rnn = await RNN.create({
    inputSize: t.inputSize,
    hidden: t.hidden,
    outputSize: t.outputSize,
    activation: 'identity',
    alpha: 1,
    train: { recurrentWeight: true, inputWeight: true, readoutWeight: true, recurrentBias: true },
    seed: 0,
  });
  await rnn.setLearned({
    [NAMES.W]: Float32Array.from(t.W),
    [NAMES.B]: Float32Array.from(t.B),
    [NAMES.A]: Float32Array.from(t.A),
    [NAMES.b]: Float32Array.from(t.b),
  });
  return rnn;
}

/**
 * `count` batches of `batch` white-noise sequences with the teacher's outputs as targets; loss
 * weights on the final step or on all steps. Returns them and 1/2 E|y*_T|^2 on them.
 */
export async function teacherBatches(
  t: LinearTeacher,
  o: { steps: number; batch: number; count: number; loss: 'final' | 'sequence'; seed: number },
): Promise<{ batches: SequenceDataset[]; teacherLoss: number }> {
  const teacher = await teacherModel(t);
  const rng = new Rng(o.seed);
  const { steps: T, batch: n } = o;
  const I = t.inputSize;
  const O = t.outputSize;
  const weights = new Float32Array(n * T);
  for (let s = 0; s < n; s++) for (let k = 0; k < T; k++) weights[s * T + k] = o.loss === 'sequence' || k === T - 1 ? 1 : 0;
  const batches: SequenceDataset[] = [];
  let power = 0;
  try {
    for (let c = 0; c < o.count; c++) {
      const inputs = new Float32Array(n * T * I);
      for (let i = 0; i < inputs.length; i++) inputs[i] = rng.normal();
      const probe = SequenceDataset.create({
        inputs,
        targets: new Float32Array(n * T * O),
        steps: T,
        inputSize: I,
        outputSize: O,
      });
      const { outputs } = await teacher.predict(probe);
      for (let s = 0; s < n; s++) for (let j = 0; j < O; j++) power += outputs[(s * T + T - 1) * O + j]! ** 2;
      batches.push(
        SequenceDataset.create({ inputs, targets: outputs, steps: T, inputSize: I, outputSize: O, lossWeights: weights }),
      );
    }
  } finally {
    teacher.dispose();
  }
  return { batches, teacherLoss: (0.5 * power) / (o.count * n) };
}

function ruleSpec(rule: DynamicsRule, symmetric: boolean, wHat: number): RuleSpec {
  const feedback = symmetric ? 'symmetric' : 'random';
  if (rule === 'bptt') return { kind: 'bptt' };
  if (rule === 'tbptt') return { kind: 'tbptt', window: 1 };
  if (rule === 'rflo') return { kind: 'rflo', online: false, feedback, traceDecay: wHat };
  return { kind: 'eprop', online: false, feedback };
}

/** Trains a student on `o.teacher` with `o.rule` (see {@link SimulateOptions}). */
export async function simulateStudent(o: SimulateOptions): Promise<SimulationResult> {
  const t0 = performance.now();
  const t = o.teacher;
  const rule = checkRule(o.rule);
  const H = t.hidden;
  const I = t.inputSize;
  const O = t.outputSize;
  const T = expectInt('steps', o.steps ?? 30, 1);
  const lr = expectNumber('lr', o.lr ?? 0.02, 0);
  const K = expectInt('iterations', o.iterations ?? 2000, 0);
  const batch = expectInt('batch', o.batch ?? 64, 1);
  const pool = expectInt('pool', o.pool ?? 32, 1);
  const lossKind = expectOneOf('loss', o.loss ?? 'final', ['final', 'sequence'] as const);
  const seed = expectInt('seed', o.seed ?? 0, 0);
  const wHat = expectNumber('wHat', o.wHat ?? 0.5);
  const every = expectInt('recordEvery', o.recordEvery ?? Math.max(1, Math.floor(K / 200)), 1);
  const train: Required<StudentTrainable> = { W: true, B: true, A: true, b: false, ...o.train };
  if (!KEYS.some((k) => train[k])) throw new ValidationError('E_CONFIG', 'nothing to train: every student tensor is frozen');
  const rng = new Rng(seed + 0x5eed);

  const student = await RNN.create({
    inputSize: I,
    hidden: H,
    outputSize: O,
    activation: 'identity',
    alpha: 1,
    recurrentGain: expectNumber('frozenGain', o.frozenGain ?? 0.5, 0),
    train: { recurrentWeight: train.W, inputWeight: train.B, readoutWeight: train.A, recurrentBias: train.b },
    seed,
  });
  try {
    const sizes: Record<Key, number> = { W: H * H, B: H * I, A: O * H, b: H };
    const scale = expectNumber('initScale', o.initScale ?? 0.05, 0);
    const given = o.init === undefined || o.init === 'small' ? {} : o.init;
    const master = {} as StudentParams;
    for (const k of KEYS) {
      const g = given[k];
      if (g !== undefined) {
        if (g.length !== sizes[k])
          throw new ValidationError('E_SHAPE', `expected ${sizes[k]} values for init.${k}, got ${g.length}`);
        master[k] = Float64Array.from(g);
      } else if (train[k]) master[k] = k === 'b' ? new Float64Array(H) : gaussian(sizes[k], scale, rng);
      else master[k] = Float64Array.from(await student.tensor(NAMES[k]));
    }
    const push = async (): Promise<void> => {
      const v: Record<string, Float32Array> = {};
      for (const k of KEYS) if (train[k]) v[NAMES[k]] = Float32Array.from(master[k]);
      await student.setLearned(v);
    };
    // Frozen tensors given explicitly cannot be set on the model (they are its seeded ones).
    for (const k of KEYS)
      if (!train[k] && given[k] !== undefined)
        throw new ValidationError(
          'E_CONFIG',
          `init.${k} is given but ${k} is frozen (frozen tensors are the model's seeded ones)`,
        );
    await push();
    const initial: StudentParams = { W: master.W.slice(), B: master.B.slice(), A: master.A.slice(), b: master.b.slice() };

    let feedback: Float64Array | undefined;
    const local = rule === 'rflo' || rule === 'eprop';
    const fb = o.feedback ?? 'random';
    if (local && fb !== 'symmetric') {
      feedback = fb === 'random' ? gaussian(H * O, 1 / Math.sqrt(H), rng) : Float64Array.from(fb);
      if (feedback.length !== H * O)
        throw new ValidationError('E_SHAPE', `expected ${H * O} values [hidden, outputs] for feedback, got ${feedback.length}`);
    }
    const feedbackMatrix = feedback ? Float32Array.from(feedback) : undefined;
    const spec = ruleSpec(rule, fb === 'symmetric', wHat);

    const { batches, teacherLoss } = await teacherBatches(t, { steps: T, batch, count: pool, loss: lossKind, seed: seed + 1 });
    const scaleGrad = O / 2;
    const out: SimulationResult = {
      rule,
      lr,
      iterations: K,
      steps: T,
      batch,
      k: [],
      loss: [],
      teacherLoss,
      initial,
      final: initial,
      diverged: false,
      seconds: 0,
    };
    if (feedback) out.feedback = feedback;
    const modes = t.modes;
    if (modes) out.modes = [];
    const recordModes = (): void => {
      if (!modes || !out.modes) return;
      const c = modeCoordinates(modes, master, H, I, O);
      out.modes.push({ a: [...c.a], b: [...c.b], w: [...c.w] });
    };
    const progressEvery = Math.max(1, Math.floor(K / 100));
    for (let k = 0; k < K; k++) {
      if (o.signal?.aborted) {
        out.stopped = true;
        break;
      }
      const data = batches[rng.int(pool)]!;
      const g = await student.gradients(data, feedbackMatrix ? { rule: spec, feedbackMatrix } : { rule: spec });
      const loss = g.loss * scaleGrad;
      if (!Number.isFinite(loss)) {
        out.diverged = true;
        break;
      }
      if (k % every === 0) {
        out.k.push(k);
        out.loss.push(loss);
        recordModes();
      }
      for (const key of KEYS) {
        if (!train[key]) continue;
        const grad = g.grads[NAMES[key]]!;
        const m = master[key];
        for (let i = 0; i < m.length; i++) m[i]! -= lr * scaleGrad * grad[i]!;
      }
      if (!KEYS.every((key) => master[key].every(Number.isFinite))) {
        out.diverged = true;
        break;
      }
      await push();
      if (o.onProgress && (k + 1) % progressEvery === 0) o.onProgress(k + 1, K);
    }
    if (!out.diverged && !out.stopped) {
      const last = await student.gradients(batches[0]!, feedbackMatrix ? { rule: spec, feedbackMatrix } : { rule: spec });
      out.k.push(K);
      out.loss.push(last.loss * scaleGrad);
      recordModes();
    }
    out.final = master;
    out.seconds = (performance.now() - t0) / 1000;
    return out;
  } finally {
    student.dispose();
  }
}
