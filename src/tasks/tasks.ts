/**
 * Seeded dynamical-systems tasks for recurrent networks. Each returns train and held-out test
 * sequences ({@link SequenceDataset}) plus what is needed to score them:
 *   - cosine / sine generation: a constant cue, the network produces cos(2 pi t / period);
 *   - Van der Pol: autonomous generation of the limit cycle (x, x'), from a constant cue;
 *   - Lorenz: forecast x(t + tau) from x(t) (teacher-forced: the true signal is the input);
 *     held-out = later time; closed loop feeds the forecast back with delay tau;
 *   - Mackey-Glass: the same forecasting set-up on the delay equation (tau 17);
 *   - centre-out reaching: cue = target direction, output = a 2-D position trajectory that
 *     moves to the target (minimum-jerk profile) and holds still there, with the velocity
 *     penalised during the hold; tested on targets between the trained ones.
 * Target t of a sequence is compared with the network's output after input t.
 */
import { ValidationError } from '../errors.js';
import { SequenceDataset } from '../rnn/sequences.js';
import { Rng } from '../util/rng.js';
import { expectInt, expectNumber, expectOptions } from '../util/validate.js';
import { TASK_REPORTS, type ReportedRnn, type TaskReport, type TaskReportOptions } from './reports.js';
import { integrate, lorenzField, mackeyGlass, vanDerPolField } from './systems.js';

export { reachingErrors } from './reports.js';

export type TaskKind = 'generation' | 'forecast' | 'reaching';

/** Training settings that work for the task (chosen from measurements, docs/rnn.md). */
export interface TaskDefaults {
  hidden: number;
  epochs: number;
  batchSize: number;
  /** Learning rate for bias / readout training. */
  lr: number;
  /** Learning rate for full training. */
  lrFull: number;
  alpha: number;
  recurrentGain: number;
  inputScale: number;
  learnInitialState: boolean;
  clip: number;
}

export interface RnnTask {
  name: string;
  kind: TaskKind;
  description: string;
  inputSize: number;
  outputSize: number;
  outputNames: string[];
  train: SequenceDataset;
  test: SequenceDataset;
  defaults: TaskDefaults;
  /** Forecasting: the horizon (closed-loop feedback delay) and the teacher-forced warm-up of a closed-loop run. */
  forecast?: { tau: number; warmup: number; washout: number };
  /** Reaching: target positions of the train and test sequences, in order. */
  reaching?: { trainTargets: [number, number][]; testTargets: [number, number][]; moveSteps: number };
  /** Generation: a longer free run for extrapolation (same cue). */
  extended?: SequenceDataset;
  /** The constant input [I] at which the dynamics are analysed (fixed point, Jacobian): the cue of generation tasks, else 0. */
  fixedPointInput: number[];
  /** Scores, figures and a summary line of an RNN trained on this task (the report of its kind, {@link TASK_REPORTS}). */
  report(rnn: ReportedRnn, options: TaskReportOptions): Promise<TaskReport>;
}

/** A task from its data and settings, with the report and the analysis input of its kind. */
function finishTask(spec: Omit<RnnTask, 'fixedPointInput' | 'report'>): RnnTask {
  const task: RnnTask = {
    ...spec,
    fixedPointInput: new Array<number>(spec.inputSize).fill(spec.kind === 'generation' ? 1 : 0),
    report: (rnn, options) => TASK_REPORTS[task.kind](task, rnn, options),
  };
  return task;
}

