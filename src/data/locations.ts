/**
 * Where the named image sets live. One documented place for data:
 *   1. `$BIASLEARN_DATA/<name>` when BIASLEARN_DATA is set, else the per-user cache
 *      (`$XDG_CACHE_HOME/biaslearn/<name>`, default `~/.cache/biaslearn/<name>`; macOS
 *      `~/Library/Caches/biaslearn`, Windows `%LOCALAPPDATA%\biaslearn\Cache`), which is where
 *      `biaslearn data fetch <name>` writes;
 *   2. the system paths (`/usr/share/datasets/<name>`: Debian's `dataset-fashion-mnist`).
 * Never inside the installed package.
 */
import { expectOneOf, expectObject, expectString } from '../util/validate.js';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DATASET_NAMES = ['mnist', 'kmnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Environment variables (process.env or a stand-in). */
export type Env = Record<string, string | undefined>;

/** The folder that holds one sub-folder per dataset and receives downloads: $BIASLEARN_DATA, else the user cache. */
export function dataHome(env: Env = process.env): string {
  if (env.BIASLEARN_DATA) return resolve(env.BIASLEARN_DATA);
  const home = env.HOME || homedir();
  if (process.platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'biaslearn', 'Cache');
  if (process.platform === 'darwin') return join(home, 'Library', 'Caches', 'biaslearn');
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'biaslearn');
}

/** System-wide folders a distribution package installs a dataset to (read only). */
export function systemDataDirs(name: DatasetName): string[] {
  expectOneOf('name', name, DATASET_NAMES);
  return process.platform === 'win32' ? [] : [join('/usr/share/datasets', name), join('/usr/local/share/datasets', name)];
}

/** Every folder searched for `name`, in order: the data home, then the system paths. */
export function datasetSearchDirs(name: DatasetName, env: Env = process.env): string[] {
  expectOneOf('name', name, DATASET_NAMES);
  expectObject('env', env);
  return [join(dataHome(env), name), ...systemDataDirs(name)];
}

/** Which official splits a folder holds (any accepted spelling, gzipped or not). */
export function splitsIn(dir: string): ('train' | 'test')[] {
  expectString('dir', dir);
  const has = (prefix: string): boolean =>
    [`${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`].some(
      (b) => existsSync(join(dir, b)) || existsSync(join(dir, `${b}.gz`)),
    );
  return [...(has('train') ? (['train'] as const) : []), ...(has('t10k') ? (['test'] as const) : [])];
}

/**
 * The folder a named loader reads by default: the first searched folder that holds a split,
 * else the data home's folder (where `biaslearn data fetch` would put it; the loader's error
 * then lists every folder searched and the fetch command).
 */
export function datasetDir(name: DatasetName, env: Env = process.env): string {
  expectOneOf('name', name, DATASET_NAMES);
  expectObject('env', env);
  const dirs = datasetSearchDirs(name, env);
  return dirs.find((d) => splitsIn(d).length > 0) ?? dirs[0]!;
}

/** The command that downloads a dataset, for error messages (works from an app that depends on biaslearn). */
export function fetchCommand(name: DatasetName): string {
  return `npx biaslearn data fetch ${name}`;
}

/** "not found" advice: the fetch command and the folders searched. */
export function howToGetDataset(name: DatasetName, env: Env = process.env): string {
  const apt = name === 'fashion-mnist' ? ' (or `apt-get install -y dataset-fashion-mnist`)' : '';
  return `fetch it with \`${fetchCommand(name)}\`${apt}; searched ${datasetSearchDirs(name, env).join(', ')} (set BIASLEARN_DATA to use another folder, or pass { dir })`;
}
