/**
 * The contrastive rules of the energy network against a float64 reference on small networks with
 * odd sizes (test/helpers/energy_reference.ts): the native free state and exact gradient (the
 * implicit-differentiation reference, a dense solve), EP and centered EP against it (cosine and
 * the order of the error in beta), continual EP against two-phase EP, the oscillating nudge, the
 * random-phase rule's mean and the variance cut of its baseline trace, and weight-mode estimates.
 * Relaxations are long enough (hundreds of steps on these tiny nets) to converge to float32
 * precision; smooth (sigmoid) hidden units keep the error-vs-beta law free of kinks.
 */
import { describe, expect, it } from 'vitest';
import { EnergyNetwork } from '../src/contrastive/energy_network.js';
import type { ContrastiveRule, EnergyNetworkOptions, RelaxationOptions } from '../src/contrastive/config.js';
import { Dataset } from '../src/data/dataset.js';
import { Rng } from '../src/util/rng.js';
import {
  copyState,
  cosine,
  energyGradRef,
  exactGradRef,
  flat,
  logLogSlope,
  lossRef,
  meanGrads,
  type RefNet,
  relaxRef,
  relErr,
  zeroState,
} from './helpers/energy_reference.js';

interface Case {
  model: EnergyNetwork;
  net: RefNet;
  data: Dataset;
  xs: Float64Array[];
  ys: Float64Array[];
}

const LONG = { stepSize: 0.5, freeSteps: 400, nudgedSteps: 400 };

async function makeCase(hidden: number[], n: number, seed: number, train: EnergyNetworkOptions['train'] = 'bias'): Promise<Case> {
  const I = 5,
    O = 3;
  const model = await EnergyNetwork.create({
    inputSize: I,
    hidden,
    outputSize: O,
    activation: 'sigmoid',
    train,
    seed,
    weightInit: { dist: 'uniform', scale: 1.5, relative: true },
    biasInit: { dist: 'normal', scale: 0.5, relative: false },
    relaxation: LONG,
  });
  const rng = new Rng(seed + 1);
  const x = Float32Array.from({ length: n * I }, () => rng.normal());
  const y = Float32Array.from({ length: n * O }, () => 0.2 + 0.6 * rng.uniform());
  const data = Dataset.regression(x, I, y, O);
  const sizes = model.config.sizes;
  const L = sizes.length - 1;
  const W: Float64Array[] = [],
    b: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    W.push(Float64Array.from(await model.weights(l)));
    b.push(Float64Array.from(await model.biases(l)));
  }
  const xs = Array.from({ length: n }, (_, i) => Float64Array.from(x.subarray(i * I, (i + 1) * I)));
  const ys = Array.from({ length: n }, (_, i) => Float64Array.from(y.subarray(i * O, (i + 1) * O)));
  return { model, net: { sizes, W, b, act: 'sigmoid', outAct: 'identity' }, data, xs, ys };
}

/** Float64 exact gradient (mean over the samples) at the free equilibrium. */
function exactRef(c: Case, steps = 2000, eps = 0.5) {
  return meanGrads(
    c.xs.map((x, i) => {
      const s = zeroState(c.net);
      relaxRef(c.net, x, c.ys[i]!, s, steps, eps, 0);
      return exactGradRef(c.net, x, c.ys[i]!, s);
    }),
  );
}

async function estimate(c: Case, rule: ContrastiveRule, extra: RelaxationOptions = {}) {
  return c.model.gradients(c.data, { ...LONG, rule, ...extra });
}

const BIASES = (c: Case) => c.model.learnedTensors().map((t) => t.name);

