/**
 * The native RNN against an independent float64 reference written here (forward, loss, the BPTT
 * / truncated-BPTT backward pass and RFLO's traces), built from the model's own tensors:
 *   - BPTT gradients of every learned tensor (biases, initial states, readout, weights) equal
 *     central finite differences of the float64 loss (h = 1e-4): ||g - fd|| / ||fd|| <= 2e-3
 *     (float32 forward), for the leaky, vanilla and residual forms, the activations tanh-rational
 *     (the default), tanh, sigmoid, identity (linear RNNs), softplus, leaky-relu and hard-sigmoid,
 *     shared and per-condition initial states, masked steps, velocity penalties, and closed
 *     loops with delays 1 and 3;
 *   - the reference backward (checked by those finite differences) also gives tBPTT(k); the
 *     native tBPTT(k) matches it for k = 1, 2, 5, and tBPTT(k >= T) equals BPTT bit for bit;
 *   - RFLO: the accumulated estimate equals the reference traces' sum (tiny sizes: m = 2, 3),
 *     and online RFLO with plain SGD moves the parameters exactly as the reference, step by step.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { RNN, Rng, SequenceDataset, type RNNOptions } from '../src/index.js';
import { parseRule as parseRuleForTest } from '../src/rnn/config.js';
import { relNormError, sameBits } from './helpers/numeric.js';
import { actGradRef, actRef } from './helpers/activations.js';
import type { Activation } from '../src/index.js';

type Act = Activation;

interface Ref {
  I: number;
  H: number;
  O: number;
  act: Act;
  decay: number;
  gain: number;
  t: Record<string, Float64Array>; // W [H,H], B [H,I], A [O,H], b [H], c [O], r0 [C,H], F [H,O]
}

interface Mode {
  closedLoop?: boolean;
  warmup?: number;
  delay?: number;
}

const actF = actRef;
const actD = actGradRef; // through the output p = act(z)

async function refOf(rnn: RNN): Promise<Ref> {
  const t: Record<string, Float64Array> = {};
  for (const info of rnn.tensors()) t[info.name] = Float64Array.from(await rnn.tensor(info.name));
  const c = rnn.config;
  return { I: c.inputSize, H: c.hidden, O: c.outputSize, act: c.activation as Act, decay: c.decay, gain: c.gain, t };
}

interface Trace {
  x: Float64Array[]; // inputs used [T][I]
  r: Float64Array[]; // [T+1][H]
  p: Float64Array[]; // act(z) [T][H]
  y: Float64Array[]; // outputs [T][O]
}

function forwardSeq(m: Ref, d: SequenceDataset, s: number, mode: Mode): Trace {
  const { I, H, O } = m;
  const T = d.steps;
  const W = m.t['recurrent.weight']!,
    B = m.t['input.weight'],
    A = m.t['readout.weight']!,
    b = m.t['recurrent.bias']!,
    c = m.t['readout.bias']!;
  const cond = d.conditions[s]!;
  const tr: Trace = { x: [], r: [Float64Array.from(m.t.initial_state!.subarray(cond * H, cond * H + H))], p: [], y: [] };
  const start = Math.max(mode.warmup ?? 0, mode.delay ?? 1);
  for (let t = 0; t < T; t++) {
    const x = Float64Array.from(d.inputs.subarray((s * T + t) * I, (s * T + t + 1) * I));
    if (mode.closedLoop && t >= start) for (let o = 0; o < O; o++) x[o] = tr.y[t - (mode.delay ?? 1)]![o]!;
    const r = tr.r[t]!;
    const p = new Float64Array(H);
    const rn = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      let z = b[h]!;
      for (let k = 0; k < H; k++) z += W[h * H + k]! * r[k]!;
      for (let i = 0; i < I; i++) z += B![h * I + i]! * x[i]!;
      p[h] = actF(m.act, z);
      rn[h] = m.decay * r[h]! + m.gain * p[h]!;
    }
    const y = new Float64Array(O);
    for (let o = 0; o < O; o++) {
      let v = c[o]!;
      for (let h = 0; h < H; h++) v += A[o * H + h]! * rn[h]!;
      y[o] = v;
    }
    tr.x.push(x);
    tr.p.push(p);
    tr.r.push(rn);
    tr.y.push(y);
  }
  return tr;
}

/** Normalised weights of sequence s (as the core takes them). */
function weightsOf(d: SequenceDataset, s: number): { w: Float64Array; v: Float64Array } {
  const T = d.steps;
  let sum = 0;
  for (let t = 0; t < T; t++) sum += d.lossWeights[s * T + t]!;
  const inv = sum > 0 ? 1 / sum : 1;
  return {
    w: Float64Array.from({ length: T }, (_, t) => d.lossWeights[s * T + t]! * inv),
    v: Float64Array.from({ length: T }, (_, t) => d.velocityWeights[s * T + t]! * inv),
  };
}

