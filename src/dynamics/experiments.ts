/**
 * The studies of Williams, Payeur & Lajoie (2026) on biaslearn's native rules: ODEs against
 * simulation, the rank of the learned change, bias-only RFLO's subspace, the stability map over
 * the optimal manifold, and convergence statistics over seeds. Each returns plain data (metrics
 * JSON); src/dynamics/figures.ts draws them. Decompositions go through LAPACK on a worker.
 */
import { singularValues, solveLinear } from '../analysis/linalg.js';
import { RNN } from '../rnn/rnn.js';
import { Rng } from '../util/rng.js';
import { expectInt, expectNumber } from '../util/validate.js';
import { frobenius, gaussian, matmul, subtract, transpose } from './matrix.js';
import {
  checkRule,
  integrateModeOde,
  integrateModeOdeAt,
  modeDelta,
  modeEigenvalues,
  optimalPoint,
  type DynamicsRule,
  type ModeState,
} from './modes.js';
import { simulateStudent, type SimulateOptions, type SimulationResult } from './simulate.js';
import { alignedFeedback, alignedTeacher, alignedTensors, generalTeacher, type LinearTeacher } from './teacher.js';

/** Progress of a study: units done of total, and what is running. */
export type Progress = (done: number, total: number, what: string) => void;

/** Options every simulation-based study shares. */
export interface StudyOptions {
  lr?: number;
  iterations?: number;
  batch?: number;
  steps?: number;
  wHat?: number;
  seed?: number;
  onProgress?: Progress;
  signal?: AbortSignal;
}

function simOptions(o: StudyOptions): Partial<SimulateOptions> {
  const s: Partial<SimulateOptions> = {};
  if (o.lr !== undefined) s.lr = o.lr;
  if (o.iterations !== undefined) s.iterations = o.iterations;
  if (o.batch !== undefined) s.batch = o.batch;
  if (o.steps !== undefined) s.steps = o.steps;
  if (o.wHat !== undefined) s.wHat = o.wHat;
  if (o.signal !== undefined) s.signal = o.signal;
  return s;
}

// ---------------------------------------------------------------- ODE vs simulation

export interface OdeComparisonOptions extends StudyOptions {
  rule: DynamicsRule;
  /** Modes m (default 3); the network is m x m x m (H = I = O = m), modes on the neurons. */
  modes?: number;
  /** Teacher (a*, b*, w*) per mode (defaults of {@link alignedTeacher}). */
  teacher?: { a?: number[]; b?: number[]; w?: number[] };
  /** Initial (a, b, w) per mode; default a = 0.1 sign(a*), b = 0.1 sign(b*), w = 0 (a b has the sign of a* b*). */
  init?: { a?: number[]; b?: number[]; w?: number[] };
  /** Feedback entries a-hat per mode for rflo / eprop (default sign of the initial a: the stable sign). */
  aHat?: number[];
  /** Fraction of the run treated as the initial transient (default 0.2). */
  transient?: number;
}

export interface ModeComparison {
  mode: number;
  teacher: ModeState;
  /** |a* b*|: the mode's strength (dominant modes first in `modes`). */
  strength: number;
  /** Max |simulation - ODE| over the records after the transient, per coordinate. */
  maxError: ModeState;
  /** The same relative to max(|a* b*|, 1) ... the scale of the coordinates. */
  maxRelError: number;
  finalSimulation: ModeState;
  finalOde: ModeState | null;
}

export interface OdeComparison {
  rule: DynamicsRule;
  lr: number;
  iterations: number;
  transientIterations: number;
  /** Times lr * k of the records. */
  t: number[];
  simulation: { a: number[]; b: number[]; w: number[] }[];
  ode: ({ a: number[]; b: number[]; w: number[] } | null)[];
  modes: ModeComparison[];
  loss: number[];
  simulationSeconds: number;
}

