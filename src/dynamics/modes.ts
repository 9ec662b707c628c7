/**
 * Per-mode learning ODEs of a data-aligned linear RNN (final-step loss, T -> infinity, learning
 * rate -> 0): each mode's (a, b, w) follows theta' = -Delta(theta), with teacher mode (a*, b*, w*),
 * feedback entry a-hat and trace leak w-hat. Derived in docs/dynamics.md (and in the research
 * notes, section 2.4); valid for |w|, |w*|, |w-hat| < 1:
 *
 *   Delta a (every rule) = a b^2/(1-w^2) - a* b b* / (1-w w*)
 *   bptt   Delta b = a^2 b/(1-w^2) - a a* b* / (1-w w*)
 *          Delta w = a^2 b^2 w/(1-w^2)^2 - a b a* b* w* / (1-w w*)^2
 *   tbptt  Delta b = a (a b - a* b*)                         (one-step truncation of B's gradient too)
 *          Delta w = a b [a b w/(1-w^2) - a* b* w* / (1-w w*)]
 *   rflo   Delta b = a-hat [a b/(1-w-hat w) - a* b* / (1-w-hat w*)]
 *          Delta w = a-hat [a b^2 w/((1-w^2)(1-w-hat w)) - a* b* b w* / ((1-w w*)(1-w-hat w*))]
 *   eprop  rflo with w-hat = w (the trace leaks with diag(W), which is w when the modes are neurons)
 *
 * Fixed points, Jacobians (central differences of the vector field) and their eigenvalues (LAPACK
 * dgeev, off the JS thread), and an RK4 integrator.
 */
import { eigenvaluesAsync, solveLinear } from '../analysis/linalg.js';
import { ValidationError } from '../errors.js';
import { expectNumber, expectOneOf } from '../util/validate.js';

export const DYNAMICS_RULES = ['bptt', 'tbptt', 'rflo', 'eprop'] as const;
export type DynamicsRule = (typeof DYNAMICS_RULES)[number];

/** One mode: readout a, input b, recurrent w. */
export interface ModeState {
  a: number;
  b: number;
  w: number;
}

/** The local rules' feedback entry a-hat (default 1) and RFLO's trace leak w-hat (default 0.5). */
export interface ModeRuleOptions {
  aHat?: number;
  wHat?: number;
}

export function checkRule(rule: unknown): DynamicsRule {
  return expectOneOf('rule', rule, DYNAMICS_RULES);
}

/** Delta(theta) of one mode for `rule` (the update is theta <- theta - lr Delta). */
export function modeDelta(rule: DynamicsRule, x: ModeState, t: ModeState, o: ModeRuleOptions = {}): ModeState {
  const { a, b, w } = x;
  const s = t.a * t.b;
  const c = 1 - w * w;
  const cx = 1 - w * t.w;
  const da = (a * b * b) / c - (t.a * b * t.b) / cx;
  if (rule === 'bptt')
    return { a: da, b: (a * a * b) / c - (a * s) / cx, w: (a * a * b * b * w) / (c * c) - (a * b * s * t.w) / (cx * cx) };
  if (rule === 'tbptt') return { a: da, b: a * (a * b - s), w: a * b * ((a * b * w) / c - (s * t.w) / cx) };
  const aHat = o.aHat ?? 1;
  const wHat = rule === 'eprop' ? w : (o.wHat ?? 0.5);
  const lx = 1 - wHat * w;
  const lt = 1 - wHat * t.w;
  return {
    a: da,
    b: aHat * ((a * b) / lx - s / lt),
    w: aHat * ((a * b * b * w) / (c * lx) - (s * b * t.w) / (cx * lt)),
  };
}

/** The mode's final-step loss for T -> infinity: 1/2 E (a h - a* h*)^2. */
export function modeLoss(x: ModeState, t: ModeState): number {
  return (
    0.5 *
    ((x.a * x.a * x.b * x.b) / (1 - x.w * x.w) -
      (2 * x.a * x.b * t.a * t.b) / (1 - x.w * t.w) +
      (t.a * t.a * t.b * t.b) / (1 - t.w * t.w))
  );
}

