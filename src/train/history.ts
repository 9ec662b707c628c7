/**
 * What `fit` returns (Keras-style): one array per metric, one entry per completed epoch. It is
 * itself the last callback of every fit run, so it records the epoch's logs after every other
 * callback has seen (and possibly added to) them.
 */
import { Callback, type Logs } from './callbacks.js';
import { canonicalMetric, withMetricAliases } from './metric_names.js';

export class History extends Callback {
  readonly epoch: number[] = [];
  /** One array per metric (`accuracy`, `val_accuracy`...; `acc` / `val_acc` read as aliases). */
  readonly history: Record<string, number[]> = withMetricAliases({}, true);

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.record(epoch, logs);
  }

  /** Drops the run's model and state, so that a kept History does not keep the model alive. */
  override onTrainEnd(): void {
    Object.assign(this, { model: undefined, fitState: undefined });
  }

  /** Appends one epoch's logs. */
  record(epoch: number, logs: Record<string, number>): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) {
      this.history[k] ??= [];
      this.history[k].push(v);
    }
  }

  /** The last value of a metric, if recorded. */
  last(metric: string): number | undefined {
    const arr = this.history[metric];
    const a = arr ?? this.history[canonicalMetric(metric)];
    return a?.length ? a[a.length - 1] : undefined;
  }

  /** The epochs and metric arrays (canonical names only) for JSON files. */
  toJSON(): { epoch: number[]; history: Record<string, number[]> } {
    return { epoch: this.epoch, history: this.history };
  }
}
