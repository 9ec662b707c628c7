/**
 * A small written schema checker for JSON read from files (checkpoint headers): every field has a
 * type and a range, required unless listed as optional, and unknown fields are refused. A failure
 * is a {@link SchemaError} naming the field's path ("model.layers[1].trainBias: expected a boolean,
 * got null"); callers turn it into their own typed error.
 */
import { describe } from '../util/validate.js';

export type Schema =
  | { t: 'int'; min: number; max: number }
  | { t: 'num'; min?: number; max?: number; exclusiveMin?: boolean }
  | { t: 'bool' }
  | { t: 'str'; maxLength: number }
  | { t: 'enum'; of: readonly string[] }
  | { t: 'obj'; fields: Readonly<Record<string, Schema>>; optional?: readonly string[] }
  | { t: 'arr'; of: Schema; min: number; max: number }
  | { t: 'nullable'; of: Schema }
  | { t: 'either'; of: readonly Schema[]; what: string }
  /** Any plain JSON object (free-form metadata). */
  | { t: 'record' };

export class SchemaError extends Error {}

export const int = (min: number, max: number): Schema => ({ t: 'int', min, max });
export const num = (min = -Infinity, max = Infinity, exclusiveMin = false): Schema => ({ t: 'num', min, max, exclusiveMin });
export const bool: Schema = { t: 'bool' };
export const str = (maxLength: number): Schema => ({ t: 'str', maxLength });
export const oneOf = (of: readonly string[]): Schema => ({ t: 'enum', of });
export const obj = (fields: Record<string, Schema>, optional: readonly string[] = []): Schema => ({ t: 'obj', fields, optional });
export const arr = (of: Schema, min: number, max: number): Schema => ({ t: 'arr', of, min, max });
export const nullable = (of: Schema): Schema => ({ t: 'nullable', of });
export const either = (what: string, ...of: Schema[]): Schema => ({ t: 'either', of, what });
export const record: Schema = { t: 'record' };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws a {@link SchemaError} at the first field of `v` that `s` refuses. */
export function checkSchema(s: Schema, v: unknown, where: string): void {
  const fail = (expected: string): never => {
    throw new SchemaError(`${where}: expected ${expected}, got ${describe(v)}`);
  };
  switch (s.t) {
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < s.min || v > s.max) fail(`an integer in [${s.min}, ${s.max}]`);
      return;
    case 'num': {
      const min = s.min ?? -Infinity;
      const max = s.max ?? Infinity;
      const low = s.exclusiveMin ? (v as number) <= min : (v as number) < min;
      if (typeof v !== 'number' || !Number.isFinite(v) || low || v > max)
        fail(`a finite number ${s.exclusiveMin ? '>' : '>='} ${min}${max === Infinity ? '' : ` and <= ${max}`}`);
      return;
    }
    case 'bool':
      if (typeof v !== 'boolean') fail('a boolean');
      return;
    case 'str':
      if (typeof v !== 'string' || v.length > s.maxLength) fail(`a string of at most ${s.maxLength} characters`);
      return;
    case 'enum':
      if (typeof v !== 'string' || !s.of.includes(v)) fail(`one of ${s.of.map((x) => `'${x}'`).join(', ')}`);
      return;
    case 'record':
      if (!isPlainObject(v)) fail('an object');
      return;
    case 'nullable':
      if (v !== null) checkSchema(s.of, v, where);
      return;
    case 'either':
      for (const option of s.of) {
        try {
          checkSchema(option, v, where);
          return;
        } catch (err) {
          if (!(err instanceof SchemaError)) throw err;
        }
      }
      fail(s.what);
      return;
    case 'arr':
      if (!Array.isArray(v) || v.length < s.min || v.length > s.max) fail(`an array of ${s.min} to ${s.max} entries`);
      (v as unknown[]).forEach((x, i) => {
        checkSchema(s.of, x, `${where}[${i}]`);
      });
      return;
    case 'obj': {
      if (!isPlainObject(v)) fail('an object');
      const o = v as Record<string, unknown>;
      for (const key of Object.keys(o))
        if (!Object.hasOwn(s.fields, key)) throw new SchemaError(`${where}: unknown field '${key.slice(0, 64)}'`);
      for (const [key, fs] of Object.entries(s.fields)) {
        if (!Object.hasOwn(o, key)) {
          if (s.optional?.includes(key)) continue;
          throw new SchemaError(`${where}: missing field '${key}'`);
        }
        checkSchema(fs, o[key], `${where}.${key}`);
      }
      return;
    }
  }
}

/** The path of the first place where two JSON values differ (key order ignored), or undefined. */
export function firstDifference(a: unknown, b: unknown, where: string): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
    return where;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    const d = firstDifference(ao[k], bo[k], Array.isArray(a) ? `${where}[${k}]` : `${where}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}