const vec = (x: ModeState): [number, number, number] => [x.a, x.b, x.w];
const state = (v: ArrayLike<number>): ModeState => ({ a: v[0]!, b: v[1]!, w: v[2]! });

/** The vector field theta' = -Delta(theta). */
export function modeVelocity(rule: DynamicsRule, x: ModeState, t: ModeState, o: ModeRuleOptions = {}): ModeState {
  const d = modeDelta(rule, x, t, o);
  return { a: -d.a, b: -d.b, w: -d.w };
}

export interface OdeTrajectory {
  /** Times (in units of lr x iterations) of the recorded points. */
  t: number[];
  states: ModeState[];
  losses: number[];
  /** Set when |w| reached 1 or a value went non-finite (the ODE left its domain). */
  diverged: boolean;
}

/** RK4 from x0 over [0, tEnd] with step dt, recording every `every` steps (and the last). */
export function integrateModeOde(
  rule: DynamicsRule,
  x0: ModeState,
  teacher: ModeState,
  o: ModeRuleOptions & { tEnd: number; dt?: number; every?: number },
): OdeTrajectory {
  const tEnd = expectNumber('tEnd', o.tEnd, 0);
  const dt = expectNumber('dt', o.dt ?? 1e-3, 1e-12);
  const steps = Math.ceil(tEnd / dt - 1e-9);
  const every = Math.max(1, Math.floor(o.every ?? Math.max(1, steps / 500)));
  const f = (v: number[]): number[] => vec(modeVelocity(rule, state(v), teacher, o));
  let v = vec(x0);
  const out: OdeTrajectory = { t: [0], states: [x0], losses: [modeLoss(x0, teacher)], diverged: false };
  for (let k = 1; k <= steps; k++) {
    const h = Math.min(dt, tEnd - (k - 1) * dt);
    const k1 = f(v);
    const k2 = f(v.map((x, i) => x + (h / 2) * k1[i]!));
    const k3 = f(v.map((x, i) => x + (h / 2) * k2[i]!));
    const k4 = f(v.map((x, i) => x + h * k3[i]!));
    v = v.map((x, i) => x + (h / 6) * (k1[i]! + 2 * k2[i]! + 2 * k3[i]! + k4[i]!)) as [number, number, number];
    if (!v.every(Number.isFinite) || Math.abs(v[2]!) >= 1) {
      out.diverged = true;
      break;
    }
    if (k % every === 0 || k === steps) {
      out.t.push(Math.min(tEnd, k * dt));
      out.states.push(state(v));
      out.losses.push(modeLoss(state(v), teacher));
    }
  }
  return out;
}

/** The Jacobian [3, 3] (row-major, rows a, b, w) of theta' = -Delta at x, by central differences. */
export function modeJacobian(rule: DynamicsRule, x: ModeState, t: ModeState, o: ModeRuleOptions = {}, h = 1e-6): Float64Array {
  const J = new Float64Array(9);
  const v = vec(x);
  for (let j = 0; j < 3; j++) {
    const up = [...v];
    const dn = [...v];
    up[j]! += h;
    dn[j]! -= h;
    const fu = vec(modeVelocity(rule, state(up), t, o));
    const fd = vec(modeVelocity(rule, state(dn), t, o));
    for (let i = 0; i < 3; i++) J[i * 3 + j] = (fu[i]! - fd[i]!) / (2 * h);
  }
  return J;
}

export interface ModeEigen {
  /** Real and imaginary parts, sorted by real part (descending). */
  re: number[];
  im: number[];
  /** Largest real part among the eigenvalues that are not the manifold's zero (|re| > zeroTol). */
  maxRe: number;
  /** No eigenvalue with real part above zeroTol. */
  stable: boolean;
}

