/** The typed error a call throws or rejects with (fails the test when it succeeds or throws anything else). */
import { expect } from 'vitest';
import { BiasLearnError } from '../../src/errors.js';

export async function errorOf(f: () => unknown): Promise<BiasLearnError> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(BiasLearnError);
    return err as BiasLearnError;
  }
  throw new Error('expected an error, but the call succeeded');
}
