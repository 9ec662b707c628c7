/**
 * What a trained RNN achieved on a task, by task kind: the evaluation recorded in metrics.json,
 * the trajectory figure and a one-line summary.
 *   - generation: free-running NMSE over the trained window (and over the longer extrapolation);
 *   - forecast: teacher-forced and closed-loop scores (whole sequence after the warm-up, and its
 *     first tau steps, where feedback still comes from forecasts of true inputs);
 *   - reaching: final-position errors and hold speed on the trained and the unseen targets.
 */
import { expectArrayLike, describe, expectInt } from '../util/validate.js';
import { ValidationError } from '../errors.js';
import type { VegaLiteSpec } from '../plot/render.js';
import { reachPlot, trajectoryPlot } from '../rnn/plots.js';
import type { RNN } from '../rnn/rnn.js';
import type { RnnTask, TaskKind } from './tasks.js';

/** The part of an RNN a report uses. */
export type ReportedRnn = Pick<RNN, 'evaluate' | 'predict'>;

export interface TaskReportOptions {
  /** Figure title, e.g. "cosine: bias learning, m = 200, bptt". */
  title: string;
}

/** A figure: a Vega-Lite spec and the file it is meant for. */
export interface TaskFigure {
  file: string;
  spec: VegaLiteSpec;
}

export interface TaskReport {
  /** Scores by set (e.g. test, train, closedLoop): each an RNN evaluate result plus task-specific values. */
  evaluation: Record<string, unknown>;
  /** trajectories.svg: targets against the network's trajectories (reach paths for reaching). */
  figures: TaskFigure[];
  /** One line for a terminal. */
  summary: string;
}

/** Evaluates a trained RNN on its task and returns the task's report (metrics and figures). */
export type TaskReporter = (task: RnnTask, rnn: ReportedRnn, options: TaskReportOptions) => Promise<TaskReport>;

const fixed = (v: number | undefined, digits = 4): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

/** Free running from the cue: scored over every step, also over the longer window when the task has one. */
async function generationReport(task: RnnTask, rnn: ReportedRnn, { title }: TaskReportOptions): Promise<TaskReport> {
  const ev = await rnn.evaluate(task.test, { score: 'all' });
  const evaluation: Record<string, unknown> = { test: ev };
  const ext = task.extended
    ? { ...(await rnn.evaluate(task.extended, { score: 'all' })), steps: task.extended.steps }
    : undefined;
  if (ext) evaluation.extended = ext;
  const shown = task.extended ?? task.test;
  const p = await rnn.predict(shown);
  const spec = trajectoryPlot(
    [
      { label: 'target', values: shown.targets },
      { label: 'network (free running)', values: p.outputs },
    ],
    {
      outputNames: task.outputNames,
      steps: shown.steps,
      title: `${title}${task.extended ? ` (trained on ${task.test.steps} steps)` : ''}`,
      ...(task.extended ? { marks: [{ label: 'end of training window', step: task.test.steps }] } : {}),
    },
  );
  const summary = `free-running NMSE ${fixed(ev.nmse, 5)} over ${task.test.steps} steps${ext ? `, ${fixed(ext.nmse, 5)} over ${ext.steps}` : ''} (R^2 ${fixed(ev.r2)})`;
  return { evaluation, figures: [{ file: 'trajectories.svg', spec }], summary };
}

/** Teacher-forced, then closed loop from the warm-up on (the forecast fed back with delay tau). */
async function forecastReport(task: RnnTask, rnn: ReportedRnn, { title }: TaskReportOptions): Promise<TaskReport> {
  const f = task.forecast!;
  const loop = { closedLoop: true, delay: f.tau, warmup: f.warmup } as const;
  const tf = await rnn.evaluate(task.test);
  const closed = await rnn.evaluate(task.test, { ...loop, score: { from: f.warmup } });
  const closedShort = await rnn.evaluate(task.test, { ...loop, score: { from: f.warmup, to: f.warmup + f.tau } });
  const evaluation = {
    teacherForced: tf,
    closedLoop: { ...closed, delay: f.tau, warmup: f.warmup },
    closedLoopFirstTau: { ...closedShort, from: f.warmup, to: f.warmup + f.tau },
    train: await rnn.evaluate(task.train),
  };
  const first = task.test.subset([0]);
  const a = await rnn.predict(first);
  const b = await rnn.predict(first, loop);
  const spec = trajectoryPlot(
    [
      { label: 'target', values: first.targets },
      { label: 'teacher-forced', values: a.outputs },
      { label: `closed loop (from step ${f.warmup})`, values: b.outputs },
    ],
    {
      outputNames: task.outputNames,
      steps: first.steps,
      title: `${title} (held-out sequence 1)`,
      marks: [{ label: 'loop closes', step: f.warmup }],
    },
  );
  const summary = `test R^2 ${fixed(tf.r2)} (NMSE ${fixed(tf.nmse)}) teacher-forced; closed loop R^2 ${fixed(closed.r2)} (NMSE ${fixed(closed.nmse)}), ${fixed(closedShort.r2)} over its first ${f.tau} steps`;
  return { evaluation, figures: [{ file: 'trajectories.svg', spec }], summary };
}

