/**
 * The multi-task backend kernels (backend.h, "multi-task" extensions) through
 * runMultitaskKernel(backend, op, args), against plain float64 re-implementations of each
 * contract. Odd sizes (B, H not multiples of any vector width or of the 256-column blocks), tasks
 * in random order, some tasks with no rows.
 *
 * Tolerances (elementwise |got - ref| <= atol + rtol * scale):
 *   bias_act_gather     atol 1e-6, rtol 1e-6, scale |ref|
 *   column_sum_scatter  atol 1e-6, rtol 1e-5, scale = sum_b |G_bh| over the task's rows; and bit-exact
 *                       against column_sum of the task's rows alone (same row order)
 *   softmax_xent_task   loss sums atol 1e-4, rtol 1e-5; hits exact; dlogits atol 1e-7, rtol 1e-5, zeros exact
 *   task_gates          atol 1e-7, rtol 1e-6; hard gates exact
 *   gate_rows           exact (one float product)
 *   gate_backward       dtheta atol 1e-6, rtol 1e-5, scale = slope g(1-g) sum |dA U|; dU exact
 *   task_moments        sums atol 1e-5, rtol 1e-6 (accumulated in double); counts exact
 */
import { describe, it, expect } from 'vitest';
import { nativeFor as multitaskNative } from '../src/native/binding.js';
import { nativeFor, type BackendName } from '../src/native/binding.js';
import { Rng } from '../src/util/rng.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomF32, randomLabels, sameBits } from './helpers/numeric.js';
import { ACT, ACT_NAMES, actRef } from './helpers/activations.js';

const probe = await probeBackends();

function run(backend: BackendName, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>) {
  return multitaskNative(backend).runMultitaskKernel(backend, op, args);
}

/** Task ids in random order; task K-1 never appears when `skipLast`. */
function tasksOf(rng: Rng, B: number, K: number, skipLast = false): Int32Array {
  return randomLabels(rng, B, skipLast && K > 1 ? K - 1 : K);
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 3],
  [33, 257, 5],
  [64, 515, 7],
];