export const TASK_NAMES = ['cosine', 'sine', 'vanderpol', 'lorenz', 'mackey-glass', 'reaching'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

function constantInputs(n: number, T: number, I: number, value = 1): Float32Array {
  return new Float32Array(n * T * I).fill(value);
}

export interface CosineTaskOptions {
  /** Period in steps (default 25). */
  period?: number;
  /** Periods per sequence (default 4). */
  periods?: number;
  /** 'cos' (default) or 'sin'. */
  wave?: 'cos' | 'sin';
  /** Constant cue input of 1 (default true); false: no input at all. */
  cue?: boolean;
  amplitude?: number;
}

/** Cosine (or sine) generation: one sequence of free running from the learned initial state. */
export function cosineTask(o: CosineTaskOptions = {}): RnnTask {
  expectOptions('cosineTask options', o);
  const period = expectNumber('period', o.period ?? 25, 2);
  const periods = expectNumber('periods', o.periods ?? 4, 0, Infinity, { exclusiveMin: true });
  const wave = o.wave ?? 'cos';
  const amp = expectNumber('amplitude', o.amplitude ?? 1, 0, Infinity, { exclusiveMin: true });
  const I = o.cue === false ? 0 : 1;
  const make = (T: number): SequenceDataset => {
    const y = new Float32Array(T);
    for (let t = 0; t < T; t++) {
      const ph = (2 * Math.PI * (t + 1)) / period;
      y[t] = amp * (wave === 'cos' ? Math.cos(ph) : Math.sin(ph));
    }
    return SequenceDataset.create({ inputs: constantInputs(1, T, I), targets: y, steps: T, inputSize: I, outputSize: 1 });
  };
  const T = Math.round(period * periods);
  const train = make(T);
  return finishTask({
    name: wave === 'cos' ? 'cosine' : 'sine',
    kind: 'generation',
    description: `${wave} generation, period ${period} steps, ${periods} periods of free running${I ? ' from a constant cue' : ' without input'}`,
    inputSize: I,
    outputSize: 1,
    outputNames: [wave],
    train,
    test: train,
    extended: make(2 * T),
    defaults: {
      hidden: 200,
      epochs: 1500,
      batchSize: 1,
      lr: 1e-2,
      lrFull: 1e-3,
      alpha: 1,
      recurrentGain: 1.5,
      inputScale: 1,
      learnInitialState: true,
      clip: 0,
    },
  });
}

export interface VanDerPolTaskOptions {
  mu?: number;
  /** Time per step (default 0.1). */
  dt?: number;
  /** Steps per sequence (default 200, about three periods at mu = 1). */
  steps?: number;
}

/** Van der Pol limit cycle generation: outputs (x / 2, x' / 2) from a constant cue. */
export function vanDerPolTask(o: VanDerPolTaskOptions = {}): RnnTask {
  expectOptions('vanDerPolTask options', o);
  const mu = expectNumber('mu', o.mu ?? 1, 0);
  const dt = expectNumber('dt', o.dt ?? 0.1, 0, Infinity, { exclusiveMin: true });
  const T = expectInt('steps', o.steps ?? 200, 1);
  // Start on the limit cycle: integrate a transient from (2, 0) first.
  const warm = integrate(vanDerPolField(mu), [2, 0], dt, Math.round(30 / dt), 10);
  const x0 = warm.subarray(warm.length - 2);
  const make = (steps: number): SequenceDataset => {
    const traj = integrate(vanDerPolField(mu), x0, dt, steps + 1, 10);
    const y = new Float32Array(steps * 2);
    for (let t = 0; t < steps; t++) {
      y[2 * t] = traj[2 * (t + 1)]! / 2;
      y[2 * t + 1] = traj[2 * (t + 1) + 1]! / 2;
    }
    return SequenceDataset.create({ inputs: constantInputs(1, steps, 1), targets: y, steps, inputSize: 1, outputSize: 2 });
  };
  const train = make(T);
  return finishTask({
    name: 'vanderpol',
    kind: 'generation',
    description: `Van der Pol (mu ${mu}) limit cycle generation, dt ${dt}, ${T} steps, outputs (x, x')/2`,
    inputSize: 1,
    outputSize: 2,
    outputNames: ['x/2', "x'/2"],
    train,
    test: train,
    extended: make(2 * T),
    defaults: {
      hidden: 200,
      epochs: 3000,
      batchSize: 1,
      lr: 1e-2,
      lrFull: 3e-4,
      alpha: 0.5,
      recurrentGain: 1.5,
      inputScale: 1,
      learnInitialState: true,
      clip: 0,
    },
  });
}

interface ForecastSeries {
  /** Normalised series. */
  series: Float64Array;
  description: string;
}

function forecastSequences(
  s: Float64Array,
  from: number,
  to: number,
  tau: number,
  length: number,
  stride: number,
  washout: number,
): SequenceDataset {
  const starts: number[] = [];
  for (let a = from; a + length + tau <= to; a += stride) starts.push(a);
  if (starts.length === 0)
    throw new ValidationError(
      'E_CONFIG',
      `expected room for at least one sequence of ${length} steps (+ tau ${tau}) in [${from}, ${to})`,
    );
  const n = starts.length;
  const x = new Float32Array(n * length);
  const y = new Float32Array(n * length);
  const w = new Float32Array(n * length);
  starts.forEach((a, k) => {
    for (let t = 0; t < length; t++) {
      x[k * length + t] = s[a + t]!;
      y[k * length + t] = s[a + t + tau]!;
      w[k * length + t] = t < washout ? 0 : 1;
    }
  });
  return SequenceDataset.create({ inputs: x, targets: y, steps: length, inputSize: 1, outputSize: 1, lossWeights: w });
}

export interface ForecastTaskOptions {
  /** Forecast horizon in steps. */
  tau?: number;
  /** Steps per sequence (default 400). */
  length?: number;
  /** Steps between sequence starts (default length / 2). */
  stride?: number;
  /** Leading steps of each sequence not scored (default 50). */
  washout?: number;
  /** Total samples of the series (default 24000 for Lorenz, 6000 for Mackey-Glass). */
  samples?: number;
  /** Fraction of the series (its end) held out for testing (default 0.3). */
  testFraction?: number;
  /** Seed of the initial condition. */
  seed?: number;
}

function forecastTask(
  name: string,
  fs: ForecastSeries,
  o: ForecastTaskOptions,
  tauDefault: number,
  defaults: TaskDefaults,
): RnnTask {
  const tau = expectInt('tau', o.tau ?? tauDefault, 0);
  const length = expectInt('length', o.length ?? 400, 1);
  const stride = expectInt('stride', o.stride ?? Math.max(1, Math.floor(length / 2)), 1);
  const washout = expectInt('washout', o.washout ?? 50, 0, length - 1);
  const testFraction = expectNumber('testFraction', o.testFraction ?? 0.3, 0, 1, { exclusiveMin: true });
  const N = fs.series.length;
  const split = Math.floor(N * (1 - testFraction));
  return finishTask({
    name,
    kind: 'forecast',
    description: `${fs.description}; forecast ${tau} steps ahead, teacher-forced; sequences of ${length} steps (first ${washout} unscored), test = last ${Math.round(testFraction * 100)}% of time`,
    inputSize: 1,
    outputSize: 1,
    outputNames: [`x(t+${tau})`],
    train: forecastSequences(fs.series, 0, split, tau, length, stride, washout),
    test: forecastSequences(fs.series, split, N, tau, length, length, washout),
    forecast: { tau, warmup: Math.max(washout, tau), washout },
    defaults,
  });
}

function normalise(v: Float64Array): Float64Array {
  let m = 0;
  for (const x of v) m += x;
  m /= v.length;
  let s = 0;
  for (const x of v) s += (x - m) ** 2;
  s = Math.sqrt(s / v.length) || 1;
  return v.map((x) => (x - m) / s);
}

/** Training defaults of the chaotic forecasting tasks (Lorenz, Mackey-Glass). */
const CHAOTIC_FORECAST_DEFAULTS: Readonly<TaskDefaults> = {
  hidden: 512,
  epochs: 30,
  batchSize: 4,
  lr: 1e-2,
  lrFull: 1e-3,
  alpha: 1,
  recurrentGain: 1.5,
  inputScale: 3,
  learnInitialState: false,
  clip: 1,
};

/** Lorenz (10, 28, 8/3), dt 0.01 per step: forecast x (normalised) tau = 27 steps ahead. */
export function lorenzTask(o: ForecastTaskOptions & { dt?: number } = {}): RnnTask {
  expectOptions('lorenzTask options', o);
  const dt = expectNumber('dt', o.dt ?? 0.01, 0, Infinity, { exclusiveMin: true });
  const samples = expectInt('samples', o.samples ?? 24000, 100);
  const rng = new Rng(o.seed ?? 0);
  const x0 = [1 + rng.normal(), 1 + rng.normal(), 20 + rng.normal()];
  const transient = Math.round(20 / dt);
  const traj = integrate(lorenzField(), x0, dt, transient + samples, Math.max(1, Math.round(dt / 0.005)));
  const x = new Float64Array(samples);
  for (let i = 0; i < samples; i++) x[i] = traj[3 * (transient + i)]!;
  return forecastTask(
    'lorenz',
    { series: normalise(x), description: `Lorenz x(t) (sigma 10, rho 28, beta 8/3), dt ${dt}, normalised` },
    o,
    27,
    { ...CHAOTIC_FORECAST_DEFAULTS },
  );
}

/** Mackey-Glass (tau 17), one sample per time unit: forecast x (normalised) 6 steps ahead. */
export function mackeyGlassTask(o: ForecastTaskOptions = {}): RnnTask {
  expectOptions('mackeyGlassTask options', o);
  const samples = expectInt('samples', o.samples ?? 6000, 100);
  const rng = new Rng(o.seed ?? 0);
  const series = mackeyGlass({ samples, dt: 1, x0: 1.2 + 0.1 * rng.uniform() });
  return forecastTask(
    'mackey-glass',
    { series: normalise(series), description: 'Mackey-Glass (tau 17, beta 0.2, gamma 0.1, n 10), dt 1, normalised' },
    o,
    6,
    { ...CHAOTIC_FORECAST_DEFAULTS },
  );
}

export interface ReachingTaskOptions {
  /** Trained targets, evenly spaced (default 8); test targets lie halfway between them. */
  targets?: number;
  radius?: number;
  /** Steps per trial (default 50). */
  steps?: number;
  /** Steps of the movement (default 30); the rest is the hold. */
  moveSteps?: number;
  /** Velocity-penalty weight during the hold (default 1). */
  holdPenalty?: number;
}

/** Centre-out reaching: cue (cos, sin) of the target angle; output the 2-D hand position. */
export function reachingTask(o: ReachingTaskOptions = {}): RnnTask {
  expectOptions('reachingTask options', o);
  const K = expectInt('targets', o.targets ?? 8, 1);
  const radius = expectNumber('radius', o.radius ?? 1, 0, Infinity, { exclusiveMin: true });
  const T = expectInt('steps', o.steps ?? 50, 2);
  const move = expectInt('moveSteps', o.moveSteps ?? 30, 1, T - 1);
  const penalty = expectNumber('holdPenalty', o.holdPenalty ?? 1, 0);
  const make = (angles: number[]): { data: SequenceDataset; targets: [number, number][] } => {
    const n = angles.length;
    const x = new Float32Array(n * T * 2);
    const y = new Float32Array(n * T * 2);
    const v = new Float32Array(n * T);
    const targets: [number, number][] = [];
    angles.forEach((a, k) => {
      const gx = radius * Math.cos(a),
        gy = radius * Math.sin(a);
      targets.push([gx, gy]);
      for (let t = 0; t < T; t++) {
        const s = Math.min(1, (t + 1) / move);
        const prog = 10 * s ** 3 - 15 * s ** 4 + 6 * s ** 5; // minimum jerk
        x[(k * T + t) * 2] = Math.cos(a);
        x[(k * T + t) * 2 + 1] = Math.sin(a);
        y[(k * T + t) * 2] = gx * prog;
        y[(k * T + t) * 2 + 1] = gy * prog;
        v[k * T + t] = t >= move ? penalty : 0;
      }
    });
    return {
      data: SequenceDataset.create({ inputs: x, targets: y, steps: T, inputSize: 2, outputSize: 2, velocityWeights: v }),
      targets,
    };
  };
  const train = make(Array.from({ length: K }, (_, k) => (2 * Math.PI * k) / K));
  const test = make(Array.from({ length: K }, (_, k) => (2 * Math.PI * (k + 0.5)) / K));
  return finishTask({
    name: 'reaching',
    kind: 'reaching',
    description: `centre-out reaching to ${K} targets at radius ${radius}: ${move}-step minimum-jerk movement, hold until step ${T} (velocity penalty ${penalty}); test on the ${K} targets between`,
    inputSize: 2,
    outputSize: 2,
    outputNames: ['x', 'y'],
    train: train.data,
    test: test.data,
    reaching: { trainTargets: train.targets, testTargets: test.targets, moveSteps: move },
    defaults: {
      hidden: 256,
      epochs: 1500,
      batchSize: 8,
      lr: 1e-2,
      lrFull: 1e-3,
      alpha: 0.5,
      recurrentGain: 1.5,
      inputScale: 1,
      learnInitialState: true,
      clip: 0,
    },
  });
}

/** A task by name with its default options. */
export function makeTask(name: TaskName, options: Record<string, unknown> = {}): RnnTask {
  switch (name) {
    case 'cosine':
      return cosineTask({ ...options, wave: 'cos' });
    case 'sine':
      return cosineTask({ ...options, wave: 'sin' });
    case 'vanderpol':
      return vanDerPolTask(options);
    case 'lorenz':
      return lorenzTask(options);
    case 'mackey-glass':
      return mackeyGlassTask(options);
    case 'reaching':
      return reachingTask(options);
    default:
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected one of ${TASK_NAMES.map((t) => `'${t}'`).join(', ')} for task, got ${JSON.stringify(name)}`,
      );
  }
}
