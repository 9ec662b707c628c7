/**
 * Keras-style training output, usable by anyone: `fit({ verbose: 1 })` (a live bar on a TTY, a
 * line per epoch) or `verbose: 2` (a line per epoch only), or the {@link ProgressBar} callback
 * itself on any stream. The bar is a cli-progress bar driven by fit's onProgress hook (every
 * ~200 ms between native chunks; it does not force per-batch steps). The CLI's displays are
 * built on the same {@link LiveBar}.
 */
import { expectObject } from '../util/validate.js';
import cliProgress from 'cli-progress';
import { fixed, lr as fmtLr, rate, seconds } from '../util/format.js';
import { Callback, type Logs, type ProgressInfo } from './callbacks.js';

/** A text stream (process.stderr, or anything with write); `isTTY` enables the live bar. */
export interface TextStream {
  /** Writes text (no newline added). */
  write(s: string): unknown;
  isTTY?: boolean;
}

/** What differs between the bars: the line format (cli-progress tokens), width and ETA smoothing. */
export interface BarStyle {
  format: string;
  barsize: number;
  etaBuffer: number;
}

/** A bar that starts on its first update; stop() removes it and restores the cursor (also on errors). */
export class LiveBar {
  private bar: cliProgress.SingleBar | null = null;
  constructor(
    private readonly out: TextStream,
    private readonly style: BarStyle,
  ) {}

  /** Moves the bar to `value` of `total` (starting it on the first call) with the format's tokens. */
  update(value: number, total: number, payload: Record<string, unknown>): void {
    if (this.bar) {
      this.bar.update(value, payload);
      return;
    }
    const { format, barsize, etaBuffer } = this.style;
    const options = {
      stream: this.out as NodeJS.WritableStream,
      format,
      barsize,
      etaBuffer,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    };
    this.bar = new cliProgress.SingleBar(options, cliProgress.Presets.shades_classic);
    this.bar.start(total, value, payload);
  }

  /** Removes the bar (if started) and restores the cursor. */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** "epoch  3/12", after an optional prefix such as "[3/12] width 256 bias seed 0". */
export function epochLabel(epoch: number, epochs: number, prefix?: string): string {
  const e = `epoch ${String(epoch + 1).padStart(String(epochs).length)}/${epochs}`;
  return prefix ? `${prefix} ${e}` : e;
}

/** "loss 0.4123  accuracy 0.8512  val_loss ...  lr 1e-2  1.23s  45.1k samples/s" */
export function epochSummary(logs: Logs): string {
  expectObject('logs', logs);
  const parts = [`loss ${fixed(logs.loss)}`];
  if (logs.accuracy !== undefined) parts.push(`accuracy ${fixed(logs.accuracy)}`);
  if (logs.val_loss !== undefined) parts.push(`val_loss ${fixed(logs.val_loss)}`);
  if (logs.val_accuracy !== undefined) parts.push(`val_accuracy ${fixed(logs.val_accuracy)}`);
  if (logs.lr !== undefined) parts.push(`lr ${fmtLr(logs.lr)}`);
  if (logs.seconds !== undefined) parts.push(seconds(logs.seconds));
  if (logs.samplesPerSec !== undefined) parts.push(`${rate(logs.samplesPerSec)} samples/s`);
  return parts.join('  ');
}

/** Keras's verbosity: 0 silent, 1 a bar (on a TTY) and a line per epoch, 2 a line per epoch. */
export type Verbosity = 0 | 1 | 2;

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** 1 (default): a live bar on a TTY and a line per epoch; 2: a line per epoch only. */
  verbose?: 1 | 2;
  /** Where to write (default process.stderr). */
  stream?: TextStream;
  /** Planned epochs for the "epoch 3/5" label (default: fit's, from onTrainBegin). */
  epochs?: number;
  /** Text before each bar / line, e.g. "[3/12] width 256". */
  prefix?: string;
  /** Print a line at the end of every epoch (default true). */
  epochLines?: boolean;
}

/**
 * The training display as a callback: a live bar per epoch on a TTY (samples, samples/s, running
 * loss and accuracy, ETA) and a summary line per epoch; status messages of long preparation
 * steps (input-cache build) as lines. `fit({ verbose })` adds one; add it yourself to choose the
 * stream or prefix: `callbacks: [new ProgressBar({ stream: process.stdout })]`.
 */
export class ProgressBar extends Callback {
  protected readonly out: TextStream;
  protected readonly bar: LiveBar | null;
  protected epochs: number;
  private readonly prefix: string | undefined;
  private readonly epochLines: boolean;

  constructor(options: ProgressBarOptions = {}) {
    super();
    this.out = options.stream ?? process.stderr;
    const verbose = options.verbose ?? 1;
    this.bar =
      verbose === 1 && this.out.isTTY === true
        ? new LiveBar(this.out, {
            format: '{label} {bar} {percentage}% | {value}/{total} | {speed} samples/s | loss {loss}{acc} | ETA {eta_formatted}',
            barsize: 24,
            etaBuffer: 20,
          })
        : null;
    this.epochs = options.epochs ?? 0;
    this.prefix = options.prefix;
    this.epochLines = options.epochLines ?? true;
  }

  override onTrainBegin(logs?: Logs): void {
    if (this.epochs === 0 && logs?.epochs !== undefined) this.epochs = logs.epochs;
  }

  override onProgress(info: ProgressInfo): void {
    this.bar?.update(info.samplesDone, info.samplesTotal, {
      label: epochLabel(info.epoch, this.epochs || info.epochs, this.prefix),
      speed: rate(info.samplesPerSec),
      loss: fixed(info.loss),
      acc: info.accuracy === undefined ? '' : ` | accuracy ${fixed(info.accuracy)}`,
    });
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.stopBar();
    if (this.epochLines) this.out.write(`${epochLabel(epoch, this.epochs || epoch + 1, this.prefix)}  ${epochSummary(logs)}\n`);
  }

  override onStatus(message: string): void {
    this.stopBar();
    this.out.write(`${this.prefix ? `${this.prefix} ` : ''}${message}\n`);
  }

  override onTrainEnd(): void {
    this.stopBar();
  }

  /** Removes a live bar (also on errors and interrupts) and restores the cursor. */
  stopBar(): void {
    this.bar?.stop();
  }
}
