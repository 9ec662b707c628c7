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

export function expectNumber(
  name: string,
  v: unknown,
  min = -Infinity,
  max = Infinity,
  opts: { exclusiveMin?: boolean } = {},
): number {
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
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected one of ${allowed.map((a) => `'${a}'`).join(', ')} for ${name}, got ${describe(v)}`,
    );
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

/**
 * An evaluation's loss, which the docs promise finite: E_NONFINITE when the model's outputs overflow
 * float32 (inputs or parameters too large). fit's validation reports it as E_DIVERGED.
 */
export function expectFiniteLoss(loss: number): number {
  if (!Number.isFinite(loss))
    throw new ValidationError(
      'E_NONFINITE',
      `the loss is ${loss}: the model's outputs overflow float32 (inputs or parameters too large)`,
    );
  return loss;
}

/**
 * The keys of an options type, listed once: the compiler checks the record against `T` (a key
 * missing from the list or not in `T` fails to compile), so adding an option is one line here.
 */
export function optionKeys<T extends object>(keys: { readonly [K in keyof Required<T>]: true }): ReadonlySet<string> {
  return new Set(Object.keys(keys));
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Refuses an options object with a key outside `allowed` (a typo such as `epoch: 3` would
 * otherwise be ignored): E_INVALID_ARG naming the key and, when one is close, the likely intended one.
 * `undefined` (no options) passes; anything else that is not a plain object is refused.
 */
export function expectKnownKeys(what: string, options: unknown, allowed: ReadonlySet<string>): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError('E_INVALID_ARG', `expected an options object for ${what}, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (allowed.has(key)) continue;
    const near = [...allowed].find(
      (k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= Math.max(1, Math.floor(key.length / 4)),
    );
    const known = allowed.size ? `known keys: ${[...allowed].join(', ')}` : 'it takes no options';
    throw new ValidationError(
      'E_INVALID_ARG',
      `unknown option '${key}' for ${what}${near ? ` (did you mean '${near}'?)` : ''}; ${known}`,
    );
  }
}

/** An options argument: `undefined` is `{}`; anything but a plain object (null, an array, a number) is E_INVALID_ARG. */
export function expectOptions<T extends object>(what: string, v: T | undefined | null): T {
  if (v === undefined) return {} as T;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError('E_INVALID_ARG', `expected an options object for ${what}, got ${describe(v)}`);
  return v;
}

/** A non-empty string argument (a path, a name). */
export function expectString(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0)
    throw new ValidationError('E_INVALID_ARG', `expected a non-empty string for ${name}, got ${describe(v)}`);
  return v;
}

/** A plain object argument (not null, not an array). */
export function expectObject<T extends object>(name: string, v: unknown): T {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError('E_INVALID_ARG', `expected an object for ${name}, got ${describe(v)}`);
  return v as T;
}

/** A function argument (a callback, a schedule). */
export function expectFunction<T>(name: string, v: unknown): T {
  if (typeof v !== 'function') throw new ValidationError('E_INVALID_ARG', `expected a function for ${name}, got ${describe(v)}`);
  return v as T;
}

/** An array or typed array of numbers (length checks are the caller's). */
export function expectArrayLike(name: string, v: unknown): ArrayLike<number> {
  if (!(Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))))
    throw new ValidationError('E_INVALID_ARG', `expected an array of numbers for ${name}, got ${describe(v)}`);
  return v as unknown as ArrayLike<number>;
}

/** A model of this library (MLP, MultitaskModel, RNN): an object with a resolved `config.kind`. */
export function expectModel<T>(name: string, v: unknown, kinds: readonly string[]): T {
  const kind = (v as { config?: { kind?: unknown } } | null)?.config?.kind;
  if (typeof v !== 'object' || v === null || typeof kind !== 'string' || !kinds.includes(kind))
    throw new ValidationError('E_INVALID_ARG', `expected a model (${kinds.join(', ')}) for ${name}, got ${describe(v)}`);
  return v as T;
}
