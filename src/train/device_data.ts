/**
 * Uploads a Dataset to a backend once and reuses it: a WeakMap keyed by the Dataset, so the
 * native copy lives exactly as long as the Dataset object (datasets are immutable).
 */
import type { Dataset } from '../data/dataset.js';
import { fromNativeError } from '../errors.js';
import { nativeFor, type BackendName } from '../native/binding.js';
import type { NativeDataset } from '../native/types.js';

const cache = new WeakMap<Dataset, Map<BackendName, Promise<NativeDataset>>>();

export function deviceDataset(data: Dataset, backend: BackendName): Promise<NativeDataset> {
  let perBackend = cache.get(data);
  if (!perBackend) {
    perBackend = new Map();
    cache.set(data, perBackend);
  }
  let p = perBackend.get(backend);
  if (!p) {
    const t = data.targets;
    const mod = nativeFor(backend);
    p = (
      t.kind === 'classes'
        ? mod.createDataset(backend, data.x, data.inputSize, t.labels, t.numClasses, null, 0)
        : mod.createDataset(backend, data.x, data.inputSize, null, 0, t.values, t.width)
    ).catch((err: unknown) => {
      perBackend!.delete(backend);
      throw fromNativeError(err);
    });
    perBackend.set(backend, p);
  }
  return p;
}