function refLoss(m: Ref, d: SequenceDataset, mode: Mode): number {
  let total = 0;
  for (let s = 0; s < d.n; s++) {
    const tr = forwardSeq(m, d, s, mode);
    const { w, v } = weightsOf(d, s);
    for (let t = 0; t < d.steps; t++)
      for (let o = 0; o < m.O; o++) {
        const e = tr.y[t]![o]! - d.targets[(s * d.steps + t) * m.O + o]!;
        total += (w[t]! * e * e) / m.O;
        if (t > 0) {
          const dv = tr.y[t]![o]! - tr.y[t - 1]![o]!;
          total += (v[t]! * dv * dv) / m.O;
        }
      }
  }
  return total / d.n;
}

/** d(mean loss)/d(output) per sequence and step; `local` drops the derivative through y_{t-1} of the velocity term at t (RFLO's error). */
function outputGrad(m: Ref, d: SequenceDataset, s: number, tr: Trace, local: boolean): Float64Array[] {
  const { w, v } = weightsOf(d, s);
  const T = d.steps;
  const g: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const e = new Float64Array(m.O);
    for (let o = 0; o < m.O; o++) {
      let x = 2 * w[t]! * (tr.y[t]![o]! - d.targets[(s * T + t) * m.O + o]!);
      if (t > 0) x += 2 * v[t]! * (tr.y[t]![o]! - tr.y[t - 1]![o]!);
      if (!local && t + 1 < T) x -= 2 * v[t + 1]! * (tr.y[t + 1]![o]! - tr.y[t]![o]!);
      e[o] = x / m.O / d.n;
    }
    g.push(e);
  }
  return g;
}

function zeros(m: Ref): Record<string, Float64Array> {
  const g: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(m.t)) g[k] = new Float64Array(v.length);
  return g;
}