/** A data-aligned student trained by `rule`, against the per-mode ODEs from the same start. */
export async function compareOdeToSimulation(o: OdeComparisonOptions): Promise<OdeComparison> {
  const rule = checkRule(o.rule);
  const m = expectInt('modes', o.modes ?? 3, 1, 64);
  const teacher = alignedTeacher({ hidden: m, inputSize: m, outputSize: m, modes: m, seed: o.seed ?? 0, ...o.teacher });
  const basis = teacher.modes!;
  const x0 = {
    a: Float64Array.from({ length: m }, (_, i) => o.init?.a?.[i] ?? 0.1 * Math.sign(basis.a[i]!)),
    b: Float64Array.from({ length: m }, (_, i) => o.init?.b?.[i] ?? 0.1 * Math.sign(basis.b[i]!)),
    w: Float64Array.from({ length: m }, (_, i) => o.init?.w?.[i] ?? 0),
  };
  const aHat = Float64Array.from({ length: m }, (_, i) => o.aHat?.[i] ?? (x0.a[i]! < 0 ? -1 : 1));
  const init = alignedTensors(basis, x0, m, m, m);
  const sim = await simulateStudent({
    teacher,
    rule,
    batch: 256,
    ...simOptions(o),
    init,
    feedback: alignedFeedback(basis, aHat, m, m),
    seed: o.seed ?? 0,
    onProgress: (d, n) => o.onProgress?.(d, n, `${rule} simulation`),
  });
  const t = sim.k.map((k) => k * sim.lr);
  const transient = expectNumber('transient', o.transient ?? 0.2, 0, 1);
  const kTransient = Math.floor(transient * sim.iterations);
  const ode: ({ a: number[]; b: number[]; w: number[] } | null)[] = t.map(() => ({ a: [], b: [], w: [] }));
  const modes: ModeComparison[] = [];
  const wHat = o.wHat ?? 0.5;
  for (let i = 0; i < m; i++) {
    const tm: ModeState = { a: basis.a[i]!, b: basis.b[i]!, w: basis.w[i]! };
    const path = integrateModeOdeAt(rule, { a: x0.a[i]!, b: x0.b[i]!, w: x0.w[i]! }, tm, t, { aHat: aHat[i]!, wHat });
    const err = { a: 0, b: 0, w: 0 };
    path.forEach((p, r) => {
      const row = ode[r];
      if (p === null || row === null || row === undefined) {
        ode[r] = null;
        return;
      }
      row.a.push(p.a);
      row.b.push(p.b);
      row.w.push(p.w);
      if (sim.k[r]! < kTransient) return;
      const s = sim.modes![r]!;
      err.a = Math.max(err.a, Math.abs(s.a[i]! - p.a));
      err.b = Math.max(err.b, Math.abs(s.b[i]! - p.b));
      err.w = Math.max(err.w, Math.abs(s.w[i]! - p.w));
    });
    const last = sim.modes![sim.modes!.length - 1]!;
    const scale = Math.max(Math.sqrt(Math.abs(tm.a * tm.b)), 1);
    modes.push({
      mode: i,
      teacher: tm,
      strength: Math.abs(tm.a * tm.b),
      maxError: err,
      maxRelError: Math.max(err.a, err.b, err.w) / scale,
      finalSimulation: { a: last.a[i]!, b: last.b[i]!, w: last.w[i]! },
      finalOde: path[path.length - 1] ?? null,
    });
  }
  modes.sort((x, y) => y.strength - x.strength);
  return {
    rule,
    lr: sim.lr,
    iterations: sim.iterations,
    transientIterations: kTransient,
    t,
    simulation: sim.modes!,
    ode,
    modes,
    loss: sim.loss,
    simulationSeconds: sim.seconds,
  };
}

// ---------------------------------------------------------------- span and rank

/** ||M - F (F^T F)^-1 F^T M|| / ||M||: the fraction of M [H, K] outside the column span of F [H, O] (LAPACK solve). */
export async function fractionOutsideSpan(F: Float64Array, H: number, O: number, M: Float64Array, K: number): Promise<number> {
  const norm = frobenius(M);
  if (norm === 0) return 0;
  const Ft = transpose(F, H, O);
  const X = await solveLinear(matmul(Ft, F, O, H, O), O, matmul(Ft, M, O, H, K), K);
  return frobenius(subtract(M, matmul(F, X, H, O, K))) / norm;
}

