/**
 * Loads the native addon. The CPU module (build/Release/biaslearn.node) is always built by
 * `npm install`; the CUDA module (biaslearn_cuda.node) only by `npm run build:cuda`, and is
 * loaded lazily the first time a model asks for `backend: 'cuda'`.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package_root.js';
import { cpuModuleCandidates } from './prebuilt.js';
import { BackendUnavailableError, BiasLearnError } from '../errors.js';

export { packageRoot };
import type { NativeModule } from './types.js';

export type BackendName = 'cpu' | 'cuda';

const require = createRequire(import.meta.url);

function candidates(file: string): string[] {
  const root = packageRoot();
  if (file === 'biaslearn.node') return cpuModuleCandidates(root);
  const fromEnv = process.env.BIASLEARN_BUILD_DIR;
  return [...(fromEnv ? [join(fromEnv, file)] : []), join(root, 'build', 'Release', file), join(root, 'build', 'Debug', file)];
}

const loaded = new Map<BackendName, NativeModule>();
const loadedFrom = new Map<BackendName, string>();

/** The file the module serving `backend` was loaded from (undefined before it is loaded). */
export function nativeModulePath(backend: BackendName): string | undefined {
  return loadedFrom.get(backend);
}

/** The native module that serves `backend`. Throws a typed error saying why it cannot load. */
export function nativeFor(backend: BackendName): NativeModule {
  const hit = loaded.get(backend);
  if (hit) return hit;
  const file = backend === 'cuda' ? 'biaslearn_cuda.node' : 'biaslearn.node';
  const path = candidates(file).find((p) => existsSync(p));
  if (!path) {
    if (backend === 'cuda') {
      throw new BackendUnavailableError(
        "backend 'cuda' is not built: run `npx biaslearn build-cuda` (`npm run build:cuda` in a clone) on a machine with the CUDA toolkit and cuBLAS",
      );
    }
    throw new BiasLearnError('E_NATIVE', `the native addon is not built (looked for ${candidates(file).join(', ')}); run \`npm install\` or \`npm run build\``);
  }
  let mod: NativeModule;
  try {
    mod = require(path) as NativeModule;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (backend === 'cuda') throw new BackendUnavailableError(`backend 'cuda' could not be loaded from ${path}: ${reason}`);
    throw new BiasLearnError('E_NATIVE', `the native addon at ${path} failed to load: ${reason}`, { cause: err });
  }
  loaded.set(backend, mod);
  loadedFrom.set(backend, path);
  return mod;
}

/** The always-present CPU module. */
export function native(): NativeModule {
  return nativeFor('cpu');
}
