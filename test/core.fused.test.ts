// Fused kernels against float64 references, on every available backend.
//   small_fanout_backward: out[H] = beta*out + sum_b act'(A[b,:]) * (dZ[B,O] W[O,H])[b,:]
//   bias_act_readout:      Z[B,H] <- act(Z + bias); Y[B,O] = Z W^T + c
//     (Z: atol 1e-6 + rtol 1e-6; Y: 1e-5 + 1e-5 * sum_h |Z W|)
// Tolerance: |out - ref| <= 1e-5 + 1e-5 * sum_b |act'(A)| * sum_o |dZ W| (the magnitude summed).
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { nativeFor, type BackendName } from '../src/native/binding.js';
import { probeBackends } from './helpers/backends.js';
import { ACT, ACT_NAMES, actGradRef, actRef } from './helpers/activations.js';
import type { Activation } from '../src/index.js';

function reference(
  dZ: Float32Array,
  W: Float32Array,
  A: Float32Array,
  B: number,
  O: number,
  H: number,
  act: Activation,
  beta: number,
  out0: Float32Array,
) {
  const ref = new Float64Array(H);
  const mag = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    let s = 0;
    let m = 0;
    for (let b = 0; b < B; b++) {
      let g = 0;
      let gm = 0;
      for (let o = 0; o < O; o++) {
        g += dZ[b * O + o]! * W[o * H + h]!;
        gm += Math.abs(dZ[b * O + o]! * W[o * H + h]!);
      }
      const a = A[b * H + h]!;
      const d = actGradRef(act, a);
      s += d * g;
      m += Math.abs(d) * gm;
    }
    const prev = beta === 0 ? 0 : beta * out0[h]!; // beta 0 overwrites (out0 may hold NaN)
    ref[h] = prev + s;
    mag[h] = Math.abs(prev) + m;
  }
  return { ref, mag };
}

let backends: BackendName[] = ['cpu'];
beforeAll(async () => {
  backends = (await probeBackends()).backends;
});

describe('small_fanout_backward', () => {
  const shapes = [
    [1, 1, 1],
    [7, 10, 13],
    [33, 3, 1023],
    [256, 64, 70],
    [5, 1, 7],
  ] as const;
  for (const act of ACT_NAMES) {
    for (const [B, O, H] of shapes) {
      for (const beta of [0, 0.5]) {
        it(`${act} B=${B} O=${O} H=${H} beta=${beta} on every backend`, async () => {
          const rng = new Rng(B * 131 + O * 7 + H + (beta ? 1 : 0));
          const dZ = new Float32Array(B * O).map(() => rng.normal());
          const W = new Float32Array(O * H).map(() => rng.normal());
          // activation outputs in the activation's range, with exact zeros for relu's kink
          const A = new Float32Array(B * H).map(() => {
            const z = rng.normal();
            return actRef(act, z);
          });
          const out0 = new Float32Array(H).map(() => (beta === 0 ? NaN : rng.normal())); // NaN must be overwritten when beta = 0
          const { ref, mag } = reference(dZ, W, A, B, O, H, act, beta, out0);
          for (const be of backends) {
            const r = await nativeFor(be).runKernel(be, 'small_fanout_backward', {
              B,
              O,
              H,
              act: ACT[act],
              beta,
              dZ,
              W,
              A,
              out: out0.slice(),
            });
            const out = r.out!;
            let worst = 0;
            for (let h = 0; h < H; h++) {
              const err = Math.abs(out[h]! - ref[h]!);
              const tol = 1e-5 + 1e-5 * mag[h]!;
              expect(Number.isFinite(out[h]!), `${be} out[${h}] finite`).toBe(true);
              worst = Math.max(worst, err / tol);
            }
            expect(worst, `${be}: worst error / tolerance`).toBeLessThanOrEqual(1);
          }
        });
      }
    }
  }
});

describe('bias_act_readout', () => {
  const shapes = [
    [1, 1, 1],
    [7, 13, 10],
    [33, 1023, 3],
    [9, 300, 16],
    [5, 7, 1],
  ] as const;
  for (const act of ACT_NAMES) {
    for (const [B, H, O] of shapes) {
      it(`${act} B=${B} H=${H} O=${O} on every backend`, async () => {
        const rng = new Rng(B * 17 + H * 3 + O);
        const Z = new Float32Array(B * H).map(() => rng.normal());
        const bias = new Float32Array(H).map(() => rng.normal() * 0.5);
        const W = new Float32Array(O * H).map(() => rng.normal());
        const c = new Float32Array(O).map(() => rng.normal());
        const f = (z: number) => actRef(act, z);
        const A = new Float64Array(B * H);
        for (let i = 0; i < B * H; i++) A[i] = f(Z[i]! + bias[i % H]!);
        for (const be of backends) {
          const r = await nativeFor(be).runKernel(be, 'bias_act_readout', { B, H, O, act: ACT[act], Z: Z.slice(), bias, W, c });
          const zOut = r.Z!;
          const y = r.Y!;
          for (let i = 0; i < B * H; i++) {
            expect(Math.abs(zOut[i]! - A[i]!), `${be} Z[${i}]`).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(A[i]!));
          }
          for (let b = 0; b < B; b++) {
            for (let o = 0; o < O; o++) {
              let ref = c[o]!;
              let mag = Math.abs(c[o]!);
              for (let h = 0; h < H; h++) {
                ref += A[b * H + h]! * W[o * H + h]!;
                mag += Math.abs(A[b * H + h]! * W[o * H + h]!);
              }
              expect(Math.abs(y[b * O + o]! - ref), `${be} Y[${b},${o}]`).toBeLessThanOrEqual(1e-5 + 1e-5 * mag);
            }
          }
        }
      });
    }
  }
});
