/**
 * Learning dynamics of local rules in linear teacher-student RNNs (src/dynamics), on small sizes:
 *   - teachers: the data-aligned form has the requested modes in orthonormal bases; seeded;
 *   - per-mode ODEs: BPTT's Delta is the gradient of the mode loss (finite differences); every
 *     rule converges to the optimal manifold; a = b = 0 is a fixed-point manifold of BPTT and
 *     tBPTT only; the Jacobian eigenvalues of the research notes (BPTT, RFLO sign flip);
 *   - simulation of a data-aligned student against the ODEs (every rule, error after the transient);
 *   - RFLO's W_K - W_0 has rank O and lies in span(F); BPTT's, tBPTT's and e-prop's do not;
 *   - bias-only RFLO moves b inside span(F) (1e-6 relative);
 *   - a run next to the optimal manifold with the wrong feedback sign leaves it;
 *   - the convergence study and the CLI write their metrics and figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dynamics } from '../src/index.js';
import { matmul, transpose } from '../src/dynamics/matrix.js';
import { runCliCaptured } from './helpers/cli.js';
import { errorOf } from './helpers/errors.js';

const {
  alignedTeacher,
  biasOnlySubspace,
  compareOdeToSimulation,
  convergenceStudy,
  findModeFixedPoint,
  generalTeacher,
  integrateModeOde,
  modeCoordinates,
  modeDelta,
  modeEigenvalues,
  modeLoss,
  modeResidual,
  optimalPoint,
  rankSpectra,
  simulateStudent,
  stabilityMap,
} = dynamics;

const RULES = ['bptt', 'tbptt', 'rflo', 'eprop'] as const;
const teacherMode = { a: 1, b: 1, w: 0.5 };

describe('teachers', () => {
  it('a data-aligned teacher has its modes in orthonormal bases, and the same seed gives the same teacher', () => {
    for (const [H, I, O, m] of [
      [7, 3, 4, 3],
      [1, 1, 1, 1],
      [5, 5, 5, 5],
    ] as const) {
      const t = alignedTeacher({ hidden: H, inputSize: I, outputSize: O, modes: m, hiddenBasis: 'random', seed: 3 });
      const basis = t.modes!;
      for (const [X, n] of [
        [basis.U, O],
        [basis.V, I],
        [basis.P, H],
      ] as const) {
        const G = matmul(transpose(X, n, m), X, m, n, m);
        for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) expect(G[i * m + j]!).toBeCloseTo(i === j ? 1 : 0, 12);
      }
      const c = modeCoordinates(basis, t, H, I, O);
      for (let i = 0; i < m; i++) {
        expect(c.a[i]!).toBeCloseTo(basis.a[i]!, 12);
        expect(c.b[i]!).toBeCloseTo(basis.b[i]!, 12);
        expect(c.w[i]!).toBeCloseTo(basis.w[i]!, 12);
      }
      const again = alignedTeacher({ hidden: H, inputSize: I, outputSize: O, modes: m, hiddenBasis: 'random', seed: 3 });
      expect(Array.from(again.W)).toEqual(Array.from(t.W));
    }
  });

  it('a general teacher with a given spectrum; typed errors for bad arguments', async () => {
    const t = generalTeacher({ hidden: 4, inputSize: 2, outputSize: 1, spectrum: [0.9, -0.5, 0.1, 0], seed: 1 });
    let trace = 0;
    for (let i = 0; i < 4; i++) trace += t.W[i * 4 + i]!;
    expect(trace).toBeCloseTo(0.5, 12);
    expect((await errorOf(() => alignedTeacher({ hidden: 3, inputSize: 3, outputSize: 3, w: [0.5, 1.2, 0] }))).code).toBe(
      'E_INVALID_ARG',
    );
    expect((await errorOf(() => alignedTeacher({ hidden: 3, inputSize: 3, outputSize: 3, a: [1] }))).code).toBe('E_SHAPE');
    expect((await errorOf(() => generalTeacher({ hidden: 3, inputSize: 1, outputSize: 1, radius: 1.5 }))).code).toBe(
      'E_INVALID_ARG',
    );
    expect(
      (await errorOf(() => simulateStudent({ teacher: t, rule: 'rflo', iterations: 1, train: { W: false, B: false, A: false } })))
        .code,
    ).toBe('E_CONFIG');
    expect((await errorOf(() => simulateStudent({ teacher: t, rule: 'sgd' as never, iterations: 1 }))).code).toBe(
      'E_INVALID_ARG',
    );
  });
});

describe('per-mode ODEs', () => {
  it("BPTT's Delta is the gradient of the mode loss (central differences)", () => {
    const x = { a: 0.7, b: -0.4, w: 0.3 };
    const t = { a: -1.2, b: 0.8, w: 0.6 };
    const d = modeDelta('bptt', x, t);
    const h = 1e-6;
    for (const k of ['a', 'b', 'w'] as const) {
      const fd = (modeLoss({ ...x, [k]: x[k] + h }, t) - modeLoss({ ...x, [k]: x[k] - h }, t)) / (2 * h);
      expect(d[k]).toBeCloseTo(fd, 8);
    }
    // tBPTT's and RFLO's Delta a equals BPTT's (the readout learns exactly under every rule)
    for (const r of RULES) expect(modeDelta(r, x, t).a).toBeCloseTo(d.a, 14);
    // RFLO with w-hat = 0 and a-hat = a is one-step tBPTT
    const r0 = modeDelta('rflo', x, t, { aHat: x.a, wHat: 0 });
    const tb = modeDelta('tbptt', x, t);
    expect(r0.b).toBeCloseTo(tb.b, 14);
    expect(r0.w).toBeCloseTo(tb.w, 14);
  });

  it('every rule converges to the optimal manifold; a = b = 0 is a fixed-point manifold of bptt and tbptt only', async () => {
    for (const rule of RULES) {
      const tr = integrateModeOde(rule, { a: 0.2, b: 0.3, w: 0 }, teacherMode, { tEnd: 60, dt: 0.01, aHat: 1 });
      const end = tr.states[tr.states.length - 1]!;
      expect(end.a * end.b, rule).toBeCloseTo(1, 4);
      expect(end.w, rule).toBeCloseTo(0.5, 4);
      expect(tr.losses[tr.losses.length - 1]!).toBeLessThan(1e-8);
      const zero = modeResidual(rule, { a: 0, b: 0, w: 0.2 }, teacherMode, { aHat: 1 });
      if (rule === 'bptt' || rule === 'tbptt') expect(zero, rule).toBe(0);
      else expect(zero, rule).toBeGreaterThan(0.5);
      // Newton (LAPACK solves) from a perturbed optimal point lands on the manifold
      const f = await findModeFixedPoint(rule, { a: 1.1, b: 0.85, w: 0.45 }, teacherMode, { aHat: 1 });
      expect(f.converged, rule).toBe(true);
      expect(f.point.a * f.point.b).toBeCloseTo(1, 8);
      expect(f.point.w).toBeCloseTo(0.5, 8);
    }
    expect(modeLoss({ a: 0, b: 0, w: 0.3 }, teacherMode)).toBeCloseTo(0.5 / (1 - 0.25), 12);
  });

  it('Jacobian eigenvalues: bptt stable along the manifold; rflo stable iff sign(a-hat s) > 0', async () => {
    const bptt = await modeEigenvalues('bptt', optimalPoint(1, teacherMode), teacherMode);
    expect(bptt.re[0]!).toBeCloseTo(0, 5);
    expect(bptt.re[1]!).toBeCloseTo(-1.549, 3);
    expect(bptt.re[2]!).toBeCloseTo(-4.0806, 3);
    expect(bptt.stable).toBe(true);
    for (const s of [-2, -0.4, 0.3, 1, 3])
      for (const aHat of [1, -1]) {
        const e = await modeEigenvalues('rflo', optimalPoint(s, teacherMode), teacherMode, { aHat, wHat: 0.5 });
        expect(e.stable, `s=${s} a-hat=${aHat}`).toBe(aHat * s > 0);
        for (const rule of ['bptt', 'tbptt'] as const)
          expect((await modeEigenvalues(rule, optimalPoint(s, teacherMode), teacherMode)).stable).toBe(true);
      }
    const flip = await modeEigenvalues('rflo', optimalPoint(-1, teacherMode), teacherMode, { aHat: 1, wHat: 0.5 });
    expect(flip.maxRe).toBeCloseTo(2.963, 2);
  });
});

describe('simulation against the ODEs (data-aligned student, 2 modes)', () => {
  for (const rule of RULES) {
    it(`${rule}: every mode within 5 % of the ODE after the transient`, async () => {
      const c = await compareOdeToSimulation({ rule, modes: 2, lr: 0.02, iterations: 300, steps: 25, batch: 256, seed: 1 });
      for (const m of c.modes) expect(m.maxRelError, `${rule} mode ${m.mode}`).toBeLessThan(0.05);
      expect(c.loss[c.loss.length - 1]!).toBeLessThan(c.loss[0]!);
    });
  }
});

describe('low rank of RFLO solutions', () => {
  it('rflo: rank(W_K - W_0) = O = 1 and inside span(F); bptt, tbptt and e-prop: higher rank', async () => {
    const r = await rankSpectra({ hidden: 9, inputSize: 2, outputSize: 1, iterations: 200, lr: 0.05, batch: 32, seed: 2 });
    const by = Object.fromEntries(r.results.map((x) => [x.rule, x]));
    expect(by.rflo!.rankW).toBe(1);
    expect(by.rflo!.svW[1]!).toBeLessThan(1e-6);
    expect(by.rflo!.rankB).toBe(1);
    expect(by.rflo!.outsideSpanW!).toBeLessThan(1e-6);
    expect(by.rflo!.outsideSpanB!).toBeLessThan(1e-6);
    for (const rule of ['bptt', 'tbptt', 'eprop']) expect(by[rule]!.svW[1]!, rule).toBeGreaterThan(1e-4);
    expect(by.eprop!.outsideSpanW!).toBeGreaterThan(1e-4);
  });

  it('bias-only rflo moves b only inside span(F) (1e-6 relative); bias-only bptt leaves span(A^T)', async () => {
    const rflo = await biasOnlySubspace({ hidden: 11, outputSize: 2, iterations: 150, lr: 0.005, batch: 32, seed: 5 });
    expect(rflo.biasChange).toBeGreaterThan(1e-3);
    expect(rflo.outsideSpan).toBeLessThan(1e-6);
    expect(rflo.outsideReadoutSpan).toBeGreaterThan(1e-2);
    const bptt = await biasOnlySubspace({
      rule: 'bptt',
      hidden: 11,
      outputSize: 2,
      iterations: 150,
      lr: 0.005,
      batch: 32,
      seed: 5,
    });
    expect(bptt.outsideReadoutSpan).toBeGreaterThan(1e-2);
    expect(bptt.finalLoss).toBeLessThan(bptt.initialLoss);
  });
});

describe('stability runs and convergence statistics', () => {
  it('rflo next to s = 1 stays with a-hat = +1 and leaves with a-hat = -1 (ODE and native simulation)', async () => {
    const s = await stabilityMap({ s: [-1, 1], tEnd: 6, lr: 0.02, seed: 1 });
    for (const l of s.leave) {
      if (l.aHat > 0) expect(l.endsOptimal, l.source).toBe(true);
      else {
        expect(l.endsOptimal, l.source).toBe(false);
        expect(l.finalDistance, l.source).toBeGreaterThan(0.1);
      }
    }
    expect(s.nonOptimal.find((n) => n.rule === 'rflo')!.residual).toBeGreaterThan(1);
  });

  it('the convergence study counts runs under the stated criterion', async () => {
    const c = await convergenceStudy({
      rules: ['bptt', 'rflo'],
      seeds: 2,
      hidden: 6,
      inputSize: 2,
      outputSize: 2,
      modes: 2,
      iterations: 300,
      lr: 0.05,
      batch: 16,
      steps: 12,
    });
    expect(c.runs).toHaveLength(4);
    expect(c.criterion).toContain('0.01');
    for (const s of c.summary)
      expect(s.converged).toBe(c.runs.filter((r) => r.rule === s.rule && r.finalRelativeLoss < 0.01).length);
  });
});

describe('CLI', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('biaslearn dynamics rank writes metrics.json and rank.svg', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bl-dyn-'));
    dirs.push(out);
    const r = await runCliCaptured('dynamics', 'rank', '--hidden', '6', '--iterations', '40', '--batch', '8', '--out', out);
    expect(r.stderr).toContain('rflo bias-only: 40/40');
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.study).toBe('rank');
    expect(m.rank.results.find((x: { rule: string }) => x.rule === 'rflo').rankW).toBe(1);
    expect(readFileSync(join(out, 'rank.svg'), 'utf8')).toContain('<svg');
  });

  it('a bad choice is a usage error (exit code 2)', async () => {
    const r = await runCliCaptured('dynamics', 'simulate', '--teacher', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope');
    expect((await runCliCaptured('dynamics', 'convergence', '--rules', 'bptt,sgd')).code).toBe(2);
  });
});