export interface RankResult {
  rule: DynamicsRule;
  /** Singular values of W_K - W_0 and B_K - B_0 divided by the first. */
  svW: number[];
  svB: number[];
  /** Number of singular values above tol x the first. */
  rankW: number;
  rankB: number;
  /** Fraction of W_K - W_0 (B_K - B_0) outside span(F) for rflo / eprop. */
  outsideSpanW?: number;
  outsideSpanB?: number;
  initialLoss: number;
  finalLoss: number;
  seconds: number;
}

export interface RankOptions extends StudyOptions {
  rules?: DynamicsRule[];
  hidden?: number;
  inputSize?: number;
  outputSize?: number;
  /** Relative threshold of the numerical rank (default 1e-6). */
  tol?: number;
}

export interface RankStudy {
  hidden: number;
  inputSize: number;
  outputSize: number;
  tol: number;
  results: RankResult[];
}

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
const tail = (v: number[], f = 0.05): number[] => v.slice(Math.max(0, v.length - Math.max(1, Math.round(f * v.length))));

/** Singular-value spectra of W_K - W_0 for each rule on one general teacher, from one initial student. */
export async function rankSpectra(o: RankOptions = {}): Promise<RankStudy> {
  const H = expectInt('hidden', o.hidden ?? 32, 1);
  const I = expectInt('inputSize', o.inputSize ?? 3, 1);
  const O = expectInt('outputSize', o.outputSize ?? 1, 1);
  const tol = expectNumber('tol', o.tol ?? 1e-6, 0);
  const seed = o.seed ?? 0;
  const teacher = generalTeacher({ hidden: H, inputSize: I, outputSize: O, seed });
  const rules = (o.rules ?? ['bptt', 'eprop', 'tbptt', 'rflo']).map(checkRule);
  const results: RankResult[] = [];
  for (const [n, rule] of rules.entries()) {
    const sim = await simulateStudent({
      teacher,
      rule,
      steps: 15,
      ...simOptions(o),
      seed,
      onProgress: (d, k) => o.onProgress?.(n * k + d, rules.length * k, rule),
    });
    const dW = subtract(sim.final.W, sim.initial.W);
    const dB = subtract(sim.final.B, sim.initial.B);
    const sW = Array.from(await singularValues(dW, H, H));
    const sB = Array.from(await singularValues(dB, H, I));
    const rel = (s: number[]): number[] => s.map((v) => (s[0]! > 0 ? v / s[0]! : 0));
    const r: RankResult = {
      rule,
      svW: rel(sW),
      svB: rel(sB),
      rankW: rel(sW).filter((v) => v > tol).length,
      rankB: rel(sB).filter((v) => v > tol).length,
      initialLoss: sim.loss[0]!,
      finalLoss: mean(tail(sim.loss)),
      seconds: sim.seconds,
    };
    if (sim.feedback) {
      r.outsideSpanW = await fractionOutsideSpan(sim.feedback, H, O, dW, H);
      r.outsideSpanB = await fractionOutsideSpan(sim.feedback, H, O, dB, I);
    }
    results.push(r);
  }
  return { hidden: H, inputSize: I, outputSize: O, tol, results };
}

// ---------------------------------------------------------------- bias-only RFLO

export interface BiasOnlyOptions extends StudyOptions {
  /** rflo / eprop feedback: 'random' (default) or 'symmetric' (A^T). */
  feedback?: 'random' | 'symmetric';
  hidden?: number;
  inputSize?: number;
  outputSize?: number;
  rule?: DynamicsRule;
}

export interface BiasOnlyResult {
  rule: DynamicsRule;
  /** ||(b_K - b_0) outside span(F)|| / ||b_K - b_0|| (rflo / eprop: the feedback F). */
  outsideSpan: number;
  /** ... outside span(A^T), for comparison with the gradient rules. */
  outsideReadoutSpan: number;
  biasChange: number;
  initialLoss: number;
  finalLoss: number;
  k: number[];
  loss: number[];
}

