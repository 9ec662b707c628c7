/**
 * Training progress on stderr: a cli-progress bar per epoch (samples/s, running loss and
 * accuracy) driven by fit's onProgress hook, which fires every ~200 ms between native chunks and
 * does not force per-batch steps. Without a TTY (or with --quiet) one line per epoch instead.
 */
import cliProgress from 'cli-progress';
import { Callback, type Logs, type ProgressInfo } from '../train/callbacks.js';
import { fixed, lr as fmtLr, rate, seconds } from './format.js';
import type { OutStream } from './io.js';

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

/** "loss 0.4123  acc 0.8512  val_loss ...  lr 1e-2  1.23s  45.1k samples/s" */
export function epochSummary(logs: Logs): string {
  const parts = [`loss ${fixed(logs.loss)}`];
  if (logs.acc !== undefined) parts.push(`acc ${fixed(logs.acc)}`);
  if (logs.val_loss !== undefined) parts.push(`val_loss ${fixed(logs.val_loss)}`);
  if (logs.val_acc !== undefined) parts.push(`val_acc ${fixed(logs.val_acc)}`);
  if (logs.lr !== undefined) parts.push(`lr ${fmtLr(logs.lr)}`);
  if (logs.seconds !== undefined) parts.push(seconds(logs.seconds));
  if (logs.samplesPerSec !== undefined) parts.push(`${rate(logs.samplesPerSec)} samples/s`);
  return parts.join('  ');
}

export class TrainingProgress extends Callback {
  private readonly out: OutStream;
  private readonly opts: ProgressOptions;
  private readonly useBar: boolean;
  private bar: cliProgress.SingleBar | null = null;
  private readonly epochs: number;

  constructor(out: OutStream, opts: ProgressOptions) {
    super();
    this.out = out;
    this.opts = opts;
    this.useBar = opts.bar && out.isTTY === true;
    this.epochs = opts.epochs;
  }

  private label(epoch: number): string {
    const e = `epoch ${String(epoch + 1).padStart(String(this.epochs).length)}/${this.epochs}`;
    return this.opts.prefix ? `${this.opts.prefix} ${e}` : e;
  }

  override onProgress(info: ProgressInfo): void {
    if (!this.useBar) return;
    const payload = {
      label: this.label(info.epoch),
      speed: rate(info.samplesPerSec),
      loss: fixed(info.loss),
      acc: info.acc === undefined ? '' : ` | acc ${fixed(info.acc)}`,
    };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.out as NodeJS.WritableStream,
          format: '{label} {bar} {percentage}% | {value}/{total} | {speed} samples/s | loss {loss}{acc} | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          barsize: 24,
          fps: 10,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(info.samplesTotal, info.samplesDone, payload);
    } else {
      this.bar.update(info.samplesDone, payload);
    }
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.stopBar();
    if (this.opts.epochLines) this.out.write(`${this.label(epoch)}  ${epochSummary(logs)}\n`);
  }

  override onTrainEnd(): void {
    this.stopBar();
  }

  /** Removes a live bar (also on errors and interrupts) and restores the cursor. */
  stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }
}