/** The BPTT (k = 0) / truncated-BPTT (windows of k) backward pass in float64. */
function refBackward(m: Ref, d: SequenceDataset, mode: Mode, k = 0): Record<string, Float64Array> {
  const { I, H, O } = m;
  const T = d.steps;
  const W = m.t['recurrent.weight']!,
    B = m.t['input.weight'],
    A = m.t['readout.weight']!;
  const g = zeros(m);
  const start = Math.max(mode.warmup ?? 0, mode.delay ?? 1);
  for (let s = 0; s < d.n; s++) {
    const tr = forwardSeq(m, d, s, mode);
    const dOut = outputGrad(m, d, s, tr, false);
    const dFb = Array.from({ length: T }, () => new Float64Array(O));
    let Dr = new Float64Array(H);
    for (let t = T - 1; t >= 0; t--) {
      if (k > 0 && (t + 1) % k === 0 && t + 1 < T) Dr = new Float64Array(H);
      const dy = dOut[t]!.map((v, o) => v + dFb[t]![o]!);
      for (let h = 0; h < H; h++) for (let o = 0; o < O; o++) Dr[h]! += A[o * H + h]! * dy[o]!;
      const dz = new Float64Array(H);
      for (let h = 0; h < H; h++) dz[h] = m.gain * Dr[h]! * actD(m.act, tr.p[t]![h]!);
      for (let h = 0; h < H; h++) {
        g['recurrent.bias']![h]! += dz[h]!;
        for (let j = 0; j < H; j++) g['recurrent.weight']![h * H + j]! += dz[h]! * tr.r[t]![j]!;
        for (let i = 0; i < I; i++) g['input.weight']![h * I + i]! += dz[h]! * tr.x[t]![i]!;
      }
      for (let o = 0; o < O; o++) {
        g['readout.bias']![o]! += dy[o]!;
        for (let h = 0; h < H; h++) g['readout.weight']![o * H + h]! += dy[o]! * tr.r[t + 1]![h]!;
      }
      if (mode.closedLoop && t >= start) {
        const src = t - (mode.delay ?? 1);
        const lo = k > 0 ? Math.floor(t / k) * k : 0;
        if (src >= lo) for (let o = 0; o < O; o++) for (let h = 0; h < H; h++) dFb[src]![o]! += B![h * I + o]! * dz[h]!;
      }
      const nd = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        let v = m.decay * Dr[j]!;
        for (let h = 0; h < H; h++) v += W[h * H + j]! * dz[h]!;
        nd[j] = v;
      }
      Dr = k > 0 && t % k === 0 && t > 0 ? new Float64Array(H) : nd;
    }
    const cond = d.conditions[s]!;
    for (let h = 0; h < H; h++) g.initial_state![cond * H + h]! += Dr[h]!;
  }
  return g;
}

/** RFLO's estimate (accumulated over each sequence), float64. */
/**
 * RFLO's accumulated estimate in float64; `traceDecay` is the traces' leak w-hat (default the
 * model's decay), `eprop` replaces it per unit by decay + gain act'(z_h) W_hh, `F` replaces the
 * model's feedback matrix [H, O].
 */
function refRflo(
  m: Ref,
  d: SequenceDataset,
  mode: Mode,
  opt: { traceDecay?: number; eprop?: boolean; F?: Float64Array } = {},
): Record<string, Float64Array> {
  const { I, H, O } = m;
  const F = opt.F ?? m.t['feedback.weight']!;
  const W = m.t['recurrent.weight']!;
  const wd = opt.traceDecay ?? m.decay;
  const g = zeros(m);
  for (let s = 0; s < d.n; s++) {
    const tr = forwardSeq(m, d, s, mode);
    const e = outputGrad(m, d, s, tr, true);
    const Pb = new Float64Array(H);
    const PW = new Float64Array(H * H);
    const PB = new Float64Array(H * I);
    let leak = 1;
    for (let t = 0; t < d.steps; t++) {
      leak *= wd;
      const fe = new Float64Array(H);
      for (let h = 0; h < H; h++) for (let o = 0; o < O; o++) fe[h]! += F[h * O + o]! * e[t]![o]!;
      for (let h = 0; h < H; h++) {
        const D = actD(m.act, tr.p[t]![h]!);
        const dd = opt.eprop ? m.decay + m.gain * D * W[h * H + h]! : wd;
        Pb[h] = dd * Pb[h]! + m.gain * D;
        for (let j = 0; j < H; j++) PW[h * H + j] = dd * PW[h * H + j]! + m.gain * D * tr.r[t]![j]!;
        for (let i = 0; i < I; i++) PB[h * I + i] = dd * PB[h * I + i]! + m.gain * D * tr.x[t]![i]!;
        g['recurrent.bias']![h]! += fe[h]! * Pb[h]!;
        for (let j = 0; j < H; j++) g['recurrent.weight']![h * H + j]! += fe[h]! * PW[h * H + j]!;
        for (let i = 0; i < I; i++) g['input.weight']![h * I + i]! += fe[h]! * PB[h * I + i]!;
        g.initial_state![d.conditions[s]! * H + h]! += leak * fe[h]!;
      }
      for (let o = 0; o < O; o++) {
        g['readout.bias']![o]! += e[t]![o]!;
        for (let h = 0; h < H; h++) g['readout.weight']![o * H + h]! += e[t]![o]! * tr.r[t + 1]![h]!;
      }
    }
  }
  return g;
}

