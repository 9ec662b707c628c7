/** Locating the installed package (for build outputs, package.json and ../shared/data). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BiasLearnError } from '../errors.js';

let cached: string | undefined;

/**
 * The directory holding this package's package.json (name "biaslearn"), found by walking up
 * from this module's location (works from src/ under a TS runner and from dist/).
 */
export function packageRoot(): string {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (pkg.name === 'biaslearn') {
          cached = dir;
          return dir;
        }
      } catch {
        // not readable JSON: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new BiasLearnError(
        'E_IO',
        `cannot find the biaslearn package root: no package.json named "biaslearn" above ${start}`,
      );
    }
    dir = parent;
  }
}

let cachedVersion: string | undefined;

/** This package's version (from its package.json), recorded in checkpoints. */
export function libraryVersion(): string {
  if (!cachedVersion) {
    try {
      cachedVersion = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}
