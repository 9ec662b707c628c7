/**
 * A float64 reference MLP for the core tests, written independently of native/mlp:
 *
 *   Z_l = A_{l-1} W_l^T + b_l,  A_l = act_l(Z_l),  W_l row-major [out, in],  A_{-1} = X,
 *   last layer linear (its activation is 'identity' in the config).
 *   softmax-cross-entropy: mean over the batch of logsumexp(z) - z_y.
 *   mse: mean over the batch of (mean over outputs of (y - t)^2).
 *
 * Weights and biases are copied (as float64) from a native model via model.weights(l) and
 * model.biases(l). Gradients are central finite differences of the float64 loss.
 */
import type { MLP } from '../../src/model/mlp.js';
import type { Activation, LossName } from '../../src/model/config.js';
import { actRef, kinks } from './activations.js';

export interface RefLayer {
  in: number;
  out: number;
  activation: Activation;
  W: Float64Array; // [out, in] row-major
  b: Float64Array; // [out]
}

export interface RefModel {
  layers: RefLayer[];
  loss: LossName;
}

export type RefTargets = { kind: 'classes'; labels: Int32Array } | { kind: 'values'; values: ArrayLike<number> };

export function act(name: Activation, z: number): number {
  return actRef(name, z);
}

/** Copies every layer's weights and biases out of a native model (frozen or learned alike). */
export async function referenceFromModel(model: MLP): Promise<RefModel> {
  const layers: RefLayer[] = [];
  for (let l = 0; l < model.config.layers.length; l++) {
    const c = model.config.layers[l]!;
    const W = await model.weights(l);
    const b = await model.biases(l);
    if (W.length !== c.in * c.out) throw new Error(`layer ${l}: weights(${l}) has ${W.length} values, expected ${c.in * c.out}`);
    if (b.length !== c.out) throw new Error(`layer ${l}: biases(${l}) has ${b.length} values, expected ${c.out}`);
    layers.push({ in: c.in, out: c.out, activation: c.activation, W: Float64Array.from(W), b: Float64Array.from(b) });
  }
  return { layers, loss: model.config.loss };
}

export interface ForwardResult {
  /** Outputs [n, O] (logits for classification). */
  out: Float64Array;
  /** Smallest distance of a hidden pre-activation from a kink of its activation (Infinity when there is none). */
  minKinkMargin: number;
}

/** Forward pass in float64 over n rows of x (row-major [n, in_0]). */
export function refForwardFull(m: RefModel, x: ArrayLike<number>, n: number): ForwardResult {
  let a: ArrayLike<number> = x;
  let minKinkMargin = Infinity;
  for (const L of m.layers) {
    const z = new Float64Array(n * L.out);
    for (let r = 0; r < n; r++) {
      const ar = r * L.in;
      for (let o = 0; o < L.out; o++) {
        const wr = o * L.in;
        let s = L.b[o]!;
        for (let i = 0; i < L.in; i++) s += a[ar + i]! * L.W[wr + i]!;
        for (const k of kinks(L.activation)) minKinkMargin = Math.min(minKinkMargin, Math.abs(s - k));
        z[r * L.out + o] = act(L.activation, s);
      }
    }
    a = z;
  }
  return { out: a as Float64Array, minKinkMargin };
}

export function refForward(m: RefModel, x: ArrayLike<number>, n: number): Float64Array {
  return refForwardFull(m, x, n).out;
}

/** Per-sample losses of outputs y [n, O]. */
export function refSampleLosses(loss: LossName, y: ArrayLike<number>, n: number, O: number, t: RefTargets): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    if (loss === 'softmax-cross-entropy') {
      if (t.kind !== 'classes') throw new Error('softmax-cross-entropy needs class labels');
      let mx = -Infinity;
      for (let o = 0; o < O; o++) mx = Math.max(mx, y[r * O + o]!);
      let s = 0;
      for (let o = 0; o < O; o++) s += Math.exp(y[r * O + o]! - mx);
      out[r] = Math.log(s) + mx - y[r * O + t.labels[r]!]!;
    } else {
      if (t.kind !== 'values') throw new Error('mse needs target values');
      let s = 0;
      for (let o = 0; o < O; o++) {
        const e = y[r * O + o]! - t.values[r * O + o]!;
        s += e * e;
      }
      out[r] = s / O;
    }
  }
  return out;
}

/** Mean loss over the batch. */
export function refLoss(m: RefModel, x: ArrayLike<number>, n: number, t: RefTargets): number {
  const O = m.layers[m.layers.length - 1]!.out;
  const per = refSampleLosses(m.loss, refForward(m, x, n), n, O, t);
  let s = 0;
  for (let i = 0; i < n; i++) s += per[i]!;
  return s / n;
}

/** The float64 array behind a tensor name "layers.<l>.weight" / "layers.<l>.bias". */
export function tensorOf(m: RefModel, name: string): Float64Array {
  const match = /^layers\.(\d+)\.(weight|bias)$/.exec(name);
  if (!match) throw new Error(`bad tensor name ${name}`);
  const L = m.layers[Number(match[1])];
  if (!L) throw new Error(`no layer for ${name}`);
  return match[2] === 'weight' ? L.W : L.b;
}

/** Central finite differences of the mean loss with respect to every element of a tensor. */
export function finiteDiffGrad(
  m: RefModel,
  name: string,
  x: ArrayLike<number>,
  n: number,
  t: RefTargets,
  h = 1e-4,
): Float64Array {
  const p = tensorOf(m, name);
  const g = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const keep = p[i]!;
    p[i] = keep + h;
    const up = refLoss(m, x, n, t);
    p[i] = keep - h;
    const down = refLoss(m, x, n, t);
    p[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
