/** Atomic text writes: readers never see half a file. */
import { rename, unlink, writeFile } from 'node:fs/promises';
import { releaseTempPath, removeStaleTemps, tempPathFor, writeTarget } from './temp_files.js';
import { FileFormatError } from '../errors.js';

/**
 * Writes `text` to a temporary file in the same folder, then renames it over `path` (over the
 * target of a symbolic link at `path`; stale temporary files of interrupted writes removed first). Failures are
 * E_IO errors naming the path: "cannot write <what>: <reason>".
 */
export async function writeTextAtomic(path: string, text: string, what = 'file'): Promise<void> {
  const target = await writeTarget(path);
  await removeStaleTemps(target);
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, text, { encoding: 'utf8', flag: 'wx' });
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new FileFormatError('E_IO', path, `cannot write ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    releaseTempPath(tmp);
  }
}
