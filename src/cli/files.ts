/** Run folders and atomic writes of the CLI's outputs; {@link writeRun} is the one writer of a run's files. */
import { isRootRank } from '../distributed/world.js';
import { existsSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { mkdir, mkdtemp, readdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FileFormatError } from '../errors.js';
import type { VegaLiteSpec } from '../plot/render.js';
import { writeTextAtomic } from '../util/atomic_write.js';
import { displayPath } from './context.js';
import { timestamp } from './format.js';

export { writeTextAtomic };

/**
 * Checks an `--out` folder before any work starts: refused (E_IO, at once) when it exists and
 * already holds files, unless `overwrite`; or when it cannot be created or written (its nearest
 * existing ancestor is not a folder, or a probe folder cannot be made there). Nothing is left behind.
 */
export async function checkOutDir(out: string | undefined, overwrite = false): Promise<void> {
  if (out === undefined) return;
  const dir = resolve(out);
  const fail = (why: string, cause?: unknown): never => {
    throw new FileFormatError('E_IO', dir, why, cause === undefined ? undefined : { cause });
  };
  let existing = dir;
  for (;;) {
    let st: Stats | undefined;
    try {
      st = await stat(existing);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') fail(`cannot use the output folder: ${(err as Error).message}`, err);
    }
    if (st) {
      if (!st.isDirectory())
        fail(existing === dir ? 'the output path exists and is not a folder' : `${existing} is not a folder`);
      break;
    }
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  if (existing === dir && !overwrite) {
    const held = await readdir(dir);
    if (held.length > 0) {
      const shown = held.slice(0, 4).join(', ') + (held.length > 4 ? ', ...' : '');
      fail(`the output folder already holds files (${shown}); pass --overwrite to write into it, or another --out`);
    }
  }
  try {
    await rmdir(await mkdtemp(join(existing, '.biaslearn-probe-')));
  } catch (err) {
    fail(`cannot write the output folder: ${(err as Error).message}`, err);
  }
}

/**
 * Creates the output folder: `out` as given, or ./runs/<prefix><timestamp> (with a -2, -3 ...
 * suffix if that exists). Returns its absolute path. A given `out` is checked by
 * {@link checkOutDir} (call it before the work starts too, to fail at once).
 */
export async function prepareOutDir(out: string | undefined, prefix = '', overwrite = false): Promise<string> {
  let dir: string;
  if (out !== undefined) {
    await checkOutDir(out, overwrite);
    dir = resolve(out);
  } else {
    const base = resolve('runs', `${prefix}${timestamp()}`);
    dir = base;
    for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`;
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new FileFormatError('E_IO', dir, `cannot create the output folder: ${(err as Error).message}`, { cause: err });
  }
  return dir;
}

/** JSON with two-space indents and a final newline; `replacer` as in JSON.stringify. */
export function writeJson(path: string, value: unknown, replacer?: (key: string, value: unknown) => unknown): Promise<void> {
  return writeTextAtomic(path, `${JSON.stringify(value, replacer, 2)}\n`);
}

/** The checkpoint file of a run folder. */
export const MODEL_FILE = 'model.blck';
/** The metrics file of a run folder unless the command names another (sweep.json, report.json). */
export const METRICS_FILE = 'metrics.json';

/** A model that saves itself as a checkpoint (MLP, MultitaskModel, RNN). */
export interface SavableModel {
  save(path: string, options: { metadata?: Record<string, unknown> }): Promise<void>;
}

/** A figure of a run: a Vega-Lite spec rendered to <out>/<file>. */
export interface RunFigure {
  file: string;
  spec: VegaLiteSpec;
}

/** Seconds by step; {@link writeRun} sets saveSeconds (model and figures) and totalSeconds (the whole command). */
export type RunTimings = Record<string, number>;

/** Everything a command hands to {@link writeRun}. Only `metrics` is required. */
export interface RunOutputs {
  /** Saved first, as model.blck, with `metadata` in its header. */
  model?: SavableModel;
  metadata?: Record<string, unknown>;
  /** Rendered in this order, one SVG file each. */
  figures?: RunFigure[];
  /**
   * Written last (a complete metrics file marks a complete folder). When it has a `timings`
   * object, its saveSeconds (model and figures) and, with `startedAt`, totalSeconds are set.
   */
  metrics: Record<string, unknown> & { timings?: RunTimings };
  /** The metrics file name (default metrics.json). */
  metricsFile?: string;
  /** Rounds the non-integer numbers of the metrics file to this many significant digits. */
  significantDigits?: number;
  /** performance.now() when the command started. */
  startedAt?: number;
}

/** What {@link writeRun} wrote: file names in the order model, metrics, figures. */
export interface WrittenRun {
  files: string[];
  /** "runs/x/{model.blck,metrics.json,loss.svg}" (relative to the working directory when inside it). */
  summary: string;
}

function rounder(digits: number): (key: string, value: unknown) => unknown {
  return (_key, v) => (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(digits)) : v);
}

/** "dir/{a,b,c}" for the closing line of a command. */
export function filesSummary(outDir: string, files: string[]): string {
  return `${displayPath(outDir)}/{${files.join(',')}}`;
}

/**
 * Writes a run folder: model.blck (when a model is given), the figures as SVG, then the metrics
 * JSON. File names and JSON keys are the CLI's public output: scripts read them.
 */
export async function writeRun(outDir: string, run: RunOutputs): Promise<WrittenRun> {
  const tSave = performance.now();
  const metricsFile = run.metricsFile ?? METRICS_FILE;
  if (!isRootRank()) return { files: [], summary: '' }; // under mpirun rank 0 writes the run
  if (run.model) await run.model.save(join(outDir, MODEL_FILE), run.metadata ? { metadata: run.metadata } : {});
  const figures = run.figures ?? [];
  if (figures.length) {
    const { renderVegaLiteSvg, writeSvg } = await import('../plot/render.js');
    for (const f of figures) await writeSvg(join(outDir, f.file), await renderVegaLiteSvg(f.spec));
  }
  let metrics = run.metrics;
  if (metrics.timings) {
    const saveSeconds = (performance.now() - tSave) / 1000;
    const totalSeconds = run.startedAt === undefined ? metrics.timings.totalSeconds : (performance.now() - run.startedAt) / 1000;
    metrics = {
      ...metrics,
      timings: { ...metrics.timings, saveSeconds, ...(totalSeconds === undefined ? {} : { totalSeconds }) },
    };
  }
  await writeJson(
    join(outDir, metricsFile),
    metrics,
    run.significantDigits === undefined ? undefined : rounder(run.significantDigits),
  );
  const files = [...(run.model ? [MODEL_FILE] : []), metricsFile, ...figures.map((f) => f.file)];
  return { files, summary: filesSummary(outDir, files) };
}
