/**
 * float64 references of bfloat16 rounding and of the bf16 products (docs/precision.md), written
 * from the definition rather than from the native bit trick: a finite x rounds to the nearest
 * multiple of its bf16 quantum 2^(e - 7) (e = floor(log2 |x|), at least -126: subnormals share
 * float32's exponent range), ties to the even multiple; past the largest bf16 it becomes infinity.
 */
export function bf16Ref(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const ax = Math.abs(x);
  let e = Math.floor(Math.log2(ax));
  if (2 ** e > ax) e--;
  if (2 ** (e + 1) <= ax) e++;
  e = Math.max(e, -126);
  const q = 2 ** (e - 7);
  const r = ax / q;
  let n = Math.floor(r);
  const frac = r - n;
  if (frac > 0.5 || (frac === 0.5 && n % 2 === 1)) n++;
  return Math.sign(x) * Math.fround(n * q);
}

/** Every element rounded with bf16Ref (NaN stays NaN). */
export function bf16RefArray(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => (Number.isNaN(v) ? Number.NaN : bf16Ref(v)));
}

/** Float32 values from raw bit patterns. */
export function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** The raw bit pattern of each float32. */
export function bitsOf(x: Float32Array): number[] {
  return [...new Uint32Array(x.buffer, x.byteOffset, x.length)];
}

/**
 * Y[M,N] = alpha bf16(X)[M,K] W^T + beta Y in float64, W [N,K] already bf16 values; also the
 * per-element magnitude alpha sum_k |x w| + |beta y| the tolerance scales with.
 */
export function frozenMatmulRef(
  M: number,
  N: number,
  K: number,
  alpha: number,
  X: ArrayLike<number>,
  W: ArrayLike<number>,
  beta: number,
  Y: ArrayLike<number>,
): { ref: Float64Array; scale: Float64Array } {
  const xr = bf16RefArray(X);
  const ref = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      let a = 0;
      for (let k = 0; k < K; k++) {
        const p = xr[m * K + k]! * W[n * K + k]!;
        s += p;
        a += Math.abs(p);
      }
      ref[m * N + n] = alpha * s + beta * Y[m * N + n]!;
      scale[m * N + n] = Math.abs(alpha) * a + Math.abs(beta * Y[m * N + n]!);
    }
  return { ref, scale };
}
