/**
 * A float64 reference of the energy network (native/contrastive/energy_net.h), the spec the native
 * passes are checked against: the relaxation (Gauss-Seidel over layers 1 .. L, state from zero),
 * the loss, dE/dtheta, and the exact gradient at the free equilibrium by a dense linear solve
 * g = (I - D W~)^-1 D dC/dU (independent of the native adjoint iteration).
 *
 * Shapes: sizes [n_0 = I, ..., n_L = O]; W[l] [n_{l+1} * n_l] row-major; b[l] [n_{l+1}];
 * one sample at a time (x [I], y [O]).
 */
import type { Activation } from '../../src/model/activation.js';
import { actDerivRef, actRef } from './activations.js';

export interface RefNet {
  sizes: number[];
  W: Float64Array[];
  b: Float64Array[];
  act: Activation;
  outAct: Activation;
}

/** Per layer k = 1 .. L (index k - 1). */
export interface RefState {
  z: Float64Array[];
  u: Float64Array[];
}

export function zeroState(net: RefNet): RefState {
  const L = net.sizes.length - 1;
  return {
    z: Array.from({ length: L }, (_, k) => new Float64Array(net.sizes[k + 1]!)),
    u: Array.from({ length: L }, (_, k) => new Float64Array(net.sizes[k + 1]!)),
  };
}

export function copyState(s: RefState): RefState {
  return { z: s.z.map((v) => v.slice()), u: s.u.map((v) => v.slice()) };
}

/** Drive of layer k (1-based): W_{k-1} U_{k-1} + W_k^T U_{k+1} + b_k. */
function drive(net: RefNet, x: ArrayLike<number>, s: RefState, k: number): Float64Array {
  const L = net.sizes.length - 1;
  const n = net.sizes[k]!,
    m = net.sizes[k - 1]!;
  const below = k === 1 ? x : s.u[k - 2]!;
  const d = Float64Array.from(net.b[k - 1]!);
  const Wd = net.W[k - 1]!;
  for (let i = 0; i < n; i++) {
    let a = 0;
    for (let j = 0; j < m; j++) a += Wd[i * m + j]! * below[j]!;
    d[i] = d[i]! + a;
  }
  if (k < L) {
    const p = net.sizes[k + 1]!;
    const Wu = net.W[k]!;
    const above = s.u[k]!;
    for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) d[i] = d[i]! + Wu[j * n + i]! * above[j]!;
  }
  return d;
}

/**
 * `steps` steps at nudge beta(t) (a number or a function of the step), output clamped when
 * `clamp`; modifies s. Returns max |dU| of the last step.
 */
export function relaxRef(
  net: RefNet,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  s: RefState,
  steps: number,
  eps: number,
  beta: number | ((t: number) => number),
  clamp = false,
  onStep?: (t: number, s: RefState) => void,
): number {
  const L = net.sizes.length - 1;
  let last = 0;
  for (let t = 0; t < steps; t++) {
    last = 0;
    const bt = typeof beta === 'number' ? beta : beta(t);
    for (let k = 1; k <= L; k++) {
      if (k === L && clamp) continue;
      const d = drive(net, x, s, k);
      const act = k === L ? net.outAct : net.act;
      const z = s.z[k - 1]!,
        u = s.u[k - 1]!;
      for (let i = 0; i < z.length; i++) {
        const nudge = k === L && bt !== 0 ? bt * (u[i]! - y[i]!) : 0;
        z[i] = (1 - eps) * z[i]! + eps * (d[i]! - nudge);
        const un = actRef(act, z[i]!);
        last = Math.max(last, Math.abs(un - u[i]!));
        u[i] = un;
      }
    }
    onStep?.(t, s);
  }
  return last;
}

export function lossRef(net: RefNet, s: RefState, y: ArrayLike<number>): number {
  const u = s.u[net.sizes.length - 2]!;
  let c = 0;
  for (let o = 0; o < u.length; o++) c += 0.5 * (u[o]! - y[o]!) ** 2;
  return c;
}

/** dE/dtheta at s: bias l -> -U_{l+1}; weight l -> -U_{l+1} U_l^T (U_0 = x). Concatenated per tensor name. */
export function energyGradRef(net: RefNet, x: ArrayLike<number>, s: RefState): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  const L = net.sizes.length - 1;
  for (let l = 0; l < L; l++) {
    const up = s.u[l]!,
      lo = l === 0 ? x : s.u[l - 1]!;
    out[`layers.${l}.bias`] = Float64Array.from(up, (v) => -v);
    const w = new Float64Array(up.length * lo.length);
    for (let i = 0; i < up.length; i++) for (let j = 0; j < lo.length; j++) w[i * lo.length + j] = -up[i]! * lo[j]!;
    out[`layers.${l}.weight`] = w;
  }
  return out;
}