function finiteDiff(m: Ref, d: SequenceDataset, name: string, mode: Mode, h = 1e-4): Float64Array {
  const p = m.t[name]!;
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const keep = p[i]!;
    p[i] = keep + h;
    const up = refLoss(m, d, mode);
    p[i] = keep - h;
    const down = refLoss(m, d, mode);
    p[i] = keep;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

function makeData(
  rng: Rng,
  n: number,
  T: number,
  I: number,
  O: number,
  opts: { conditions?: number; mask?: boolean; velocity?: boolean } = {},
): SequenceDataset {
  const inputs = Float32Array.from({ length: n * T * I }, () => rng.normal());
  const targets = Float32Array.from({ length: n * T * O }, () => rng.normal() * 0.5);
  const lossWeights = opts.mask ? Float32Array.from({ length: n * T }, (_, i) => (i % T < 2 ? 0 : 1 + rng.uniform())) : undefined;
  const velocityWeights = opts.velocity ? Float32Array.from({ length: n * T }, (_, i) => (i % T >= T - 3 ? 2 : 0)) : undefined;
  const conditions = opts.conditions ? Int32Array.from({ length: n }, (_, i) => i % opts.conditions!) : undefined;
  return SequenceDataset.create({
    inputs,
    targets,
    steps: T,
    inputSize: I,
    outputSize: O,
    lossWeights,
    velocityWeights,
    conditions,
  });
}

let worst = 0;
let worstCase = '';
afterAll(() =>
  console.log(`[rnn.gradients] worst BPTT-vs-finite-difference relative error ${worst.toExponential(2)} (${worstCase})`),
);

interface GradCase {
  label: string;
  opts: Partial<RNNOptions>;
  mode?: Mode;
  data?: { conditions?: number; mask?: boolean; velocity?: boolean };
  I?: number;
  O?: number;
}

const BASE = {
  hidden: 7,
  recurrentGain: 1.2,
  biasInit: { dist: 'uniform' as const, scale: 0.3, relative: false },
  stateInit: { dist: 'uniform' as const, scale: 0.5, relative: false },
};

const CASES: GradCase[] = [
  { label: 'bias + initial state, vanilla tanh', opts: { train: 'bias', learnInitialState: true } },
  { label: 'bias, leaky alpha 0.3, sigmoid', opts: { train: 'bias', alpha: 0.3, activation: 'sigmoid' } },
  {
    label: 'bias + state, residual form',
    opts: { train: 'bias', form: 'residual', learnInitialState: true, recurrentGain: 0.3 },
  },
  {
    label: 'per-condition initial states (3), masked steps',
    opts: { train: 'bias', learnInitialState: true, conditions: 3, alpha: 0.5 },
    data: { conditions: 3, mask: true },
  },
  {
    label: 'velocity penalty, readout bias',
    opts: { train: 'bias', learnInitialState: true, learnReadoutBias: true, alpha: 0.7 },
    data: { velocity: true },
  },
  { label: 'full (W, B, A, b, c) + state', opts: { train: 'full', learnInitialState: true, alpha: 0.6 } },
  { label: 'readout (A, c)', opts: { train: 'readout' } },
  { label: 'no input (autonomous), bias + state', opts: { train: 'bias', learnInitialState: true }, I: 0 },
  {
    label: 'closed loop, delay 1',
    opts: { train: 'full', learnInitialState: true, alpha: 0.5 },
    mode: { closedLoop: true, warmup: 2, delay: 1 },
    I: 3,
    O: 2,
  },
  {
    label: 'closed loop, delay 3, bias only',
    opts: { train: 'bias', alpha: 0.8 },
    mode: { closedLoop: true, warmup: 0, delay: 3 },
    I: 2,
    O: 1,
  },
  // every further activation (the default above is 'tanh-rational')
  {
    label: 'linear RNN (identity), bias + state',
    opts: { train: 'bias', learnInitialState: true, activation: 'identity', recurrentGain: 0.6 },
  },
  {
    label: 'linear RNN (identity), full, leaky alpha 0.5',
    opts: { train: 'full', activation: 'identity', alpha: 0.5, recurrentGain: 0.6 },
  },
  { label: 'tanh (std::tanh), bias + state', opts: { train: 'bias', learnInitialState: true, activation: 'tanh' } },
  { label: 'softplus, full, leaky alpha 0.5', opts: { train: 'full', activation: 'softplus', alpha: 0.5, recurrentGain: 0.8 } },
  { label: 'leaky-relu, bias + state', opts: { train: 'bias', learnInitialState: true, activation: 'leaky-relu' } },
  {
    label: 'hard-sigmoid, bias + state, leaky alpha 0.5',
    opts: { train: 'bias', learnInitialState: true, activation: 'hard-sigmoid', alpha: 0.5 },
  },
];

describe('BPTT gradients equal central finite differences of the float64 loss', () => {
  CASES.forEach((gc, ci) => {
    it(gc.label, async () => {
      const I = gc.I ?? 2;
      const O = gc.O ?? 2;
      const rnn = await RNN.create({ inputSize: I, outputSize: O, ...BASE, seed: 300 + ci, ...gc.opts } as RNNOptions);
      try {
        const ref = await refOf(rnn);
        const data = makeData(new Rng(ci), 3, 9, I, O, gc.data);
        const mode = gc.mode ?? {};
        const r = await rnn.gradients(data, { rule: 'bptt', ...mode });
        expect(r.loss).toBeCloseTo(refLoss(ref, data, mode), 5);
        const back = refBackward(ref, data, mode);
        const names = rnn.learnedTensors().map((t) => t.name);
        expect(Object.keys(r.grads).sort()).toEqual([...names].sort());
        for (const name of names) {
          const fd = finiteDiff(ref, data, name, mode);
          const e = relNormError(r.grads[name]!, fd, 1e-6);
          if (e > worst) {
            worst = e;
            worstCase = `${gc.label}: ${name}`;
          }
          expect(e, `${name}: native vs finite differences`).toBeLessThan(2e-3);
          expect(relNormError(back[name]!, fd, 1e-6), `${name}: reference backward vs finite differences`).toBeLessThan(1e-5);
        }
      } finally {
        rnn.dispose();
      }
    });
  });

  it('a bias-only model reports gradients for its biases only (no weight gradient exists)', async () => {
    const rnn = await RNN.create({ inputSize: 2, outputSize: 1, hidden: 5, train: 'bias' });
    const r = await rnn.gradients(makeData(new Rng(1), 2, 4, 2, 1));
    expect(Object.keys(r.grads)).toEqual(['recurrent.bias']);
    rnn.dispose();
  });
});

describe('truncated BPTT', () => {
  it('tbptt:k matches the float64 truncated backward for k = 1, 2, 5 (open and closed loop)', async () => {
    for (const mode of [{}, { closedLoop: true, warmup: 1, delay: 2 }] as Mode[]) {
      const rnn = await RNN.create({
        inputSize: 2,
        outputSize: 1,
        ...BASE,
        train: 'full',
        learnInitialState: true,
        alpha: 0.6,
        seed: 9,
      });
      const ref = await refOf(rnn);
      const data = makeData(new Rng(4), 3, 11, 2, 1, { velocity: true });
      for (const k of [1, 2, 5]) {
        const r = await rnn.gradients(data, { rule: `tbptt:${k}`, ...mode });
        const want = refBackward(ref, data, mode, k);
        for (const name of Object.keys(r.grads)) {
          expect(relNormError(r.grads[name]!, want[name]!, 1e-6), `k=${k} ${name} ${JSON.stringify(mode)}`).toBeLessThan(1e-4);
        }
      }
      rnn.dispose();
    }
  });

  it('tbptt:k with k >= T equals bptt bit for bit; k = 1 differs', async () => {
    const rnn = await RNN.create({
      inputSize: 3,
      outputSize: 2,
      hidden: 33,
      train: 'bias',
      learnInitialState: true,
      alpha: 0.5,
      seed: 2,
    });
    const data = makeData(new Rng(5), 4, 12, 3, 2);
    const bptt = await rnn.gradients(data, { rule: 'bptt' });
    for (const k of [12, 13, 1000]) {
      const t = await rnn.gradients(data, { rule: `tbptt:${k}` });
      for (const name of Object.keys(bptt.grads))
        expect(sameBits(t.grads[name]!, bptt.grads[name]!), `k=${k} ${name}`).toBe(true);
    }
    const one = await rnn.gradients(data, { rule: 'tbptt:1' });
    expect(relNormError(one.grads['recurrent.bias']!, bptt.grads['recurrent.bias']!)).toBeGreaterThan(1e-3);
    rnn.dispose();
  });
});

describe('RFLO', () => {
  it('the accumulated estimate equals the float64 traces (m = 2 and 3, every tensor, leaky and vanilla)', async () => {
    for (const [H, alpha] of [
      [2, 0.4],
      [3, 1],
    ] as const) {
      const rnn = await RNN.create({
        inputSize: 2,
        outputSize: 1,
        hidden: H,
        train: 'full',
        learnInitialState: true,
        alpha,
        seed: 11,
        biasInit: BASE.biasInit,
        stateInit: BASE.stateInit,
      });
      const ref = await refOf(rnn);
      const data = makeData(new Rng(6), 2, 5, 2, 1, { velocity: true });
      const r = await rnn.gradients(data, { rule: 'rflo' });
      const want = refRflo(ref, data, {});
      for (const name of Object.keys(r.grads))
        expect(relNormError(r.grads[name]!, want[name]!, 1e-9), `m=${H} ${name}`).toBeLessThan(1e-5);
      // the readout gradient of RFLO is exact and local; the bias estimate is not the true gradient
      const exact = refBackward(ref, data, {});
      expect(relNormError(r.grads['recurrent.bias']!, exact['recurrent.bias']!)).toBeGreaterThan(1e-3);
      rnn.dispose();
    }
  });

  it("w-hat, e-prop's diag(W) leak and a per-call feedback matrix equal the float64 traces (weights and biases)", async () => {
    for (const [H, alpha, act] of [
      [7, 1, 'identity'],
      [5, 0.6, 'tanh'],
      [1, 1, 'identity'],
    ] as const) {
      const rnn = await RNN.create({
        inputSize: 3,
        outputSize: 2,
        hidden: H,
        activation: act,
        train: 'full',
        alpha,
        seed: 23,
        biasInit: BASE.biasInit,
      });
      const ref = await refOf(rnn);
      const data = makeData(new Rng(9), 3, 6, 3, 2, { mask: true });
      const rng = new Rng(4);
      const F = Float64Array.from({ length: H * 2 }, () => rng.normal());
      const cases = [
        { rule: { kind: 'rflo', online: false, traceDecay: 0.5 }, want: refRflo(ref, data, {}, { traceDecay: 0.5 }) },
        {
          rule: { kind: 'rflo', online: false, traceDecay: -0.3 },
          feedback: F,
          want: refRflo(ref, data, {}, { traceDecay: -0.3, F }),
        },
        { rule: { kind: 'eprop', online: false }, want: refRflo(ref, data, {}, { eprop: true }) },
        { rule: { kind: 'eprop', online: false }, feedback: F, want: refRflo(ref, data, {}, { eprop: true, F }) },
      ] as const;
      for (const c of cases) {
        const r = await rnn.gradients(data, {
          rule: c.rule,
          ...('feedback' in c ? { feedbackMatrix: Float32Array.from(c.feedback) } : {}),
        });
        for (const name of Object.keys(r.grads))
          expect(relNormError(r.grads[name]!, c.want[name]!, 1e-9), `m=${H} ${JSON.stringify(c.rule)} ${name}`).toBeLessThan(
            1e-5,
          );
      }
      // e-prop differs from RFLO with the model's leak (the diag(W) term), and w-hat changes RFLO
      const rflo = await rnn.gradients(data, { rule: 'rflo:batch' });
      const eprop = await rnn.gradients(data, { rule: 'eprop:batch' });
      expect(relNormError(eprop.grads['recurrent.weight']!, rflo.grads['recurrent.weight']!)).toBeGreaterThan(1e-3);
      rnn.dispose();
    }
  });

  it('e-prop refuses trained initial states; a feedback matrix of the wrong size is E_SHAPE', async () => {
    const rnn = await RNN.create({ inputSize: 2, outputSize: 1, hidden: 3, train: 'full', learnInitialState: true, seed: 1 });
    const data = makeData(new Rng(1), 2, 4, 2, 1);
    await expect(rnn.gradients(data, { rule: 'eprop' })).rejects.toMatchObject({ code: 'E_CONFIG' });
    await expect(rnn.gradients(data, { rule: 'rflo', feedbackMatrix: new Float32Array(2) })).rejects.toMatchObject({
      code: 'E_SHAPE',
    });
    expect(() => parseRuleForTest('eprop:w=0.5')).toThrow();
    expect(parseRuleForTest('rflo:batch:w=0.25')).toEqual({
      kind: 'rflo',
      window: 0,
      online: false,
      feedback: 'random',
      traceDecay: 0.25,
    });
    expect(parseRuleForTest('eprop:sym')).toEqual({ kind: 'eprop', window: 0, online: true, feedback: 'symmetric' });
    expect(() => parseRuleForTest({ kind: 'bptt', traceDecay: 0.5 })).toThrow();
    rnn.dispose();
  });

  it('a hand-computed case: m = 1, one input, two steps', async () => {
    // r0 = 0, W = w, B = u, b, A = a, F = f, decay 1-alpha, gain alpha, identity activation:
    //   r1 = alpha (u x0 + b),        P1 = alpha
    //   r2 = (1-alpha) r1 + alpha (w r1 + u x1 + b),  P2 = (1-alpha) alpha + alpha
    //   e_t = 2 (a r_{t+1} - target_t) / 2   (two steps, weights 1/2 each, one output)
    //   g_b = f e_0 P1 + f e_1 P2
    const rnn = await RNN.create({
      inputSize: 1,
      outputSize: 1,
      hidden: 1,
      activation: 'identity',
      alpha: 0.5,
      train: 'bias',
      biasInit: { dist: 'uniform', scale: 0.5, relative: false },
      seed: 3,
    });
    const ref = await refOf(rnn);
    const [w, u, a, f, b] = ['recurrent.weight', 'input.weight', 'readout.weight', 'feedback.weight', 'recurrent.bias'].map(
      (k) => ref.t[k]![0]!,
    );
    const x = [0.7, -1.1];
    const target = [0.25, -0.5];
    const alpha = 0.5;
    const r1 = alpha * (u! * x[0]! + b!);
    const r2 = (1 - alpha) * r1 + alpha * (w! * r1 + u! * x[1]! + b!);
    const e0 = a! * r1 - target[0]!;
    const e1 = a! * r2 - target[1]!;
    const P1 = alpha;
    const P2 = (1 - alpha) * alpha + alpha;
    const expected = f! * e0 * P1 + f! * e1 * P2;
    const data = SequenceDataset.create({
      inputs: Float32Array.from(x),
      targets: Float32Array.from(target),
      steps: 2,
      inputSize: 1,
      outputSize: 1,
    });
    const r = await rnn.gradients(data, { rule: 'rflo' });
    expect(r.grads['recurrent.bias']![0]).toBeCloseTo(expected, 6);
    rnn.dispose();
  });

  it('online RFLO with SGD updates after every step exactly as the reference', async () => {
    const lr = 0.05;
    const rnn = await RNN.create({
      inputSize: 2,
      outputSize: 2,
      hidden: 3,
      train: 'bias',
      learnInitialState: true,
      learnReadoutBias: true,
      alpha: 0.5,
      seed: 21,
      optimizer: { type: 'sgd', lr },
      biasInit: BASE.biasInit,
      stateInit: BASE.stateInit,
    });
    const ref = await refOf(rnn);
    const data = makeData(new Rng(8), 2, 6, 2, 2);
    // reference: step by step over the batch of both sequences, forward with the current values
    const { H, O, I } = ref;
    const F = ref.t['feedback.weight']!;
    const T = data.steps;
    const states = [0, 1].map((s) =>
      Float64Array.from(ref.t.initial_state!.subarray(data.conditions[s]! * H, data.conditions[s]! * H + H)),
    );
    const Pb = [0, 1].map(() => new Float64Array(H));
    const prevY: Float64Array[] = [];
    let leak = 1;
    for (let t = 0; t < T; t++) {
      leak *= ref.decay;
      const gb = new Float64Array(H);
      const gc = new Float64Array(O);
      const gr0 = new Float64Array(H);
      for (let s = 0; s < 2; s++) {
        const W = ref.t['recurrent.weight']!,
          B = ref.t['input.weight']!,
          A = ref.t['readout.weight']!;
        const r = states[s]!;
        const rn = new Float64Array(H);
        const D = new Float64Array(H);
        for (let h = 0; h < H; h++) {
          let z = ref.t['recurrent.bias']![h]!;
          for (let k = 0; k < H; k++) z += W[h * H + k]! * r[k]!;
          for (let i = 0; i < I; i++) z += B[h * I + i]! * data.inputs[(s * T + t) * I + i]!;
          const p = Math.tanh(z);
          D[h] = 1 - p * p;
          rn[h] = ref.decay * r[h]! + ref.gain * p;
        }
        const y = new Float64Array(O);
        for (let o = 0; o < O; o++) {
          y[o] = ref.t['readout.bias']![o]!;
          for (let h = 0; h < H; h++) y[o]! += A[o * H + h]! * rn[h]!;
        }
        const e = new Float64Array(O);
        for (let o = 0; o < O; o++) e[o] = (2 * (y[o]! - data.targets[(s * T + t) * O + o]!)) / T / O / 2;
        const fe = new Float64Array(H);
        for (let h = 0; h < H; h++) for (let o = 0; o < O; o++) fe[h]! += F[h * O + o]! * e[o]!;
        for (let h = 0; h < H; h++) {
          Pb[s]![h] = ref.decay * Pb[s]![h]! + ref.gain * D[h]!;
          gb[h]! += fe[h]! * Pb[s]![h]!;
          gr0[h]! += leak * fe[h]!;
        }
        for (let o = 0; o < O; o++) gc[o]! += e[o]!;
        states[s] = rn;
        prevY[s] = y;
      }
      for (let h = 0; h < H; h++) {
        ref.t['recurrent.bias']![h]! -= lr * gb[h]!;
        ref.t.initial_state![h]! -= lr * gr0[h]!;
      }
      for (let o = 0; o < O; o++) ref.t['readout.bias']![o]! -= lr * gc[o]!;
    }
    await rnn.trainSequences(data, Int32Array.of(0, 1), 2, lr, { rule: 'rflo' });
    expect(rnn.optimizerSteps).toBe(T);
    const got = await rnn.getLearned();
    for (const name of ['recurrent.bias', 'initial_state', 'readout.bias']) {
      expect(relNormError(got[name]!, ref.t[name]!, 1e-9), name).toBeLessThan(1e-5);
    }
    rnn.dispose();
  });
});
