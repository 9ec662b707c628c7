/**
 * Option-value parsers for commander. Each throws InvalidArgumentError with a short reason, which
 * commander turns into "error: option '--x <v>' argument 'v' is invalid. <reason>" (exit code 2).
 */
import { InvalidArgumentError } from 'commander';
import { TRAINABLE_SETS } from '../model/config.js';

const INT = /^[+]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function intParser(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const v = Number(value.trim());
    if (!INT.test(value.trim()) || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `Expected an integer >= ${min}.` : `Expected an integer in [${min}, ${max}].`,
      );
    }
    return v;
  };
}

export interface FloatRange {
  min?: number;
  max?: number;
  /** Exclude the bound itself. */
  minOpen?: boolean;
  maxOpen?: boolean;
}

function rangeText(r: FloatRange): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`${r.minOpen ? '>' : '>='} ${r.min}`);
  if (r.max !== undefined) parts.push(`${r.maxOpen ? '<' : '<='} ${r.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

export function floatParser(r: FloatRange = {}): (value: string) => number {
  return (value) => {
    const v = Number(value.trim());
    const ok =
      FLOAT.test(value.trim()) &&
      Number.isFinite(v) &&
      (r.min === undefined || (r.minOpen ? v > r.min : v >= r.min)) &&
      (r.max === undefined || (r.maxOpen ? v < r.max : v <= r.max));
    if (!ok) throw new InvalidArgumentError(`Expected a number${rangeText(r)}.`);
    return v;
  };
}

/** "4096" or "1024,1024": positive integers. */
export function intListParser(what: string, min = 1): (value: string) => number[] {
  return (value) => {
    const parts = value.split(',').map((s) => s.trim());
    if (parts.length === 0 || parts.some((p) => !INT.test(p) || !Number.isSafeInteger(Number(p)) || Number(p) < min)) {
      throw new InvalidArgumentError(`Expected ${what}: comma-separated integers >= ${min}, e.g. 256,1024.`);
    }
    return parts.map(Number);
  };
}

/** Comma-separated choices, each once. */
export function choiceListParser<T extends string>(choices: readonly T[]): (value: string) => T[] {
  return (value) => {
    const parts = value.split(',').map((s) => s.trim());
    const bad = parts.filter((p) => !(choices as readonly string[]).includes(p));
    if (bad.length || parts.length === 0) {
      throw new InvalidArgumentError(
        `Expected a comma-separated list of ${choices.join(', ')}; got '${bad.join(',') || value}'.`,
      );
    }
    return [...new Set(parts)] as T[];
  };
}

export const trainListParser = choiceListParser(TRAINABLE_SETS);

/** A fraction in [0, 1) or the word 'test'. */
export function validationParser(value: string): number | 'test' {
  if (value.trim() === 'test') return 'test';
  try {
    return floatParser({ min: 0, max: 1, maxOpen: true })(value);
  } catch {
    throw new InvalidArgumentError(`Expected a fraction >= 0 and < 1, or 'test'.`);
  }
}