/** Solves A v = r in place (Gaussian elimination with partial pivoting), A [n*n] row-major. */
function solve(A: Float64Array, r: Float64Array, n: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(A[i * n + c]!) > Math.abs(A[p * n + c]!)) p = i;
    if (p !== c) {
      for (let j = 0; j < n; j++) [A[c * n + j], A[p * n + j]] = [A[p * n + j]!, A[c * n + j]!];
      [r[c], r[p]] = [r[p]!, r[c]!];
    }
    for (let i = c + 1; i < n; i++) {
      const f = A[i * n + c]! / A[c * n + c]!;
      if (f === 0) continue;
      for (let j = c; j < n; j++) A[i * n + j] = A[i * n + j]! - f * A[c * n + j]!;
      r[i] = r[i]! - f * r[c]!;
    }
  }
  const v = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let a = r[i]!;
    for (let j = i + 1; j < n; j++) a -= A[i * n + j]! * v[j]!;
    v[i] = a / A[i * n + i]!;
  }
  return v;
}

/** dL/dtheta at the free equilibrium s (one sample): g = (I - D W~)^-1 D dC/dU, then per tensor. */
export function exactGradRef(net: RefNet, x: ArrayLike<number>, y: ArrayLike<number>, s: RefState): Record<string, Float64Array> {
  const L = net.sizes.length - 1;
  const off: number[] = [0];
  for (let k = 1; k <= L; k++) off.push(off[k - 1]! + net.sizes[k]!);
  const N = off[L]!;
  const A = new Float64Array(N * N);
  const r = new Float64Array(N);
  const dz: number[] = [];
  for (let k = 1; k <= L; k++) {
    const act = k === L ? net.outAct : net.act;
    for (let i = 0; i < net.sizes[k]!; i++) dz.push(actDerivRef(act, s.z[k - 1]![i]!));
  }
  for (let i = 0; i < N; i++) A[i * N + i] = 1;
  for (let l = 1; l < L; l++) {
    // W_l couples layers l and l+1: W~[l+1, l] = W_l, W~[l, l+1] = W_l^T
    const n = net.sizes[l]!,
      p = net.sizes[l + 1]!;
    for (let i = 0; i < p; i++)
      for (let j = 0; j < n; j++) {
        const w = net.W[l]![i * n + j]!;
        const a = off[l]! + i,
          bcol = off[l - 1]! + j;
        A[a * N + bcol] = A[a * N + bcol]! - dz[a]! * w;
        A[bcol * N + a] = A[bcol * N + a]! - dz[bcol]! * w;
      }
  }
  const uL = s.u[L - 1]!;
  for (let o = 0; o < uL.length; o++) r[off[L - 1]! + o] = dz[off[L - 1]! + o]! * (uL[o]! - y[o]!);
  const g = solve(A, r, N);
  const out: Record<string, Float64Array> = {};
  for (let l = 0; l < L; l++) {
    const gu = g.subarray(off[l]!, off[l + 1]!);
    out[`layers.${l}.bias`] = Float64Array.from(gu);
    const lo = l === 0 ? x : s.u[l - 1]!;
    const up = s.u[l]!;
    const gl = l === 0 ? null : g.subarray(off[l - 1]!, off[l]!);
    const w = new Float64Array(up.length * lo.length);
    for (let i = 0; i < up.length; i++)
      for (let j = 0; j < lo.length; j++) w[i * lo.length + j] = gu[i]! * lo[j]! + (gl ? up[i]! * gl[j]! : 0);
    out[`layers.${l}.weight`] = w;
  }
  return out;
}

/** Mean over samples of per-sample gradients (same tensor names). */
export function meanGrads(list: Record<string, Float64Array>[]): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const name of Object.keys(list[0]!)) {
    const acc = new Float64Array(list[0]![name]!.length);
    for (const g of list) for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + g[name]![i]! / list.length;
    out[name] = acc;
  }
  return out;
}

export function flat(grads: Record<string, ArrayLike<number>>, names: string[]): Float64Array {
  return Float64Array.from(names.flatMap((n) => Array.from(grads[n]!)));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0,
    r = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - ref[i]!) ** 2;
    r += ref[i]! ** 2;
  }
  return Math.sqrt(d / r);
}

/** Least-squares slope of log(err) against log(beta). */
export function logLogSlope(betas: number[], errs: number[]): number {
  const xs = betas.map(Math.log),
    ys = errs.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / xs.length,
    my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0,
    den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}