/** The student's frozen W, B, A (a bias-only student of this seed) as a teacher with its own random bias b*. */
async function biasTeacher(H: number, I: number, O: number, seed: number, frozenGain: number): Promise<LinearTeacher> {
  const rnn = await RNN.create({
    inputSize: I,
    hidden: H,
    outputSize: O,
    activation: 'identity',
    alpha: 1,
    recurrentGain: frozenGain,
    train: 'bias',
    seed,
  });
  try {
    const get = async (n: string): Promise<Float64Array> => Float64Array.from(await rnn.tensor(n));
    return {
      hidden: H,
      inputSize: I,
      outputSize: O,
      W: await get('recurrent.weight'),
      B: await get('input.weight'),
      A: await get('readout.weight'),
      b: gaussian(H, 1, new Rng(seed + 77)),
      seed,
    };
  } finally {
    rnn.dispose();
  }
}

/** A linear RNN where only b learns (W, B, A frozen random) towards a teacher that differs by its bias. */
export async function biasOnlySubspace(o: BiasOnlyOptions = {}): Promise<BiasOnlyResult> {
  const H = expectInt('hidden', o.hidden ?? 32, 1);
  const I = expectInt('inputSize', o.inputSize ?? 3, 1);
  const O = expectInt('outputSize', o.outputSize ?? 2, 1);
  const rule = checkRule(o.rule ?? 'rflo');
  const seed = o.seed ?? 0;
  const teacher = await biasTeacher(H, I, O, seed, 0.5);
  const sim = await simulateStudent({
    teacher,
    rule,
    steps: 20,
    loss: 'sequence',
    ...simOptions(o),
    train: { W: false, B: false, A: false, b: true },
    feedback: o.feedback ?? 'random',
    frozenGain: 0.5,
    seed,
    onProgress: (d, n) => o.onProgress?.(d, n, `${rule} bias-only`),
  });
  const db = subtract(sim.final.b, sim.initial.b);
  const F = sim.feedback ?? transpose(teacher.A, O, H);
  return {
    rule,
    outsideSpan: await fractionOutsideSpan(F, H, O, db, 1),
    outsideReadoutSpan: await fractionOutsideSpan(transpose(teacher.A, O, H), H, O, db, 1),
    biasChange: frobenius(db),
    initialLoss: sim.loss[0]!,
    finalLoss: mean(tail(sim.loss)),
    k: sim.k,
    loss: sim.loss,
  };
}

// ---------------------------------------------------------------- stability over the optimal manifold

export interface StabilityOptions extends StudyOptions {
  /** Teacher mode (default a* = b* = 1, w* = 0.5). */
  teacher?: ModeState;
  /** Readout values s of the manifold points (a = s, b = a* b* / s, w = w*); default 61 points in [-3, 3] without 0. */
  s?: number[];
  rules?: DynamicsRule[];
  /** Perturbation of the runs that test leaving (default 1e-3). */
  perturbation?: number;
  /** ODE time of the leaving runs (default 20). */
  tEnd?: number;
}

export interface StabilityRow {
  rule: DynamicsRule;
  aHat: number;
  s: number;
  re: number[];
  maxRe: number;
  stable: boolean;
}

export interface LeaveRun {
  rule: DynamicsRule;
  aHat: number;
  source: 'ode' | 'simulation';
  /** Distance from the optimal point it started next to, over time. */
  t: number[];
  distance: number[];
  finalDistance: number;
  /** Whether it ended on the optimal manifold (|a b - a* b*| and |w - w*| below 1e-2). */
  endsOptimal: boolean;
}

export interface StabilityStudy {
  teacher: ModeState;
  wHat: number;
  rows: StabilityRow[];
  /** |Delta| at a = b = 0 (w = w* / 2): zero where a = b = 0 is a manifold of fixed points. */
  nonOptimal: { rule: DynamicsRule; residual: number }[];
  leave: LeaveRun[];
}

