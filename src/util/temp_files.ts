/**
 * Temporary files of atomic writes: `.<name>.<pid>.<random>.tmp` beside the target, renamed over
 * it when complete. A save killed mid-write leaves its temporary file behind; the next save to the
 * same path removes those whose process is gone (never a live process's, never its own in-flight
 * ones). The names start with a dot and end in `.tmp`, so no checkpoint glob (`*.blck`) matches them.
 */
import { lstat, readdir, readlink, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** Temporary files this process is writing now (never removed as stale). */
const inFlight = new Set<string>();

/** A fresh temporary path beside `path`, registered as in flight until {@link releaseTempPath}. */
export function tempPathFor(path: string): string {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  inFlight.add(tmp);
  return tmp;
}

export function releaseTempPath(tmp: string): void {
  inFlight.delete(tmp);
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes the temporary files of interrupted writes to `path`: those of a process that is gone,
 * and this process's own that are no longer in flight. Best effort: failures are ignored.
 */
export async function removeStaleTemps(path: string): Promise<string[]> {
  const dir = dirname(path);
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(path))}\\.(\\d+)\\.[0-9a-z]+\\.tmp$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const tmp = join(dir, name);
    const pid = Number(m[1]);
    if (inFlight.has(tmp) || (pid !== process.pid && processAlive(pid))) continue;
    try {
      if ((await lstat(tmp)).isFile()) {
        await unlink(tmp);
        removed.push(tmp);
      }
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

/**
 * Where a write to `path` lands: `path` itself, or the file a symbolic link at `path` points to
 * (followed to the end, dangling links included), so saving onto a link updates its target and
 * keeps the link.
 */
export async function writeTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!(await lstat(current)).isSymbolicLink()) return current;
    } catch {
      return current; // nothing there yet: a new file
    }
    try {
      return await realpath(current);
    } catch {
      current = resolve(dirname(current), await readlink(current)); // dangling: follow by hand
    }
  }
  return current;
}