describe.sequential('energy network against the float64 reference', () => {
  it('the free state and loss match the float64 relaxation (7 and 4-6 hidden)', async () => {
    for (const hidden of [[7], [4, 6]]) {
      const c = await makeCase(hidden, 3, 17);
      const steps = 37;
      const out = await c.model.relaxed(c.data, { relaxation: { freeSteps: steps, stepSize: 0.7 }, states: true });
      const width = hidden.reduce((a, b) => a + b, 0) + 3;
      let loss = 0;
      c.xs.forEach((x, i) => {
        const s = zeroState(c.net);
        relaxRef(c.net, x, c.ys[i]!, s, steps, 0.7, 0);
        loss += lossRef(c.net, s, c.ys[i]!);
        const ref = s.u.flatMap((u) => Array.from(u));
        const got = Array.from(out.states!.subarray(i * width, (i + 1) * width));
        for (let j = 0; j < width; j++) expect(Math.abs(got[j]! - ref[j]!)).toBeLessThan(2e-6);
      });
      const ev = await c.model.gradients(c.data, { rule: 'exact', freeSteps: steps, stepSize: 0.7 });
      expect(Math.abs(ev.loss - loss / 3) / (loss / 3)).toBeLessThan(1e-5);
      c.model.dispose();
    }
  });

  it('exact: the adjoint relaxation equals the dense implicit-differentiation solve (bias and full)', async () => {
    for (const train of ['bias', 'full'] as const) {
      const c = await makeCase([7, 9], 5, 23, train);
      const names = BIASES(c);
      const got = await estimate(c, 'exact');
      const ref = exactRef(c);
      expect(relErr(flat(got.grads, names), flat(ref, names))).toBeLessThan(1e-4);
      expect(got.residual).toBeLessThan(1e-6);
      c.model.dispose();
    }
  });

  it('the float64 exact gradient equals central finite differences of the free-equilibrium loss', async () => {
    const c = await makeCase([7], 2, 29);
    const ref = exactRef(c);
    const L = (bias: Float64Array, unit: number, h: number) => {
      const b0 = c.net.b[0]!;
      const saved = b0[unit]!;
      b0[unit] = saved + h;
      let sum = 0;
      c.xs.forEach((x, i) => {
        const s = zeroState(c.net);
        relaxRef(c.net, x, c.ys[i]!, s, 2000, 0.5, 0);
        sum += lossRef(c.net, s, c.ys[i]!);
      });
      b0[unit] = saved;
      void bias;
      return sum / c.xs.length;
    };
    for (const unit of [0, 3, 6]) {
      const fd = (L(c.net.b[0]!, unit, 1e-5) - L(c.net.b[0]!, unit, -1e-5)) / 2e-5;
      expect(Math.abs(fd - ref['layers.0.bias']![unit]!)).toBeLessThan(1e-7 + 1e-5 * Math.abs(fd));
    }
    c.model.dispose();
  });

  it('EP and centered EP bias estimates: cosine > 0.999 at beta 0.01; error order 1 and 2 in beta', async () => {
    const c = await makeCase([7, 9], 5, 31);
    const names = BIASES(c);
    const ref = flat(exactRef(c), names);
    for (const rule of ['ep', 'ep-centered'] as const) {
      const g = await estimate(c, rule, { beta: 0.01 });
      expect(cosine(flat(g.grads, names), ref)).toBeGreaterThan(0.999);
    }
    const betas = [0.4, 0.2, 0.1, 0.05];
    const one: number[] = [],
      two: number[] = [];
    for (const beta of betas) {
      one.push(relErr(flat((await estimate(c, 'ep', { beta })).grads, names), ref));
      two.push(relErr(flat((await estimate(c, 'ep-centered', { beta })).grads, names), ref));
    }
    const s1 = logLogSlope(betas, one),
      s2 = logLogSlope(betas, two);
    if (process.env.BL_PRINT) console.log('errors', { one, two, s1, s2 });
    expect(s1, `one-sided errors ${one}`).toBeGreaterThanOrEqual(0.8);
    expect(s1).toBeLessThanOrEqual(1.2);
    expect(s2, `centered errors ${two}`).toBeGreaterThanOrEqual(1.8);
    expect(s2).toBeLessThanOrEqual(2.2);
    c.model.dispose();
  });

  it('weight mode (full): EP and centered EP against the same reference', async () => {
    const c = await makeCase([7], 4, 37, 'full');
    const names = BIASES(c);
    expect(names).toContain('layers.1.weight');
    const ref = flat(exactRef(c), names);
    const ep = flat((await estimate(c, 'ep', { beta: 0.01 })).grads, names);
    const cep = flat((await estimate(c, 'ep-centered', { beta: 0.01 })).grads, names);
    expect(cosine(ep, ref)).toBeGreaterThan(0.999);
    expect(cosine(cep, ref)).toBeGreaterThan(0.999);
    expect(relErr(cep, ref)).toBeLessThan(1e-2);
    c.model.dispose();
  });

  it('EP matches its float64 twin (same steps, beta 0.1): nudged-minus-free difference quotient', async () => {
    const c = await makeCase([7], 3, 41, 'full');
    const names = BIASES(c);
    const beta = 0.1;
    const got = await c.model.gradients(c.data, { rule: 'ep', beta, freeSteps: 60, nudgedSteps: 25, stepSize: 0.5 });
    const per = c.xs.map((x, i) => {
      const s = zeroState(c.net);
      relaxRef(c.net, x, c.ys[i]!, s, 60, 0.5, 0);
      const f0 = energyGradRef(c.net, x, s);
      const sb = copyState(s);
      relaxRef(c.net, x, c.ys[i]!, sb, 25, 0.5, beta);
      const fb = energyGradRef(c.net, x, sb);
      const out: Record<string, Float64Array> = {};
      for (const n of names) out[n] = fb[n]!.map((v, j) => (v - f0[n]![j]!) / beta);
      return out;
    });
    expect(relErr(flat(got.grads, names), flat(meanGrads(per), names))).toBeLessThan(1e-4);
    c.model.dispose();
  });

  it('continual EP: the per-step updates sum to the two-phase EP update (parameters held fixed)', async () => {
    const c = await makeCase([7, 9], 5, 43, 'full');
    const names = BIASES(c);
    const o = { beta: 0.05, freeSteps: 400, nudgedSteps: 60 };
    const ep = flat((await estimate(c, 'ep', o)).grads, names);
    const cep = flat((await estimate(c, 'continual-ep', o)).grads, names);
    if (process.env.BL_PRINT) console.log('continual', relErr(cep, ep));
    expect(relErr(cep, ep)).toBeLessThan(1e-4);
    c.model.dispose();
  });

  it('oscillating nudge: relative error < 1% at beta0 0.05, period 200 time constants', async () => {
    const c = await makeCase([7], 5, 47);
    const names = BIASES(c);
    const ref = flat(exactRef(c), names);
    // period N = 400 steps at eps 0.5 = 200 time units; two periods, no stored free state
    const g = await estimate(c, 'oscillating', { beta: 0.05, nudgedSteps: 400, periods: 2 });
    const e = relErr(flat(g.grads, names), ref);
    if (process.env.BL_PRINT) console.log('oscillating relerr', e);
    expect(e).toBeLessThan(0.01);
    c.model.dispose();
  });

  it('random-phase: mean of 300 phases within 5% of EP; the baseline trace cuts the variance >= 100-fold', async () => {
    const c = await makeCase([7], 4, 53);
    const names = BIASES(c);
    const beta = 0.05;
    const o = { beta, stepSize: 0.8, phaseMin: 100, phaseMax: 200, phases: 300, pi: 0.5 };
    const ep = flat((await estimate(c, 'ep', { beta, stepSize: 0.8 })).grads, names);
    const withTrace = await estimate(c, 'random-phase', { ...o, traceTau: 2000 });
    const noTrace = await estimate(c, 'random-phase', { ...o, traceTau: 0 });
    const mean = flat(withTrace.grads, names);
    expect(relErr(mean, ep)).toBeLessThan(0.05);
    const sq = (v: Float64Array) => v.reduce((a, b) => a + b * b, 0);
    const varWith = withTrace.phases!.meanSquare - sq(mean);
    const varWithout = noTrace.phases!.meanSquare - sq(flat(noTrace.grads, names));
    if (process.env.BL_PRINT) console.log('random-phase', relErr(mean, ep), varWithout, varWith, varWithout / varWith);
    expect(varWithout / varWith).toBeGreaterThanOrEqual(100);
    expect(withTrace.phases!.nPlus + withTrace.phases!.nMinus).toBe(300);
    c.model.dispose();
  });
});
