/**
 * Walks every backend op (native/backend/backend.h BL_OPS, exported as info().ops) on every
 * available backend ('cpu'; 'cuda' when built and a device initialises):
 *   - the op has a float64 reference test: one of the kernel test files below, each of which runs
 *     on every available backend, calls the kernel probe with the op's name; an op added to
 *     BL_OPS without such a test fails here;
 *   - the backend's module has a probe handler for it (runKernel rejects a call without arguments
 *     with a missing-argument error, not "no probe handler");
 *   - no kernel test calls an op that is not in the list (a renamed op is renamed in its tests).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, nativeFor, type BackendName } from '../src/native/binding.js';
import { probeBackends } from './helpers/backends.js';

const probe = await probeBackends();
const here = dirname(fileURLToPath(import.meta.url));
const OPS = native().info().ops;

/** The float64 reference tests of the ops (every one parameterised by the available backends). */
const KERNEL_TESTS = [
  'core.kernels.test.ts',
  'core.fused.test.ts',
  'multitask.kernels.test.ts',
  'rnn.kernels.test.ts',
  'contrastive.kernels.test.ts',
  'core.bf16.test.ts',
];
const sources = KERNEL_TESTS.map((f) => ({ file: f, text: readFileSync(join(here, f), 'utf8') }));
/** Op names passed to a probe call: run(backend, 'op', ...), runKernel(be, 'op', ...), both('rnn', 'op', ...). */
const CALL = /\b(?:run\w*|both)\(\s*[\w.']+\s*,\s*'([a-z0-9_]+)'/g;

function testsOf(op: string): string[] {
  return sources.filter((s) => [...s.text.matchAll(CALL)].some((m) => m[1] === op)).map((s) => s.file);
}

describe('the op list', () => {
  it('is non-empty, unique, and the same in every module', () => {
    expect(OPS.length).toBeGreaterThan(20);
    expect(new Set(OPS).size).toBe(OPS.length);
    for (const backend of probe.backends) expect(nativeFor(backend).info().ops).toEqual(OPS);
  });

  it('every kernel test file runs on every available backend', () => {
    for (const s of sources) expect(s.text, s.file).toContain('probeBackends');
  });

  it('no kernel test calls an op outside the list', () => {
    const called = new Set(sources.flatMap((s) => [...s.text.matchAll(CALL)].map((m) => m[1]!)));
    const unknown = [...called].filter((op) => !OPS.includes(op) && op !== 'no_such_op');
    expect(unknown).toEqual([]);
  });
});

describe.each(probe.backends)('every op on %s', (backend: BackendName) => {
  for (const op of OPS) {
    it(`${op} has a float64 reference test and a probe handler`, async () => {
      expect(testsOf(op), `no test in ${KERNEL_TESTS.join(', ')} calls op '${op}'`).not.toEqual([]);
      const err = await nativeFor(backend)
        .runKernel(backend, op, {})
        .then(
          () => null,
          (e: unknown) => e as { code?: string; message?: string },
        );
      expect(err, `runKernel('${op}') with no arguments must reject`).not.toBeNull();
      expect(err!.code).toBe('E_INVALID_ARG');
      expect(err!.message).toMatch(/missing/);
    });
  }
});
