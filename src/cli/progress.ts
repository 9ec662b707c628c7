/**
 * Training progress on stderr. On a TTY a cli-progress bar, driven by fit's onProgress hook (every
 * ~200 ms between native chunks; it does not force per-batch steps) or, for the RNN's many tiny
 * epochs, by the epoch count. Without a TTY (or with --quiet) lines instead. One bar type
 * (the library's {@link LiveBar}, src/train/progress_bar.ts) serves the MLP, multi-task and RNN
 * displays; the MLP's display is the library's ProgressBar callback itself.
 */
import type { MultitaskEvaluateResult, MultitaskFitState, MultitaskModel } from '../multitask/model.js';
import { Callback, type Logs, type ProgressInfo } from '../train/callbacks.js';
import { LiveBar, ProgressBar, epochLabel, type BarStyle } from '../train/progress_bar.js';
import { fixed, lr as fmtLr, rate, seconds } from './format.js';
import { withInterrupt, type OutStream } from './io.js';

export { LiveBar, epochLabel, epochSummary, type BarStyle } from '../train/progress_bar.js';

/** A progress callback with an optional live bar (only on a TTY), removed when training ends. */
abstract class BarProgress extends Callback {
  protected readonly bar: LiveBar | null;
  constructor(out: OutStream, wantBar: boolean, style: BarStyle) {
    super();
    this.bar = wantBar && out.isTTY === true ? new LiveBar(out, style) : null;
  }

  override onTrainEnd(): void {
    this.stopBar();
  }

  /** Removes a live bar (also on errors and interrupts) and restores the cursor. */
  stopBar(): void {
    this.bar?.stop();
  }
}

export interface ProgressOptions {
  /** Show a live bar (only honoured when the stream is a TTY). */
  bar: boolean;
  /** Print a summary line at the end of every epoch. */
  epochLines: boolean;
  /** Text before each bar / line, e.g. "[3/12] width 256 bias seed 0". */
  prefix?: string;
  /** Planned epochs (for the "epoch 3/5" label). */
  epochs: number;
}

/** MLP training (train, sweep): the library's {@link ProgressBar} (a bar per epoch on a TTY, a line per epoch). */
export class TrainingProgress extends ProgressBar {
  constructor(out: OutStream, opts: ProgressOptions) {
    super({
      stream: out,
      verbose: opts.bar ? 1 : 2,
      epochs: opts.epochs,
      epochLines: opts.epochLines,
      ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
    });
  }
}

/**
 * The multi-task model's training state that the progress display reads (running per-task sums
 * of the current epoch, the mask gate slope, the last validation result): the one place the CLI
 * reads it.
 */

/** Multi-task training: a bar with per-task running accuracy, two lines per epoch (per-task validation accuracy). */
export class MultitaskProgress extends BarProgress {
  constructor(
    private readonly out: OutStream,
    private readonly mt: MultitaskModel,
    private readonly opts: { bar: boolean; epochs: number; prefix?: string },
  ) {
    super(out, opts.bar, {
      format: '{label} {bar} {percentage}% | {speed} samples/s | loss {loss} | {tasks} | ETA {eta_formatted}',
      barsize: 20,
      etaBuffer: 20,
    });
  }

  private shortNames(): string[] {
    return this.mt.taskNames.map((n) => (n.length > 24 ? `${n.slice(0, 23)}~` : n));
  }

  private taskAcc(): string {
    const r = (this.fitState as MultitaskFitState).running;
    const names = this.shortNames();
    return names
      .map((n, k) => (r.count[k]! > 0 ? `${n} ${(r.correct[k]! / r.count[k]!).toFixed(3)}` : ''))
      .filter(Boolean)
      .join(' ');
  }

  override onProgress(info: ProgressInfo): void {
    if (!this.bar) return;
    const label = epochLabel(info.epoch, this.opts.epochs, this.opts.prefix);
    this.bar.update(info.samplesDone, info.samplesTotal, {
      label,
      speed: rate(info.samplesPerSec),
      loss: fixed(info.loss),
      tasks: this.taskAcc(),
    });
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.stopBar();
    const state = this.fitState as MultitaskFitState;
    const parts = [`loss ${fixed(logs.loss)}`, `accuracy ${fixed(logs.accuracy)}`];
    if (logs.val_accuracy !== undefined) parts.push(`val_accuracy ${fixed(logs.val_accuracy)}`);
    if (logs.lr !== undefined) parts.push(`lr ${fmtLr(logs.lr)}`);
    if (this.mt.config.train === 'mask') parts.push(`slope ${state.slope.toPrecision(3)}`);
    if (logs.seconds !== undefined) parts.push(seconds(logs.seconds));
    if (logs.samplesPerSec !== undefined) parts.push(`${rate(logs.samplesPerSec)} samples/s`);
    const ev = state.validation;
    const perTask = (ev: MultitaskEvaluateResult): string =>
      this.shortNames()
        .map((n, k) => {
          const t = ev.perTask[this.mt.taskNames[k]!];
          return t ? `${n} ${t.accuracy.toFixed(3)}` : '';
        })
        .filter(Boolean)
        .join(' ');
    const label = epochLabel(epoch, this.opts.epochs, this.opts.prefix);
    this.out.write(`${label}  ${parts.join('  ')}\n    ${ev ? 'val' : 'train'} per task: ${ev ? perTask(ev) : this.taskAcc()}\n`);
  }
}

/** RNN training: one bar over all epochs (tasks with one sequence train for thousands of tiny epochs), or ~10 lines. */
export class EpochProgress extends BarProgress {
  private lastLine = 0;
  constructor(
    private readonly out: OutStream,
    private readonly epochs: number,
    live: boolean,
  ) {
    super(out, live, {
      format: 'epoch {value}/{total} {bar} {percentage}% | loss {loss}{val} | ETA {eta_formatted}',
      barsize: 24,
      etaBuffer: 50,
    });
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const payload = { loss: fixed(logs.loss, 5), val: logs.val_loss === undefined ? '' : ` | val ${fixed(logs.val_loss, 5)}` };
    if (this.bar) {
      this.bar.update(epoch + 1, this.epochs, payload);
      return;
    }
    const every = Math.max(1, Math.round(this.epochs / 10));
    if (epoch + 1 === this.epochs || epoch + 1 - this.lastLine >= every) {
      this.lastLine = epoch + 1;
      this.out.write(
        `epoch ${epoch + 1}/${this.epochs}  loss ${fixed(logs.loss, 5)}${payload.val}  ${seconds(logs.seconds ?? 0)}\n`,
      );
    }
  }

  /** Kept (empty) as before: fit's progress chunking turns on when a callback has onProgress. */
  override onProgress(_info: ProgressInfo): void {}
}

/** Runs `fit` with Ctrl-C handling ({@link withInterrupt}), removing the progress bar however it ends. */
export function fitWithProgress<T>(progress: { stopBar(): void }, fit: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return withInterrupt(async (signal) => {
    try {
      return await fit(signal);
    } finally {
      progress.stopBar();
    }
  });
}
