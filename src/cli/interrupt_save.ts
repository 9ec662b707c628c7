/**
 * Ctrl-C during a CLI training run: the run folder keeps the last finished epoch. A
 * {@link LastEpoch} callback copies the learned values and the logs at every epoch end; when
 * fit is interrupted, {@link saveInterrupted} puts that epoch's values back (the interrupted
 * epoch's partial steps are dropped) and writes model.blck and metrics.json (`interrupted: true`).
 */
import { Callback, type Logs } from '../train/callbacks.js';
import type { FitModel } from '../train/fit_target.js';
import { History } from '../train/history.js';
import { writeRun, type WrittenRun } from './files.js';
import { InterruptedError, println, type OutStream } from './io.js';

/**
 * Keeps the learned values and History of the last finished epoch. With `minIntervalMs` (the
 * RNN's thousands of tiny epochs) the values are copied at most that often, and an interrupt
 * keeps the last copied epoch.
 */
export class LastEpoch extends Callback {
  readonly history = new History();
  values: Record<string, Float32Array> | null = null;
  private lastCopy = -Infinity;
  private readonly pending: { epoch: number; logs: Logs }[] = [];

  constructor(private readonly minIntervalMs = 0) {
    super();
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    this.pending.push({ epoch, logs: { ...logs } });
    if (performance.now() - this.lastCopy < this.minIntervalMs) return;
    this.values = await this.model.getLearned();
    this.lastCopy = performance.now();
    for (const p of this.pending.splice(0)) this.history.record(p.epoch, p.logs);
  }
}

/** A `.catch` handler for fit: on an interrupt, `save` (then the message), and rethrow. */
export function saveOnInterrupt(
  out: OutStream,
  last: LastEpoch,
  save: () => Promise<WrittenRun | null>,
): (err: unknown) => Promise<never> {
  return async (err) => {
    if (err instanceof InterruptedError) {
      const written = await save();
      if (written)
        println(out, `interrupted: saved the last finished epoch (${last.history.epoch.length}) to ${written.summary}`);
    }
    throw err;
  };
}

/**
 * After an interrupt: when an epoch finished, restores its values into `model` and writes the
 * run (model.blck with `metadata`, metrics.json from `metrics` plus the history). Returns what
 * was written, or null when no epoch finished.
 */
export async function saveInterrupted(
  outDir: string,
  model: FitModel,
  last: LastEpoch,
  metrics: Record<string, unknown>,
  metadata: Record<string, unknown>,
): Promise<WrittenRun | null> {
  if (!last.values) return null;
  await model.setLearned(last.values);
  const epochsRun = last.history.epoch.length;
  return writeRun(outDir, {
    model,
    metadata: { ...metadata, training: { epoch: last.history.epoch[epochsRun - 1]! + 1, lrScale: 1, optimizerState: false } },
    metrics: { ...metrics, interrupted: true, epochsRun, history: last.history.toJSON() },
  });
}
