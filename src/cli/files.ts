/** Run folders and atomic writes of the CLI's outputs. */
import { existsSync } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FileFormatError } from '../errors.js';
import { timestamp } from './format.js';

/**
 * Creates the output folder: `out` as given, or ./runs/<prefix><timestamp> (with a -2, -3 ...
 * suffix if that exists). Returns its absolute path.
 */
export async function prepareOutDir(out: string | undefined, prefix = ''): Promise<string> {
  let dir: string;
  if (out !== undefined) dir = resolve(out);
  else {
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

/** Writes text atomically (temp file in the same folder, then rename). */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new FileFormatError('E_IO', path, `cannot write file: ${(err as Error).message}`, { cause: err });
  }
}

export function writeJson(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
