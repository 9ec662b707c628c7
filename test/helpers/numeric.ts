/**
 * Numeric helpers shared by the core tests: seeded random arrays and closeness checks that
 * report the worst element (index, actual, expected, allowed) when they fail.
 */
import type { Rng } from '../../src/util/rng.js';

/** Float32 values uniform in [lo, hi), seeded; never all zero. */
export function randomF32(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

/** Float32 standard normals times `scale`, seeded. */
export function randomNormalF32(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * rng.normal();
  return out;
}

/** Int32 values uniform in [0, k). */
export function randomLabels(rng: Rng, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(k);
  return out;
}

export interface CloseReport {
  ok: boolean;
  /** Worst ratio |actual - expected| / allowed over all elements (<= 1 passes). */
  worstRatio: number;
  worstIndex: number;
  message: string;
}

/**
 * Elementwise |actual - expected| <= atol + rtol * scale_i, where scale_i is |expected_i| unless
 * `scale` gives a per-element magnitude (e.g. sum |a_ik b_kj| for a matrix product). Non-finite
 * actual values always fail (unless expected is the same non-finite value).
 */
export function checkClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  scale?: ArrayLike<number>,
): CloseReport {
  if (actual.length !== expected.length) {
    return { ok: false, worstRatio: Infinity, worstIndex: -1, message: `length ${actual.length} != expected ${expected.length}` };
  }
  let worst = 0;
  let wi = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(e)) {
      if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
      return { ok: false, worstRatio: Infinity, worstIndex: i, message: `index ${i}: got ${a}, expected ${e}` };
    }
    if (!Number.isFinite(a))
      return { ok: false, worstRatio: Infinity, worstIndex: i, message: `index ${i}: got non-finite ${a}, expected ${e}` };
    const allowed = atol + rtol * Math.abs(scale ? scale[i]! : e);
    const r = Math.abs(a - e) / allowed;
    if (r > worst || wi < 0) {
      worst = r;
      wi = i;
    }
  }
  const msg =
    wi < 0
      ? 'empty'
      : `worst at index ${wi}: got ${actual[wi]}, expected ${expected[wi]}, |diff| ${Math.abs(actual[wi]! - expected[wi]!)} vs allowed ${
          atol + rtol * Math.abs(scale ? scale[wi]! : expected[wi]!)
        } (ratio ${worst.toFixed(3)})`;
  return { ok: worst <= 1, worstRatio: worst, worstIndex: wi, message: msg };
}

/** Throws with a descriptive message unless checkClose passes. */
export function assertClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  scale?: ArrayLike<number>,
): void {
  const r = checkClose(actual, expected, atol, rtol, scale);
  if (!r.ok) throw new Error(`${what}: not close (atol ${atol}, rtol ${rtol}): ${r.message}`);
}

/** True when every element has the same bit pattern (compares Uint32 views of float32 data). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Index of the first differing bit pattern, or -1. */
export function firstBitDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** ||a - b|| / max(||b||, floor). */
export function relNormError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-8): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    const t = a[i]! - b[i]!;
    d += t * t;
  }
  return Math.sqrt(d) / Math.max(norm(b), floor);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