/** Eigenvalues of the Jacobian at x (LAPACK dgeev on a worker). */
export async function modeEigenvalues(
  rule: DynamicsRule,
  x: ModeState,
  t: ModeState,
  o: ModeRuleOptions = {},
  zeroTol = 1e-6,
): Promise<ModeEigen> {
  const { re, im } = await eigenvaluesAsync(modeJacobian(rule, x, t, o), 3);
  const order = [0, 1, 2].sort((i, j) => re[j]! - re[i]!);
  const r = order.map((i) => re[i]!);
  const nonzero = r.filter((v) => Math.abs(v) > zeroTol);
  const maxRe = nonzero.length ? Math.max(...nonzero) : 0;
  return { re: r, im: order.map((i) => im[i]!), maxRe, stable: maxRe <= zeroTol };
}

/** The point of the optimal manifold {a b = a* b*, w = w*} with readout a = s. */
export function optimalPoint(s: number, t: ModeState): ModeState {
  if (s === 0) throw new ValidationError('E_INVALID_ARG', 'expected s != 0 on the optimal manifold (a b = a* b*)');
  return { a: s, b: (t.a * t.b) / s, w: t.w };
}

/** |Delta| at x: zero at a fixed point. */
export function modeResidual(rule: DynamicsRule, x: ModeState, t: ModeState, o: ModeRuleOptions = {}): number {
  const d = modeDelta(rule, x, t, o);
  return Math.hypot(d.a, d.b, d.w);
}

/**
 * A fixed point near x0 by damped Newton iteration (LAPACK solves; the Jacobian is singular along
 * a manifold of fixed points, so a small Tikhonov term keeps the solve well posed). Returns the
 * point, its residual |Delta| and whether it converged to tol.
 */
export async function findModeFixedPoint(
  rule: DynamicsRule,
  x0: ModeState,
  t: ModeState,
  o: ModeRuleOptions & { tol?: number; maxIter?: number } = {},
): Promise<{ point: ModeState; residual: number; converged: boolean; iterations: number }> {
  const tol = o.tol ?? 1e-10;
  let x = x0;
  let k = 0;
  for (; k < (o.maxIter ?? 100); k++) {
    const r = modeResidual(rule, x, t, o);
    if (r < tol) return { point: x, residual: r, converged: true, iterations: k };
    const J = modeJacobian(rule, x, t, o);
    const f = vec(modeVelocity(rule, x, t, o));
    // (J^T J + mu I) dx = -J^T f
    const mu = 1e-12 + 1e-6 * r;
    const JtJ = new Float64Array(9);
    const Jtf = new Float64Array(3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let q = 0; q < 3; q++) s += J[q * 3 + i]! * J[q * 3 + j]!;
        JtJ[i * 3 + j] = s + (i === j ? mu : 0);
      }
      for (let q = 0; q < 3; q++) Jtf[i]! -= J[q * 3 + i]! * f[q]!;
    }
    const dx = await solveLinear(JtJ, 3, Jtf, 1);
    x = { a: x.a + dx[0]!, b: x.b + dx[1]!, w: x.w + dx[2]! };
    if (!Number.isFinite(x.a + x.b + x.w) || Math.abs(x.w) >= 1) break;
  }
  const r = modeResidual(rule, x, t, o);
  return { point: x, residual: r, converged: r < tol, iterations: k };
}

/** The ODE's state at each of the increasing `times` (RK4 substeps of at most dt); null from where it left its domain. */
export function integrateModeOdeAt(
  rule: DynamicsRule,
  x0: ModeState,
  teacher: ModeState,
  times: number[],
  o: ModeRuleOptions & { dt?: number } = {},
): (ModeState | null)[] {
  const dtMax = expectNumber('dt', o.dt ?? 1e-3, 1e-12);
  const out: (ModeState | null)[] = [];
  let x: ModeState | null = x0;
  let now = 0;
  for (const target of times) {
    if (x !== null && target > now) {
      const n = Math.ceil((target - now) / dtMax);
      const tr = integrateModeOde(rule, x, teacher, { ...o, tEnd: target - now, dt: (target - now) / n, every: n });
      x = tr.diverged ? null : tr.states[tr.states.length - 1]!;
      now = target;
    }
    out.push(x);
  }
  return out;
}
