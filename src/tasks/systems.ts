/**
 * Dynamical systems for the RNN tasks, integrated in float64 with classical fourth-order
 * Runge-Kutta (fixed step). Every trajectory is a pure function of its arguments.
 */
import { expectFunction, describe, expectNumber, expectArrayLike, expectObject, expectInt } from '../util/validate.js';
import { ValidationError } from '../errors.js';

/** Most values one integrated trajectory may hold (samples x dimensions). */
export const MAX_TRAJECTORY_VALUES = 1 << 28;

export type Vector = Float64Array;
/** A vector field dx/dt = f(t, x), written into `out`. */
export type Field = (t: number, x: Vector, out: Vector) => void;

/** One RK4 step of size h from x (in place). */
export function rk4Step(f: Field, t: number, x: Vector, h: number): void {
  expectFunction('f', f);
  if (!(x instanceof Float64Array))
    throw new ValidationError('E_INVALID_ARG', `expected a Float64Array for x, got ${describe(x)}`);
  expectNumber('t', t);
  expectNumber('h', h);
  const n = x.length;
  const k1 = new Float64Array(n),
    k2 = new Float64Array(n),
    k3 = new Float64Array(n),
    k4 = new Float64Array(n),
    y = new Float64Array(n);
  f(t, x, k1);
  for (let i = 0; i < n; i++) y[i] = x[i]! + 0.5 * h * k1[i]!;
  f(t + 0.5 * h, y, k2);
  for (let i = 0; i < n; i++) y[i] = x[i]! + 0.5 * h * k2[i]!;
  f(t + 0.5 * h, y, k3);
  for (let i = 0; i < n; i++) y[i] = x[i]! + h * k3[i]!;
  f(t + h, y, k4);
  for (let i = 0; i < n; i++) x[i] = x[i]! + (h / 6) * (k1[i]! + 2 * k2[i]! + 2 * k3[i]! + k4[i]!);
}

/**
 * Samples of dx/dt = f(t, x) from x0: `samples` states spaced `dt` apart (the first is x0),
 * each sample interval integrated with `substeps` RK4 steps. Returns [samples, dim] row-major.
 */
export function integrate(f: Field, x0: ArrayLike<number>, dt: number, samples: number, substeps = 1): Float64Array {
  expectFunction('f', f);
  expectArrayLike('x0', x0);
  if (Number.isSafeInteger(samples) && samples * Math.max(1, x0.length) > MAX_TRAJECTORY_VALUES)
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected at most ${MAX_TRAJECTORY_VALUES} values in a trajectory, got ${samples} x ${x0.length}`,
    );
  if (!(dt > 0) || !Number.isInteger(samples) || samples < 1 || !Number.isInteger(substeps) || substeps < 1) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected dt > 0, samples >= 1 and substeps >= 1, got ${dt}, ${samples}, ${substeps}`,
    );
  }
  const dim = x0.length;
  const x = Float64Array.from(x0);
  const out = new Float64Array(samples * dim);
  const h = dt / substeps;
  let t = 0;
  for (let s = 0; s < samples; s++) {
    out.set(x, s * dim);
    for (let k = 0; k < substeps; k++) {
      rk4Step(f, t, x, h);
      t += h;
    }
  }
  return out;
}

/** Van der Pol oscillator x'' - mu (1 - x^2) x' + x = 0 as (x, y = x'). */
export function vanDerPolField(mu: number): Field {
  return (_t, s, out) => {
    out[0] = s[1]!;
    out[1] = mu * (1 - s[0]! * s[0]!) * s[1]! - s[0]!;
  };
}

/** Lorenz system with (sigma, rho, beta). */
export function lorenzField(sigma = 10, rho = 28, beta = 8 / 3): Field {
  return (_t, s, out) => {
    out[0] = sigma * (s[1]! - s[0]!);
    out[1] = s[0]! * (rho - s[2]!) - s[1]!;
    out[2] = s[0]! * s[1]! - beta * s[2]!;
  };
}

/**
 * Mackey-Glass delay equation dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t),
 * integrated with RK4 at step h (tau / h must be an integer; the delayed value at half steps
 * is the mean of its neighbours), constant history x0 for t <= 0. Returns `samples` values
 * spaced `dt` apart (dt / h an integer), after discarding `transient` time units.
 */
export function mackeyGlass(opts: {
  samples: number;
  dt?: number;
  tau?: number;
  beta?: number;
  gamma?: number;
  n?: number;
  h?: number;
  x0?: number;
  transient?: number;
}): Float64Array {
  expectObject('mackeyGlass options', opts);
  expectInt('samples', opts.samples, 1, MAX_TRAJECTORY_VALUES);
  const { samples } = opts;
  const dt = opts.dt ?? 1;
  const tau = opts.tau ?? 17;
  const beta = opts.beta ?? 0.2;
  const gamma = opts.gamma ?? 0.1;
  const n = opts.n ?? 10;
  const h = opts.h ?? 0.1;
  const lag = Math.round(tau / h);
  const every = Math.round(dt / h);
  if (Math.abs(lag * h - tau) > 1e-9 || Math.abs(every * h - dt) > 1e-9 || lag < 1 || every < 1) {
    throw new ValidationError('E_INVALID_ARG', `expected tau and dt to be multiples of h = ${h}, got tau ${tau}, dt ${dt}`);
  }
  const skip = Math.round((opts.transient ?? 500) / h);
  const total = skip + samples * every;
  const x = new Float64Array(total + lag + 1).fill(opts.x0 ?? 1.2);
  const f = (xt: number, xd: number): number => (beta * xd) / (1 + xd ** n) - gamma * xt;
  for (let i = lag; i < lag + total; i++) {
    const d0 = x[i - lag]!,
      d1 = x[i - lag + 1]!,
      dm = 0.5 * (d0 + d1);
    const xi = x[i]!;
    const k1 = f(xi, d0);
    const k2 = f(xi + 0.5 * h * k1, dm);
    const k3 = f(xi + 0.5 * h * k2, dm);
    const k4 = f(xi + h * k3, d1);
    x[i + 1] = xi + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  const out = new Float64Array(samples);
  for (let s = 0; s < samples; s++) out[s] = x[lag + skip + s * every]!;
  return out;
}