for (const backend of probe.backends) {
  describe(`multi-task kernels on ${backend}`, () => {
    for (const [B, H, K] of SIZES) {
      for (const act of ACT_NAMES) {
        it(`bias_act_gather B=${B} H=${H} K=${K} ${act}`, async () => {
          const rng = new Rng(B * 1000 + H + K);
          const Z = randomF32(rng, B * H, -2, 2);
          const biases = randomF32(rng, K * H, -1, 1);
          const task = tasksOf(rng, B, K);
          const out = await run(backend, 'bias_act_gather', { B, H, K, act: ACT[act], Z, biases, task });
          const ref = new Float64Array(B * H);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++) ref[b * H + h] = actRef(act, Z[b * H + h]! + biases[task[b]! * H + h]!);
          assertClose('bias_act_gather', out.Z!, ref, 1e-6, 1e-6);
        });
      }

      it(`column_sum_scatter B=${B} H=${H} K=${K} (a task without rows gets zeros)`, async () => {
        const rng = new Rng(7 * B + H);
        const G = randomF32(rng, B * H, -1, 1);
        const task = tasksOf(rng, B, K, true);
        const out = (await run(backend, 'column_sum_scatter', { B, H, K, G, task })).out!;
        const ref = new Float64Array(K * H);
        const scale = new Float64Array(K * H);
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++) {
            ref[task[b]! * H + h]! += G[b * H + h]!;
            scale[task[b]! * H + h]! += Math.abs(G[b * H + h]!);
          }
        assertClose('column_sum_scatter', out, ref, 1e-6, 1e-5, scale);
        if (K > 1) expect(Array.from(out.subarray((K - 1) * H, K * H)).every((v) => v === 0)).toBe(true);
        // Deterministic: task k's row equals column_sum over that task's rows alone, bit for bit.
        for (let k = 0; k < K - (K > 1 ? 1 : 0); k++) {
          const rows = Array.from(task)
            .map((t, b) => (t === k ? b : -1))
            .filter((b) => b >= 0);
          if (rows.length === 0) continue;
          const Gk = new Float32Array(rows.length * H);
          rows.forEach((b, r) => {
            Gk.set(G.subarray(b * H, (b + 1) * H), r * H);
          });
          const cs = await nativeFor(backend).runKernel(backend, 'column_sum', {
            B: rows.length,
            H,
            beta: 0,
            G: Gk,
            out: new Float32Array(H),
          });
          expect(sameBits(out.slice(k * H, (k + 1) * H), cs.out!)).toBe(true);
        }
      });
    }

    for (const perTask of [false, true]) {
      it(`softmax_xent_task, ${perTask ? 'per-task readout slices (5, 3, 10 classes)' : 'shared readout'}`, async () => {
        const rng = new Rng(perTask ? 11 : 12);
        const B = 29;
        const classes = perTask ? Int32Array.from([5, 3, 10]) : Int32Array.from([4, 4, 4]);
        const K = classes.length;
        const off = perTask ? Int32Array.from([0, 5, 8]) : new Int32Array(K);
        const R = perTask ? 18 : 4;
        const logits = randomF32(rng, B * R, -4, 4);
        const task = tasksOf(rng, B, K);
        const labels = Int32Array.from(task, (t) => rng.int(classes[t]!));
        const scale = 1 / B;
        const out = await run(backend, 'softmax_xent_task', { B, R, K, scale, logits, labels, task, off, classes });
        const dref = new Float64Array(B * R);
        const loss = new Float64Array(K);
        const hits = new Float64Array(K);
        for (let b = 0; b < B; b++) {
          const t = task[b]!;
          const o0 = off[t]!;
          const O = classes[t]!;
          let mx = -Infinity;
          let arg = 0;
          for (let o = 0; o < O; o++)
            if (logits[b * R + o0 + o]! > mx) {
              mx = logits[b * R + o0 + o]!;
              arg = o;
            }
          let s = 0;
          for (let o = 0; o < O; o++) s += Math.exp(logits[b * R + o0 + o]! - mx);
          loss[t]! += Math.log(s) + mx - logits[b * R + o0 + labels[b]!]!;
          hits[t]! += arg === labels[b]! ? 1 : 0;
          for (let o = 0; o < O; o++)
            dref[b * R + o0 + o] = scale * (Math.exp(logits[b * R + o0 + o]! - mx) / s - (o === labels[b] ? 1 : 0));
        }
        assertClose('dlogits', out.dlogits!, dref, 1e-7, 1e-5);
        for (let i = 0; i < B * R; i++) if (dref[i] === 0) expect(out.dlogits![i]).toBe(0);
        const stats = out.stats!;
        assertClose(
          'loss sums',
          Array.from({ length: K }, (_, k) => stats[2 * k]!),
          loss,
          1e-4,
          1e-5,
        );
        expect(Array.from({ length: K }, (_, k) => stats[2 * k + 1]!)).toEqual(Array.from(hits));
      });
    }

    it('task_gates: sigmoid(slope theta), and the hard step theta > 0', async () => {
      const rng = new Rng(3);
      const theta = randomF32(rng, 1031, -3, 3);
      theta[0] = 0;
      for (const slope of [0.5, 7]) {
        const soft = (await run(backend, 'task_gates', { theta, slope, hard: false })).gates!;
        assertClose(
          'soft gates',
          soft,
          Array.from(theta, (t) => 1 / (1 + Math.exp(-slope * t))),
          1e-7,
          1e-6,
        );
      }
      const hard = (await run(backend, 'task_gates', { theta, slope: 1, hard: true })).gates!;
      expect(Array.from(hard)).toEqual(Array.from(theta, (t) => (t > 0 ? 1 : 0)));
    });

    for (const [B, H, K] of SIZES) {
      it(`gate_rows and gate_backward B=${B} H=${H} K=${K}`, async () => {
        const rng = new Rng(B + 31 * H);
        const U = randomF32(rng, B * H, 0, 2);
        const theta = randomF32(rng, K * H, -2, 2);
        const slope = 3;
        const gates = Float32Array.from(theta, (t) => 1 / (1 + Math.exp(-slope * t)));
        const task = tasksOf(rng, B, K, true);
        const A = (await run(backend, 'gate_rows', { B, H, K, U, gates, task })).A!;
        const Aref = new Float32Array(B * H);
        for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) Aref[b * H + h] = U[b * H + h]! * gates[task[b]! * H + h]!;
        expect(sameBits(A, Aref)).toBe(true);
        const dA = randomF32(rng, B * H, -1, 1);
        for (const inPlace of [false, true]) {
          const out = await run(backend, 'gate_backward', { B, H, K, dA, U, gates, task, slope, inPlace });
          const ref = new Float64Array(K * H);
          const scale = new Float64Array(K * H);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++) {
              ref[task[b]! * H + h]! += dA[b * H + h]! * U[b * H + h]!;
              scale[task[b]! * H + h]! += Math.abs(dA[b * H + h]! * U[b * H + h]!);
            }
          for (let i = 0; i < K * H; i++) {
            const g = gates[i]!;
            ref[i]! *= slope * g * (1 - g);
            scale[i]! *= slope * g * (1 - g);
          }
          assertClose(`dtheta (inPlace ${inPlace})`, out.dtheta!, ref, 1e-6, 1e-5, scale);
          const dUref = new Float32Array(B * H);
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) dUref[b * H + h] = dA[b * H + h]! * gates[task[b]! * H + h]!;
          expect(sameBits(out.dU!, dUref)).toBe(true);
        }
      });

      it(`task_moments B=${B} H=${H} K=${K}, with and without a shift`, async () => {
        const rng = new Rng(B * 3 + H);
        const A = randomF32(rng, B * H, -1, 2);
        for (let i = 0; i < A.length; i += 3) A[i] = 0;
        const task = tasksOf(rng, B, K, true);
        const shift = randomF32(rng, K * H, -1, 1);
        for (const withShift of [false, true]) {
          const out = (await run(backend, 'task_moments', { B, H, K, A, task, threshold: 0, ...(withShift ? { shift } : {}) }))
            .out!;
          const s1 = new Float64Array(K * H);
          const s2 = new Float64Array(K * H);
          const c = new Float64Array(K * H);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++) {
              const i = task[b]! * H + h;
              const v = A[b * H + h]! - (withShift ? shift[i]! : 0);
              s1[i]! += v;
              s2[i]! += v * v;
              c[i]! += A[b * H + h]! > 0 ? 1 : 0;
            }
          assertClose('sum', out.subarray(0, K * H), s1, 1e-5, 1e-6);
          assertClose('sum of squares', out.subarray(K * H, 2 * K * H), s2, 1e-5, 1e-6);
          expect(Array.from(out.subarray(2 * K * H))).toEqual(Array.from(c));
        }
      });
    }

    it('an out-of-range task id is a typed error (E_INVALID_ARG)', async () => {
      await expect(
        run(backend, 'column_sum_scatter', { B: 2, H: 3, K: 2, G: new Float32Array(6), task: Int32Array.from([0, 2]) }),
      ).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      await expect(
        run(backend, 'bias_act_gather', {
          B: 1,
          H: 1,
          K: 1,
          act: 0,
          Z: new Float32Array(1),
          biases: new Float32Array(1),
          task: Int32Array.from([-1]),
        }),
      ).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    });
  });
}
