/**
 * Every error typed (issue 14, point 5): a property-based test (fast-check, seeded) calls every
 * exported function, every static factory and constructor, and every method of the three model
 * kinds with generated wrong arguments, and asserts that whatever is thrown is a BiasLearnError
 * with an E_* code: never a TypeError, a RangeError or a crash. Calls may also succeed (a
 * generated argument can be valid, e.g. `undefined` for an optional one).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';

/** Exports not called here, with the reason. */
const SKIPPED: Record<string, string> = {
  fetchDataset: 'downloads over the network (its argument checks are in test/data.fetch.test.ts)',
  fetchFiles: 'downloads over the network',
  measureSgemm: 'a timing benchmark (its argument checks are in test/core.errors.test.ts)',
};

/** Wrong values of every JSON-ish kind (functions and symbols aside), including out-of-range numbers. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, '', 'x', -1, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 31, 2 ** 32 + 8, 2 ** 60),
  fc.constantFrom(true, false, [], {}, [1, 2], { a: 1 }, new Float32Array(3), new Int32Array(2), new Uint8Array(0), 10n),
  fc.integer({ min: -3, max: 9 }),
  fc.string({ maxLength: 6 }),
  fc.double({ noDefaultInfinity: false }),
  fc.array(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.string({ maxLength: 3 }), fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(
    fc.string({ maxLength: 5 }),
    fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(null), fc.string({ maxLength: 3 })),
    {
      maxKeys: 3,
      noNullPrototype: true,
    },
  ),
);

/** Methods that are not public API: TypeScript `private` ones and those documented `@internal`. */
function internalMethods(): Set<string> {
  const names = new Set<string>();
  for (const file of ['src/model/mlp.ts', 'src/model/native_model.ts', 'src/multitask/model.ts', 'src/rnn/rnn.ts']) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/^\s*private\s+(?:async\s+)?(\w+)\(/gm)) names.add(m[1]!);
    for (const m of text.matchAll(/\/\*\*\s*@internal[\s\S]*?\*\/\s*\n\s*(?:async\s+)?(\w+)\(/g)) names.add(m[1]!);
  }
  return names;
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const isClass = (f: unknown): boolean => typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f));

/** What a call did: 'ok', or the untyped error (a failure of the property). */
async function outcome(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    if (err instanceof lib.BiasLearnError && /^E_[A-Z_]+$/.test(err.code)) return 'ok';
    return `${(err as Error)?.name}: ${(err as Error)?.message}`;
  }
}

/**
 * Runs `call` with generated argument lists of 0 to `arity` + 1 wrong values (seeded); returns the
 * shrunk counterexample and its untyped error, or undefined when every call passed.
 */
async function propertyOf(
  name: string,
  arity: number,
  call: (args: unknown[]) => unknown,
  runs = 24,
): Promise<string | undefined> {
  const r = await fc.check(
    fc.asyncProperty(fc.array(wrong, { minLength: 0, maxLength: arity + 1 }), async (args) => {
      const got = await outcome(() => call(args));
      if (got !== 'ok') throw new Error(`${name}(${args.map((a) => fc.stringify(a)).join(', ')}) threw ${got}`);
    }),
    { seed: 14, numRuns: runs },
  );
  return r.failed ? String((r.errorInstance as Error)?.message ?? r.counterexample) : undefined;
}

let work: string;
let cwd: string;
let threads: number;
const savedData = process.env.BIASLEARN_DATA;
beforeAll(() => {
  // Writers called with generated file names write into a scratch folder; no dataset is found.
  work = mkdtempSync(join(tmpdir(), 'bl-api-errors-'));
  cwd = process.cwd();
  process.chdir(work);
  process.env.BIASLEARN_DATA = work;
  threads = lib.runtimeInfo().threads;
});
afterAll(() => {
  process.chdir(cwd);
  if (savedData === undefined) delete process.env.BIASLEARN_DATA;
  else process.env.BIASLEARN_DATA = savedData;
  lib.setThreads(threads);
  rmSync(work, { recursive: true, force: true });
});

