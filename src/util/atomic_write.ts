/** Atomic text writes: readers never see half a file. */
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileFormatError } from '../errors.js';

/**
 * Writes `text` to a temporary file in the same folder, then renames it over `path`. Failures are
 * E_IO errors naming the path: "cannot write <what>: <reason>".
 */
export async function writeTextAtomic(path: string, text: string, what = 'file'): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new FileFormatError('E_IO', path, `cannot write ${what}: ${(err as Error).message}`, { cause: err });
  }
}
