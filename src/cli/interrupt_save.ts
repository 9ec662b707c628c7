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

/** Keeps the learned values and History of the last finished epoch. */
export class LastEpoch extends Callback {
  readonly history = new History();
  values: Record<string, Float32Array> | null = null;

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    this.values = await this.model.getLearned();
    this.history.record(epoch, { ...logs });
  }
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