const exported = Object.entries(lib as Record<string, unknown>);

describe('every public function rejects wrong arguments with a typed error (fast-check, seed 14)', () => {
  it('every exported function', async () => {
    const functions = exported.filter(([name, v]) => typeof v === 'function' && !isClass(v) && !(name in SKIPPED));
    expect(functions.length).toBeGreaterThan(80);
    const failures: string[] = [];
    for (const [name, f] of functions) {
      const failed = await propertyOf(name, (f as () => unknown).length, (args) => (f as (...a: unknown[]) => unknown)(...args));
      if (failed) failures.push(failed);
    }
    expect(failures).toEqual([]);
  });

  it('every exported class: its constructor and static factories', async () => {
    const classes = exported.filter(([, v]) => isClass(v)) as [
      string,
      (new (...a: unknown[]) => unknown) & Record<string, unknown>,
    ][];
    const failures: string[] = [];
    const privateConstructors = new Set<string>();
    for (const file of [
      'src/data/dataset.ts',
      'src/multitask/data.ts',
      'src/rnn/sequences.ts',
      'src/model/mlp.ts',
      'src/multitask/model.ts',
      'src/rnn/rnn.ts',
    ]) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(/export class (\w+)[^{]*\{(?:(?!\nexport class )[\s\S])*?\n\s*private constructor\(/g))
        privateConstructors.add(m[1]!);
    }
    expect([...privateConstructors].sort()).toEqual([
      'Dataset',
      'MLP',
      'MultitaskDataset',
      'MultitaskModel',
      'RNN',
      'SequenceDataset',
    ]);
    for (const [name, C] of classes) {
      // A private constructor (TypeScript) is not public API: its static factories are.
      const failed = privateConstructors.has(name)
        ? undefined
        : await propertyOf(`new ${name}`, C.length, (args) => new C(...args));
      if (failed) failures.push(failed);
      for (const key of Object.getOwnPropertyNames(C)) {
        const f = C[key];
        if (typeof f !== 'function' || isClass(f)) continue;
        const failedStatic = await propertyOf(`${name}.${key}`, f.length, async (args) => {
          const made = await (f as (...a: unknown[]) => unknown).apply(C, args);
          (made as { dispose?: () => void } | undefined)?.dispose?.();
        });
        if (failedStatic) failures.push(failedStatic);
      }
    }
    expect(failures).toEqual([]);
  });

  it('every method of the four model kinds', async () => {
    const models: [string, { dispose(): void }][] = [
      ['MLP', await lib.MLP.create({ inputSize: 3, hidden: [4], outputSize: 2, seed: 1 })],
      ['RNN', await lib.RNN.create({ inputSize: 1, hidden: 4, outputSize: 1, seed: 1 })],
      [
        'MultitaskModel',
        await lib.MultitaskModel.create({ inputSize: 3, hidden: [4], tasks: [{ name: 'a', classes: 2 }], seed: 1 }),
      ],
      ['EnergyNetwork', await lib.EnergyNetwork.create({ inputSize: 3, hidden: 4, outputSize: 2, seed: 1 })],
    ];
    const failures: string[] = [];
    try {
      for (const [kind, model] of models) {
        const internal = internalMethods();
        const methods = new Set<string>();
        for (let p = Object.getPrototypeOf(model); p && p !== Object.prototype; p = Object.getPrototypeOf(p))
          for (const key of Object.getOwnPropertyNames(p))
            if (key !== 'constructor' && key !== 'dispose' && !internal.has(key)) methods.add(key);
        expect(methods.size).toBeGreaterThan(8);
        for (const key of methods) {
          const f = (model as unknown as Record<string, unknown>)[key];
          if (typeof f !== 'function') continue;
          const failed = await propertyOf(
            `${kind}.${key}`,
            f.length,
            (args) => (f as (...a: unknown[]) => unknown).apply(model, args),
            16,
          );
          if (failed) failures.push(failed);
        }
      }
    } finally {
      for (const [, m] of models) m.dispose();
    }
    expect(failures).toEqual([]);
  });
});
