/**
 * Data-parallel sharding of an epoch: every rank holds the same global order (same seed), cuts it
 * into global batches of `batchSize`, and takes its contiguous share of each: batchSize / size
 * samples of a full batch, floor(r / size) of a last batch of r (the r mod size samples left over
 * are not trained this epoch; a last batch smaller than the rank count is skipped). Every rank thus
 * runs the same number of steps on equal shards, so summed mean gradients divided by the rank count
 * are the global batch's mean gradient.
 */
import { ValidationError } from '../errors.js';

/** This rank's samples of `order`, and its per-rank batch size (batchSize / size). */
export function shardOrder(
  order: Int32Array,
  batchSize: number,
  rank: number,
  size: number,
): { local: Int32Array; batch: number } {
  if (batchSize % size !== 0)
    throw new ValidationError(
      'E_CONFIG',
      `data-parallel training needs a global batch size divisible by the ${size} ranks, got batchSize ${batchSize}`,
    );
  const per = batchSize / size;
  const n = order.length;
  const parts: Int32Array[] = [];
  let total = 0;
  for (let s = 0; s < n; s += batchSize) {
    const share = Math.floor(Math.min(batchSize, n - s) / size);
    if (share === 0) continue;
    const part = order.subarray(s + rank * share, s + (rank + 1) * share);
    parts.push(part);
    total += part.length;
  }
  const local = new Int32Array(total);
  let at = 0;
  for (const p of parts) {
    local.set(p, at);
    at += p.length;
  }
  return { local, batch: per };
}
