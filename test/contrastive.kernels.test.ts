/**
 * The energy-network kernels (backend.h, "energy networks"): energy_step and adjoint_step run
 * through the kernel probe on every available backend ('cpu'; 'cuda' when built and a device
 * initialises) and compared with float64 re-implementations of their contracts at odd sizes, for
 * every activation. Elementwise: atol 1e-6, rtol 1e-5 (1e-5 atol with the inline feedback product,
 * a float32 sum of up to 32 terms); delta (a max) to 1e-6.
 */
import { describe, expect, it } from 'vitest';
import type { BackendName } from '../src/native/binding.js';
import { nativeFor } from '../src/native/binding.js';
import { Rng } from '../src/util/rng.js';
import { ACT, ACT_NAMES, actGradRef, actRef } from './helpers/activations.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomF32 } from './helpers/numeric.js';

const probe = await probeBackends();

function run(backend: BackendName, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>) {
  return nativeFor(backend).runKernel(backend, op, args);
}

for (const backend of probe.backends) {
  describe(`energy-network kernels on ${backend}`, () => {
    for (const act of ACT_NAMES) {
      for (const variant of ['nudged, two drives', 'free, one drive']) {
        it(`energy_step (${act}, ${variant})`, async () => {
          const rng = new Rng(11 + ACT[act]);
          const B = 7,
            H = 1031,
            n = B * H,
            eps = 0.37,
            beta = 0.23;
          const full = variant.startsWith('nudged');
          const Z = randomF32(rng, n, -3, 3),
            U = randomF32(rng, n, -1, 2),
            D = randomF32(rng, n),
            D2 = randomF32(rng, n),
            T = randomF32(rng, n),
            bias = randomF32(rng, H);
          const args: Record<string, number | Float32Array> = { B, H, act: ACT[act], eps, beta, wantDelta: 1, Z, U, D, bias };
          if (full) Object.assign(args, { D2, T });
          const out = await run(backend, 'energy_step', args);
          const zRef: number[] = [],
            uRef: number[] = [];
          let dmax = 0;
          for (let i = 0; i < n; i++) {
            let d = D[i]! + bias[i % H]!;
            if (full) d += D2[i]! - beta * (U[i]! - T[i]!);
            const z = (1 - eps) * Z[i]! + eps * d;
            const u = actRef(act, z);
            zRef.push(z);
            uRef.push(u);
            dmax = Math.max(dmax, Math.abs(u - U[i]!));
          }
          assertClose('energy_step Z', out.Z!, zRef, 1e-6, 1e-5);
          assertClose('energy_step U', out.U!, uRef, 1e-6, 1e-5);
          expect(Math.abs(out.delta![0]! - dmax)).toBeLessThan(1e-5 * (1 + dmax));
        });
      }

      it(`adjoint_step (${act})`, async () => {
        const rng = new Rng(41 + ACT[act]);
        const B = 5,
          H = 997,
          n = B * H,
          eps = 0.61;
        const G = randomF32(rng, n),
          U = Float32Array.from(randomF32(rng, n, -4, 4), (z) => actRef(act, z)),
          D = randomF32(rng, n),
          C = randomF32(rng, n);
        for (const withC of [true, false]) {
          const args: Record<string, number | Float32Array> = { B, H, act: ACT[act], eps, wantDelta: 1, G, U, D };
          if (withC) args.C = C;
          const out = await run(backend, 'adjoint_step', args);
          const ref: number[] = [];
          let dmax = 0;
          for (let i = 0; i < n; i++) {
            const g = (1 - eps) * G[i]! + eps * actGradRef(act, U[i]!) * (D[i]! + (withC ? C[i]! : 0));
            ref.push(g);
            dmax = Math.max(dmax, Math.abs(g - G[i]!));
          }
          assertClose(`adjoint_step G (C ${withC})`, out.G!, ref, 1e-6, 1e-5);
          expect(Math.abs(out.delta![0]! - dmax)).toBeLessThan(1e-5 * (1 + dmax));
        }
      });
    }

    // The inline feedback F [B,Of] Wf [Of,H] (layer 1's U_2 W_1 of a narrow layer 2): odd B, H, Of up
    // to kEnergyMaxFeedback = 32, H past one 256-column chunk of the CPU loop, with and without D2/T.
    for (const [B, H, Of] of [
      [1, 1, 1],
      [7, 33, 7],
      [7, 1031, 1],
      [33, 257, 32],
      [1, 600, 10],
    ] as const) {
      it(`energy_step with inline feedback (B ${B}, H ${H}, Of ${Of})`, async () => {
        for (const act of ACT_NAMES) {
          for (const full of [false, true]) {
            const rng = new Rng(71 + ACT[act] + B * H + Of);
            const n = B * H,
              eps = 0.41,
              beta = 0.17;
            const Z = randomF32(rng, n, -3, 3),
              U = randomF32(rng, n, -1, 2),
              D = randomF32(rng, n),
              D2 = randomF32(rng, n),
              T = randomF32(rng, n),
              bias = randomF32(rng, H),
              F = randomF32(rng, B * Of, 0, 1),
              Wf = randomF32(rng, Of * H);
            const args: Record<string, number | Float32Array> = {
              B,
              H,
              Of,
              act: ACT[act],
              eps,
              beta,
              wantDelta: 1,
              Z,
              U,
              D,
              bias,
              F,
              Wf,
            };
            if (full) Object.assign(args, { D2, T });
            const out = await run(backend, 'energy_step', args);
            const zRef: number[] = [],
              uRef: number[] = [];
            let dmax = 0;
            for (let b = 0; b < B; b++)
              for (let h = 0; h < H; h++) {
                const i = b * H + h;
                let d = D[i]! + bias[h]!;
                for (let o = 0; o < Of; o++) d += F[b * Of + o]! * Wf[o * H + h]!;
                if (full) d += D2[i]! - beta * (U[i]! - T[i]!);
                const z = (1 - eps) * Z[i]! + eps * d;
                const u = actRef(act, z);
                zRef.push(z);
                uRef.push(u);
                dmax = Math.max(dmax, Math.abs(u - U[i]!));
              }
            assertClose(`energy_step Z (${act}, full ${full})`, out.Z!, zRef, 1e-5, 1e-5);
            assertClose(`energy_step U (${act}, full ${full})`, out.U!, uRef, 1e-5, 1e-5);
            expect(Math.abs(out.delta![0]! - dmax)).toBeLessThan(1e-5 * (1 + dmax));
          }
        }
      });
    }

    // C[B,O] = A[B,K] W[O,K]^T for a narrow layer (O <= kNarrowMaxOut = 32): odd sizes, K past and
    // short of the CPU's 16-lane blocks.
    for (const [B, K, O] of [
      [1, 1, 1],
      [7, 33, 7],
      [33, 1031, 10],
      [7, 7, 32],
      [1, 4099, 33 - 1],
    ] as const) {
      it(`narrow_product (B ${B}, K ${K}, O ${O})`, async () => {
        const rng = new Rng(91 + B * K + O);
        const A = randomF32(rng, B * K, 0, 1),
          W = randomF32(rng, O * K);
        const out = await run(backend, 'narrow_product', { B, K, O, A, W });
        const ref: number[] = [];
        for (let b = 0; b < B; b++)
          for (let o = 0; o < O; o++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += A[b * K + k]! * W[o * K + k]!;
            ref.push(s);
          }
        assertClose('narrow_product C', out.C!, ref, 1e-5 * Math.sqrt(K), 1e-5);
      });
    }

    it('energy_step without delta leaves no delta output', async () => {
      const rng = new Rng(5);
      const B = 1,
        H = 1;
      const out = await run(backend, 'energy_step', {
        B,
        H,
        act: ACT['hard-sigmoid'],
        eps: 1,
        beta: 0,
        wantDelta: 0,
        Z: randomF32(rng, 1),
        U: randomF32(rng, 1),
        D: Float32Array.of(0.25),
        bias: Float32Array.of(0.5),
      });
      expect(out.delta).toBeUndefined();
      expect(out.U![0]).toBeCloseTo(0.75, 6);
    });
  });
}
