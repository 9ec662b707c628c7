/**
 * task.report(rnn) for each RNN task kind (generation, forecast, reaching): the evaluation sets
 * and keys it returns equal the RNN's own evaluate / predict results, its figure, summary line and
 * the resting input for the dynamics analysis.
 */
import { describe, expect, it } from 'vitest';
import {
  RNN,
  cosineTask,
  lorenzTask,
  mackeyGlassTask,
  makeTask,
  reachingErrors,
  reachingTask,
  vanDerPolTask,
  type RnnTask,
} from '../src/index.js';
import { TASK_REPORTS } from '../src/tasks/index.js';

async function withRnn<T>(task: RnnTask, hidden: number, work: (rnn: RNN) => Promise<T>): Promise<T> {
  const rnn = await RNN.create({
    inputSize: task.inputSize,
    hidden,
    outputSize: task.outputSize,
    seed: 5,
    learnInitialState: true,
  });
  try {
    return await work(rnn);
  } finally {
    rnn.dispose();
  }
}

const TITLE = 'a title';

describe('task.report', () => {
  it('has a report for every task kind and every named task', () => {
    expect(Object.keys(TASK_REPORTS).sort()).toEqual(['forecast', 'generation', 'reaching']);
    for (const name of ['cosine', 'sine', 'vanderpol', 'reaching'] as const)
      expect(typeof makeTask(name).report).toBe('function');
  });

  it('generation (cosine, period 7, odd length): free-running NMSE over the window and the extended window', async () => {
    const task = cosineTask({ period: 7, periods: 3 });
    expect(task.fixedPointInput).toEqual([1]);
    expect(cosineTask({ cue: false }).fixedPointInput).toEqual([]);
    await withRnn(task, 7, async (rnn) => {
      const r = await task.report(rnn, { title: TITLE });
      expect(Object.keys(r.evaluation)).toEqual(['test', 'extended']);
      expect(r.evaluation.test).toEqual(await rnn.evaluate(task.test, { score: 'all' }));
      const ext = r.evaluation.extended as { nmse: number; steps: number };
      expect(ext).toEqual({ ...(await rnn.evaluate(task.extended!, { score: 'all' })), steps: 42 });
      expect(r.figures.map((f) => f.file)).toEqual(['trajectories.svg']);
      expect(JSON.stringify(r.figures[0]!.spec)).toContain(`${TITLE} (trained on 21 steps)`);
      const nmse = (r.evaluation.test as { nmse: number }).nmse;
      expect(r.summary).toBe(
        `free-running NMSE ${nmse.toFixed(5)} over 21 steps, ${ext.nmse.toFixed(5)} over 42 (R^2 ${(r.evaluation.test as { r2: number }).r2.toFixed(4)})`,
      );
    });
  });

  it('generation without an extended window (two outputs): test only', async () => {
    const task: RnnTask = { ...vanDerPolTask({ steps: 13 }) };
    delete task.extended;
    await withRnn(task, 1, async (rnn) => {
      const r = await TASK_REPORTS.generation(task, rnn, { title: TITLE });
      expect(Object.keys(r.evaluation)).toEqual(['test']);
      expect(r.summary).toMatch(/^free-running NMSE [\d.]+ over 13 steps \(R\^2 -?[\d.]+\)$/);
    });
  });

  it('forecast (lorenz, tau 3): teacher-forced, closed loop, its first tau steps, train', async () => {
    const task = lorenzTask({ samples: 600, length: 40, washout: 5, tau: 3 });
    expect(task.fixedPointInput).toEqual([0]);
    const f = task.forecast!;
    expect(f.warmup).toBe(5);
    await withRnn(task, 9, async (rnn) => {
      const r = await task.report(rnn, { title: TITLE });
      expect(Object.keys(r.evaluation)).toEqual(['teacherForced', 'closedLoop', 'closedLoopFirstTau', 'train']);
      const loop = { closedLoop: true, delay: 3, warmup: 5 };
      expect(r.evaluation.teacherForced).toEqual(await rnn.evaluate(task.test));
      expect(r.evaluation.closedLoop).toEqual({
        ...(await rnn.evaluate(task.test, { ...loop, score: { from: 5 } })),
        delay: 3,
        warmup: 5,
      });
      expect(r.evaluation.closedLoopFirstTau).toEqual({
        ...(await rnn.evaluate(task.test, { ...loop, score: { from: 5, to: 8 } })),
        from: 5,
        to: 8,
      });
      expect(r.evaluation.train).toEqual(await rnn.evaluate(task.train));
      expect(r.figures.map((f) => f.file)).toEqual(['trajectories.svg']);
      expect(JSON.stringify(r.figures[0]!.spec)).toContain(`${TITLE} (held-out sequence 1)`);
      expect(r.summary).toMatch(
        /^test R\^2 -?[\d.]+ \(NMSE [\d.]+\) teacher-forced; closed loop R\^2 -?[\d.]+ \(NMSE [\d.]+\), -?[\d.]+ over its first 3 steps$/,
      );
    });
    // Mackey-Glass is a forecast task too
    expect(mackeyGlassTask({ samples: 500, length: 30, washout: 2 }).report).toBeTypeOf('function');
  });

  it('reaching (3 targets, 11 steps): reach errors and hold speed on trained and unseen targets', async () => {
    const task = reachingTask({ targets: 3, steps: 11, moveSteps: 7 });
    expect(task.fixedPointInput).toEqual([0, 0]);
    await withRnn(task, 7, async (rnn) => {
      const r = await task.report(rnn, { title: TITLE });
      expect(Object.keys(r.evaluation)).toEqual(['train', 'test']);
      const te = await rnn.predict(task.test);
      const testErr = reachingErrors(te.outputs, task.reaching!.testTargets, 11, 7);
      expect(r.evaluation.test).toEqual({ ...(await rnn.evaluate(task.test)), ...testErr });
      const train = r.evaluation.train as { finalError: number; perTarget: number[]; holdSpeed: number };
      expect(train.perTarget).toHaveLength(3);
      expect(train.holdSpeed).toBeGreaterThanOrEqual(0);
      expect(JSON.stringify(r.figures[0]!.spec)).toContain(`${TITLE}: trained and unseen targets`);
      expect(r.summary).toBe(
        `final position error: trained targets ${train.finalError.toFixed(4)}, unseen targets ${testErr.finalError.toFixed(4)} (radius 1)`,
      );
    });
  });
});
