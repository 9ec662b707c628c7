/**
 * Epoch loggers (Keras's CSVLogger, and a JSON-lines twin): one row per finished epoch, appended
 * and flushed before the next epoch starts, so a crash or Ctrl-C keeps every finished epoch.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileFormatError, ValidationError } from '../errors.js';
import { Callback, type Logs } from './callbacks.js';

/** Options of {@link CSVLogger}. */
export interface CSVLoggerOptions {
  /** Column separator (default ','). */
  separator?: string;
  /** Append to an existing file (resuming a run) instead of starting a new one. Default false. */
  append?: boolean;
}

async function io<T>(path: string, what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw new FileFormatError('E_IO', path, `cannot ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes `epoch,<metric>,...` per epoch to a CSV file. The columns are the first epoch's metrics
 * (sorted as logged); a metric missing later is an empty cell. With `append`, the existing
 * header is kept and rows continue it.
 */
export class CSVLogger extends Callback {
  readonly path: string;
  private readonly separator: string;
  private readonly append: boolean;
  private columns: string[] | null = null;

  constructor(path: string, options: CSVLoggerOptions = {}) {
    super();
    if (typeof path !== 'string' || path === '') throw new ValidationError('E_INVALID_ARG', 'expected a file path for CSVLogger');
    this.path = path;
    this.separator = options.separator ?? ',';
    this.append = options.append ?? false;
  }

  override async onTrainBegin(): Promise<void> {
    this.columns = null;
    await io(this.path, 'create the log file', () => mkdir(dirname(this.path), { recursive: true }));
    if (!this.append) return io(this.path, 'write the log file', () => writeFile(this.path, ''));
    const text = await readFile(this.path, 'utf8').catch(() => '');
    const header = text.split('\n', 1)[0];
    if (header) this.columns = header.split(this.separator).slice(1);
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    let text = '';
    if (this.columns === null) {
      this.columns = Object.keys(logs);
      text += `${['epoch', ...this.columns].join(this.separator)}\n`;
    }
    const cells = this.columns.map((k) => (logs[k] === undefined ? '' : String(logs[k])));
    text += `${[String(epoch), ...cells].join(this.separator)}\n`;
    await io(this.path, 'append to the log file', () => appendFile(this.path, text));
  }
}

/** Options of {@link JsonLinesLogger}. */
export interface JsonLinesLoggerOptions {
  /** Append to an existing file instead of starting a new one. Default false. */
  append?: boolean;
}

/** Writes one JSON object per epoch (`{"epoch":0,"loss":...}`) to a .jsonl file. */
export class JsonLinesLogger extends Callback {
  readonly path: string;
  private readonly append: boolean;

  constructor(path: string, options: JsonLinesLoggerOptions = {}) {
    super();
    if (typeof path !== 'string' || path === '')
      throw new ValidationError('E_INVALID_ARG', 'expected a file path for JsonLinesLogger');
    this.path = path;
    this.append = options.append ?? false;
  }

  override async onTrainBegin(): Promise<void> {
    await io(this.path, 'create the log file', () => mkdir(dirname(this.path), { recursive: true }));
    if (!this.append) await io(this.path, 'write the log file', () => writeFile(this.path, ''));
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    // Non-finite values (a diverging loss) are written as null, as JSON has no NaN.
    const line = JSON.stringify({ epoch, ...logs }, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? null : v,
    );
    await io(this.path, 'append to the log file', () => appendFile(this.path, `${line}\n`));
  }
}
