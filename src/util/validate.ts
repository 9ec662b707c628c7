/** Small argument checks that throw {@link ValidationError} with "expected X for Y, got Z" messages. */
import { ValidationError } from '../errors.js';

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}

export function expectInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new ValidationError('E_INVALID_ARG', `expected an integer ${range} for ${name}, got ${describe(v)}`);
  }
  return v;
}

export function expectNumber(name: string, v: unknown, min = -Infinity, max = Infinity, opts: { exclusiveMin?: boolean } = {}): number {
  const bad = typeof v !== 'number' || !Number.isFinite(v) || (opts.exclusiveMin ? v <= min : v < min) || v > max;
  if (bad) {
    const lo = opts.exclusiveMin ? `> ${min}` : `>= ${min}`;
    const range = max === Infinity ? lo : `${lo} and <= ${max}`;
    throw new ValidationError('E_INVALID_ARG', `expected a finite number ${range} for ${name}, got ${describe(v)}`);
  }
  return v as number;
}

export function expectOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ValidationError('E_INVALID_ARG', `expected one of ${allowed.map((a) => `'${a}'`).join(', ')} for ${name}, got ${describe(v)}`);
  }
  return v as T;
}

export function expectFloat32(name: string, v: unknown, length?: number): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new ValidationError('E_DTYPE', `expected a Float32Array for ${name}, got ${describe(v)}`);
  }
  if (length !== undefined && v.length !== length) {
    throw new ValidationError('E_SHAPE', `expected ${length} elements for ${name}, got ${v.length}`);
  }
  return v;
}

/** Throws E_NONFINITE naming the first NaN/Inf element. */
export function expectFinite(name: string, v: Float32Array | Float64Array, rowLength = 0): void {
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x - x !== 0) {
      const where = rowLength > 0 ? `row ${Math.floor(i / rowLength)}, column ${i % rowLength}` : `index ${i}`;
      throw new ValidationError('E_NONFINITE', `expected finite values in ${name}, got ${x} at ${where}`);
    }
  }
}