/** Jacobian eigenvalues along the optimal manifold for each rule and feedback sign, and runs started next to s = 1. */
export async function stabilityMap(o: StabilityOptions = {}): Promise<StabilityStudy> {
  const tm = o.teacher ?? { a: 1, b: 1, w: 0.5 };
  const wHat = expectNumber('wHat', o.wHat ?? 0.5);
  const sGrid = o.s ?? Array.from({ length: 61 }, (_, i) => -3 + i * 0.1).filter((v) => Math.abs(v) > 1e-9);
  const rules = (o.rules ?? ['bptt', 'tbptt', 'rflo', 'eprop']).map(checkRule);
  const rows: StabilityRow[] = [];
  for (const rule of rules)
    for (const aHat of rule === 'rflo' || rule === 'eprop' ? [1, -1] : [1])
      for (const s of sGrid) {
        const e = await modeEigenvalues(rule, optimalPoint(s, tm), tm, { aHat, wHat });
        rows.push({ rule, aHat, s, re: e.re, maxRe: e.maxRe, stable: e.stable });
      }
  const nonOptimal = rules.map((rule) => {
    const d = modeDelta(rule, { a: 0, b: 0, w: tm.w / 2 }, tm, { aHat: 1, wHat });
    return { rule, residual: Math.hypot(d.a, d.b, d.w) };
  });
  const eps = expectNumber('perturbation', o.perturbation ?? 1e-3, 0);
  const start = optimalPoint(1, tm);
  const x0 = { a: start.a + eps, b: start.b - eps, w: start.w + eps };
  const tEnd = expectNumber('tEnd', o.tEnd ?? 20, 0);
  const endsOptimal = (x: ModeState): boolean => Math.abs(x.a * x.b - tm.a * tm.b) < 1e-2 && Math.abs(x.w - tm.w) < 1e-2;
  const dist = (x: ModeState): number => Math.hypot(x.a - start.a, x.b - start.b, x.w - start.w);
  const leave: LeaveRun[] = [];
  for (const aHat of [1, -1]) {
    const tr = integrateModeOde('rflo', x0, tm, { aHat, wHat, tEnd, dt: 1e-3 });
    const last = tr.states[tr.states.length - 1]!;
    const d = tr.states.map(dist);
    leave.push({
      rule: 'rflo',
      aHat,
      source: 'ode',
      t: tr.t,
      distance: d,
      finalDistance: d[d.length - 1]!,
      endsOptimal: endsOptimal(last),
    });
  }
  // The same with a one-mode data-aligned network trained by the native RFLO.
  const teacher = alignedTeacher({ hidden: 1, inputSize: 1, outputSize: 1, a: [tm.a], b: [tm.b], w: [tm.w], seed: o.seed ?? 0 });
  const basis = teacher.modes!;
  for (const aHat of [1, -1]) {
    const lr = o.lr ?? 0.01;
    const sim: SimulationResult = await simulateStudent({
      teacher,
      rule: 'rflo',
      batch: 256,
      steps: 30,
      lr,
      iterations: o.iterations ?? Math.round(tEnd / lr),
      wHat,
      init: alignedTensors(basis, { a: [x0.a], b: [x0.b], w: [x0.w] }, 1, 1, 1),
      feedback: alignedFeedback(basis, [aHat], 1, 1),
      seed: o.seed ?? 0,
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (d, n) => o.onProgress?.(d, n, `rflo a-hat ${aHat}`),
    });
    const states = sim.modes!.map((c) => ({ a: c.a[0]!, b: c.b[0]!, w: c.w[0]! }));
    const d = states.map(dist);
    leave.push({
      rule: 'rflo',
      aHat,
      source: 'simulation',
      t: sim.k.map((k) => k * lr),
      distance: d,
      finalDistance: d[d.length - 1]!,
      endsOptimal: endsOptimal(states[states.length - 1]!),
    });
  }
  return { teacher: tm, wHat, rows, nonOptimal, leave };
}

