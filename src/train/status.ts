/** Up-front descriptions of long native steps (sent to callbacks' onStatus and printed by ProgressBar). */

/** "123.4 MiB" / "1.21 GiB". */
export function bytesText(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Steps below this many flops take well under a second: no status line for them. */
export const STATUS_MIN_FLOPS = 1e9;

/**
 * The input-layer cache P = X W_0^T of n rows [n, H] from inputs [n, I]: its memory and its cost
 * (2 n I H flops, one gemm; about a second per 100 GFLOP on a few CPU cores with OpenBLAS).
 * Undefined below {@link STATUS_MIN_FLOPS}.
 */
export function inputCacheMessage(n: number, I: number, H: number): string | undefined {
  const gflop = (2 * n * I * H) / 1e9;
  if (gflop * 1e9 < STATUS_MIN_FLOPS) return undefined;
  return `building the input-layer cache X W0^T: ${n} x ${H} floats (${bytesText(n * H * 4)}), one ${gflop.toFixed(1)} GFLOP product, then reused every step`;
}
