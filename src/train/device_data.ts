/**
 * Data uploaded to a backend once and reused: one WeakMap per kind of source, keyed by the source
 * object, so a native copy lives exactly as long as its (immutable) dataset. A failed upload is
 * forgotten, so the next call tries again.
 */
import type { Dataset } from '../data/dataset.js';
import { fromNativeError } from '../errors.js';
import { type BackendName, type Binding, nativeFor } from '../native/binding.js';

/** A per-source cache of uploads, each under a key (the backend, and whatever else selects it). */
export type UploadCache<S extends object, T> = WeakMap<S, Map<string, Promise<T>>>;

/** The upload of `source` under `key`, made by `make` on first use and shared after that. */
export function memoUpload<S extends object, T>(
  cache: UploadCache<S, T>,
  source: S,
  key: string,
  make: () => Promise<T>,
): Promise<T> {
  let perKey = cache.get(source);
  if (!perKey) {
    perKey = new Map();
    cache.set(source, perKey);
  }
  const known = perKey.get(key);
  if (known) return known;
  const entries = perKey;
  const p = make().catch((err: unknown) => {
    entries.delete(key);
    throw fromNativeError(err);
  });
  entries.set(key, p);
  return p;
}

const datasets: UploadCache<Dataset, Binding.Dataset> = new WeakMap();

export function deviceDataset(data: Dataset, backend: BackendName): Promise<Binding.Dataset> {
  return memoUpload(datasets, data, backend, () => {
    const t = data.targets;
    const mod = nativeFor(backend);
    return t.kind === 'classes'
      ? mod.createDataset(backend, data.x, data.inputSize, t.labels, t.numClasses, null, 0)
      : mod.createDataset(backend, data.x, data.inputSize, null, 0, t.values, t.width);
  });
}