/** Reach errors on the trained targets and on the unseen targets between them; one path per trial. */
async function reachingReport(task: RnnTask, rnn: ReportedRnn, { title }: TaskReportOptions): Promise<TaskReport> {
  const r = task.reaching!;
  const tr = await rnn.predict(task.train);
  const te = await rnn.predict(task.test);
  const T = task.train.steps;
  const trainErr = reachingErrors(tr.outputs, r.trainTargets, T, r.moveSteps);
  const testErr = reachingErrors(te.outputs, r.testTargets, T, r.moveSteps);
  const evaluation = {
    train: { ...(await rnn.evaluate(task.train)), ...trainErr },
    test: { ...(await rnn.evaluate(task.test)), ...testErr },
  };
  const trials = [
    ...r.trainTargets.map((g, k) => ({ g, k, set: 'trained', out: tr.outputs, data: task.train })),
    ...r.testTargets.map((g, k) => ({ g, k, set: 'unseen', out: te.outputs, data: task.test })),
  ];
  // [n, T, 2] row-major: trial k is the slice [k T 2, (k + 1) T 2)
  const slice = (v: Float32Array, k: number): Float32Array => v.subarray(k * T * 2, (k + 1) * T * 2);
  const spec = reachPlot(
    trials.map((t) => ({
      label: `${t.set} ${t.k + 1}`,
      goal: t.g,
      target: slice(t.data.targets, t.k),
      network: slice(t.out, t.k),
    })),
    { steps: T, title: `${title}: trained and unseen targets` },
  );
  const summary = `final position error: trained targets ${fixed(trainErr.finalError)}, unseen targets ${fixed(testErr.finalError)} (radius 1)`;
  return { evaluation, figures: [{ file: 'trajectories.svg', spec }], summary };
}

/**
 * Mean final-position error of reaching predictions [n, T, 2] against the targets, and the mean
 * speed over the hold period (should be near 0).
 */
export function reachingErrors(
  outputs: ArrayLike<number>,
  targets: [number, number][],
  T: number,
  moveSteps: number,
): { finalError: number; perTarget: number[]; holdSpeed: number } {
  expectArrayLike('outputs', outputs);
  if (!Array.isArray(targets) || targets.some((t) => !Array.isArray(t) || t.length !== 2))
    throw new ValidationError('E_INVALID_ARG', `expected an array of [x, y] targets, got ${describe(targets)}`);
  expectInt('T', T, 1);
  expectInt('moveSteps', moveSteps, 0, T);
  if (outputs.length < targets.length * T * 2)
    throw new ValidationError('E_SHAPE', `expected ${targets.length * T * 2} outputs, got ${outputs.length}`);
  const perTarget = targets.map(([gx, gy], k) => {
    const i = (k * T + T - 1) * 2;
    return Math.hypot(outputs[i]! - gx, outputs[i + 1]! - gy);
  });
  let speed = 0;
  let count = 0;
  targets.forEach((_, k) => {
    for (let t = moveSteps + 1; t < T; t++) {
      const i = (k * T + t) * 2;
      speed += Math.hypot(outputs[i]! - outputs[i - 2]!, outputs[i + 1]! - outputs[i - 1]!);
      count++;
    }
  });
  return { finalError: perTarget.reduce((s, v) => s + v, 0) / perTarget.length, perTarget, holdSpeed: count ? speed / count : 0 };
}

/** The report of each task kind (exhaustive: a new kind fails to compile until it has one). */
export const TASK_REPORTS: Record<TaskKind, TaskReporter> = {
  generation: generationReport,
  forecast: forecastReport,
  reaching: reachingReport,
};
