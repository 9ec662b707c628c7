/**
 * Running metrics of one training epoch, from the per-batch sums of native passes: the epoch's
 * mean loss (and accuracy for classifiers), per-batch logs and progress snapshots. Refuses a
 * non-finite batch loss (E_DIVERGED).
 */
import { BiasLearnError } from '../errors.js';
import type { BatchLogs, Logs, ProgressInfo } from './callbacks.js';
import type { PassStats } from './fit_target.js';
import { withMetricAliases } from './metric_names.js';

export class EpochMetrics {
  private lossSum = 0;
  private correct = 0;
  /** Samples seen so far this epoch. */
  seen = 0;
  /** Batches seen so far this epoch (the next batch's index). */
  batches = 0;
  private readonly t0 = performance.now();

  constructor(
    private readonly epoch: number,
    private readonly lr: number,
    private readonly classifier: boolean,
  ) {}

  /** Adds a pass's batches; returns each batch's logs in order. */
  add(stats: PassStats): BatchLogs[] {
    const out: BatchLogs[] = [];
    for (let b = 0; b < stats.size.length; b++) {
      const loss = stats.lossSum[b]!;
      if (!Number.isFinite(loss)) {
        throw new BiasLearnError(
          'E_DIVERGED',
          `training diverged: non-finite loss at epoch ${this.epoch}, batch ${this.batches} (lr ${this.lr}); lower the learning rate`,
        );
      }
      const size = stats.size[b]!;
      this.lossSum += loss;
      this.correct += stats.correct[b]!;
      this.seen += size;
      out.push(
        withMetricAliases({
          batch: this.batches++,
          size,
          loss: loss / size,
          ...(this.classifier ? { accuracy: stats.correct[b]! / size } : {}),
        }),
      );
    }
    return out;
  }

  /** Data-parallel: replaces this rank's sums by the sums over every rank (`sum` is an allreduce). */
  reduce(sum: (values: number[]) => Float64Array): void {
    const [loss, correct, seen] = sum([this.lossSum, this.correct, this.seen]);
    this.lossSum = loss!;
    this.correct = correct!;
    this.seen = seen!;
  }

  get seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  progress(epochs: number, samplesTotal: number): ProgressInfo {
    return withMetricAliases({
      epoch: this.epoch,
      epochs,
      samplesDone: this.seen,
      samplesTotal,
      loss: this.lossSum / this.seen,
      ...(this.classifier ? { accuracy: this.correct / this.seen } : {}),
      samplesPerSec: this.seen / Math.max(this.seconds, 1e-9),
    });
  }

  /** The epoch's training logs: loss and (classifiers) accuracy (`acc` an alias). */
  logs(): Logs {
    const logs: Logs = { loss: this.lossSum / this.seen };
    if (this.classifier) logs.accuracy = this.correct / this.seen;
    return withMetricAliases(logs);
  }
}