// ---------------------------------------------------------------- convergence over seeds

export interface ConvergenceOptions extends StudyOptions {
  rules?: DynamicsRule[];
  seeds?: number;
  hidden?: number;
  inputSize?: number;
  outputSize?: number;
  modes?: number;
  /** A run converged when its final loss / the teacher's loss scale is below this (default 1e-2). */
  threshold?: number;
  /** Simulations run at once (default 2). */
  concurrency?: number;
}

export interface ConvergenceRun {
  rule: DynamicsRule;
  seed: number;
  /** Mean of the last 5 % of the recorded losses over 1/2 E|y*_T|^2. */
  finalRelativeLoss: number;
  converged: boolean;
  diverged: boolean;
  seconds: number;
}

export interface ConvergenceStudy {
  criterion: string;
  sizes: { hidden: number; inputSize: number; outputSize: number; modes: number; steps: number; batch: number };
  lr: number;
  iterations: number;
  runs: ConvergenceRun[];
  summary: { rule: DynamicsRule; converged: number; runs: number; medianRelativeLoss: number }[];
  seconds: number;
}

/**
 * Each rule from `seeds` random starts: a mode-aligned teacher (random hidden basis, so the
 * student is not data-aligned), a small random student and a random feedback matrix per seed.
 */
export async function convergenceStudy(o: ConvergenceOptions = {}): Promise<ConvergenceStudy> {
  const t0 = performance.now();
  const rules = (o.rules ?? ['bptt', 'tbptt', 'rflo', 'eprop']).map(checkRule);
  const seeds = expectInt('seeds', o.seeds ?? 20, 1);
  const H = expectInt('hidden', o.hidden ?? 16, 1);
  const I = expectInt('inputSize', o.inputSize ?? 4, 1);
  const O = expectInt('outputSize', o.outputSize ?? 4, 1);
  const m = expectInt('modes', o.modes ?? 4, 1, Math.min(H, I, O));
  const threshold = expectNumber('threshold', o.threshold ?? 1e-2, 0);
  const concurrency = expectInt('concurrency', o.concurrency ?? 2, 1, 64);
  const steps = o.steps ?? 20;
  const batch = o.batch ?? 64;
  const lr = o.lr ?? 0.02;
  const iterations = o.iterations ?? 4000;
  const jobs = rules.flatMap((rule) => Array.from({ length: seeds }, (_, s) => ({ rule, seed: (o.seed ?? 0) + s })));
  const runs: ConvergenceRun[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = next++;
      const { rule, seed } = jobs[j]!;
      const teacher = alignedTeacher({ hidden: H, inputSize: I, outputSize: O, modes: m, hiddenBasis: 'random', seed });
      const sim = await simulateStudent({ teacher, rule, ...simOptions(o), steps, batch, lr, iterations, seed });
      const rel = mean(tail(sim.loss)) / sim.teacherLoss;
      runs[j] = {
        rule,
        seed,
        finalRelativeLoss: sim.diverged ? Number.POSITIVE_INFINITY : rel,
        converged: !sim.diverged && rel < threshold,
        diverged: sim.diverged,
        seconds: sim.seconds,
      };
      o.onProgress?.(++done, jobs.length, `${rule} seed ${seed}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  const summary = rules.map((rule) => {
    const mine = runs.filter((r) => r.rule === rule);
    const sorted = mine.map((r) => r.finalRelativeLoss).sort((a, b) => a - b);
    return {
      rule,
      converged: mine.filter((r) => r.converged).length,
      runs: mine.length,
      medianRelativeLoss: sorted[Math.floor(sorted.length / 2)]!,
    };
  });
  return {
    criterion: `final loss (mean of the last 5 % of the recorded batch losses) below ${threshold} x 1/2 E|y*_T|^2 (the zero student's loss)`,
    sizes: { hidden: H, inputSize: I, outputSize: O, modes: m, steps, batch },
    lr,
    iterations,
    runs,
    summary,
    seconds: (performance.now() - t0) / 1000,
  };
}
