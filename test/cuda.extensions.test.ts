/**
 * The CUDA extension kernels (backend.h, "multi-task" and "recurrent networks") against the CPU
 * backend. Both backends run inside the CUDA module (biaslearn_cuda.node also holds the CPU
 * backend), through its probes runMultitaskKernel / runRnnKernel, on the same random inputs at
 * odd sizes (1, 7, 33, 1023 where sensible; tasks in random order, some tasks without rows).
 * Then one small multi-task model and one small RNN of each kind train a few steps with the same
 * seed on 'cpu' and 'cuda', and their learned values must agree.
 *
 * Tolerances (per element |cuda - cpu| <= atol + rtol * scale; scale = |cpu| unless stated):
 *   bias_act_gather, rnn_step          atol 1e-6, rtol 1e-5 (tanhf / the rational tanh / expf)
 *   column_sum_scatter, scatter_add_rows, column_dot, trace_grad, gate_backward dtheta
 *                                      atol 1e-6, rtol 1e-5, scale = sum of |terms| of the
 *                                      element's reduction (the backends sum in other orders)
 *   softmax_xent_task                  dlogits atol 1e-7, rtol 1e-5; per-task loss sums atol 1e-4,
 *                                      rtol 1e-5; argmax hits and the zeros outside a task exact
 *   task_gates                         soft atol 1e-7, rtol 1e-6; hard gates exact
 *   gate_rows, gate_backward dU        exact (one float product)
 *   task_moments                       sums atol 1e-5, rtol 1e-6 (double accumulators); counts exact
 *   axpby, outer_trace, rnn_step_backward  atol 1e-6, rtol 1e-5 (FMA contraction on the device)
 *   seq_mse                            dY atol 1e-7, rtol 1e-5; stats rtol 1e-5 (double)
 *   sum_squares                        rtol 1e-6 (double)
 *   gather_seq, copy2d                 exact (copies)
 * Every CUDA reduction must also repeat bit for bit. End to end: the learned tensors after a few
 * Adam steps, ||cuda - cpu|| / ||cpu|| <= 1e-3 per tensor (cuBLAS sums products in another order
 * than the CPU; Adam's normalised steps carry those float32 differences along), and the
 * gradients of one batch <= 1e-4.
 *
 * Skips, printing why, when the CUDA module is not built, does not load or finds no device.
 */
import { describe, expect, it } from 'vitest';
import { Dataset, MultitaskDataset, MultitaskModel, RNN, SequenceDataset } from '../src/index.js';
import type { nativeFor as multitaskNative } from '../src/native/binding.js';
import { nativeFor } from '../src/native/binding.js';
import type { nativeFor as rnnNative } from '../src/native/binding.js';
import { Rng } from '../src/util/rng.js';
import { ACT, ACT_NAMES } from './helpers/activations.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomF32, randomLabels, relNormError, sameBits } from './helpers/numeric.js';

const probe = await probeBackends();
const hasCuda = probe.backends.includes('cuda');
if (!hasCuda)
  console.warn(`[cuda.extensions.test] skipping every CUDA extension check: ${probe.cudaSkipReason ?? 'CUDA unavailable'}`);

const ACTS = ACT_NAMES;
type Args = Record<string, number | boolean | Float32Array | Int32Array>;
type Out = Record<string, Float32Array>;

/** Runs one probe op on 'cpu' and on 'cuda', both through the CUDA module (nativeFor('cuda')). */
async function both(probeKind: 'mt' | 'rnn', op: string, args: Args): Promise<{ cpu: Out; cuda: Out }> {
  const mod = nativeFor('cuda');
  const run = (backend: 'cpu' | 'cuda'): Promise<Out> =>
    probeKind === 'mt'
      ? (mod as unknown as ReturnType<typeof multitaskNative>).runMultitaskKernel(backend, op, args)
      : (mod as unknown as ReturnType<typeof rnnNative>).runRnnKernel(backend, op, args);
  // The probes copy their inputs: the same args serve both runs.
  const cpu = await run('cpu');
  const cuda = await run('cuda');
  return { cpu, cuda };
}

/** Runs a CUDA op twice: same bits (fixed reduction order). */
async function cudaTwice(probeKind: 'mt' | 'rnn', op: string, args: Args, key: string): Promise<void> {
  const mod = nativeFor('cuda');
  const run = (): Promise<Out> =>
    probeKind === 'mt'
      ? (mod as unknown as ReturnType<typeof multitaskNative>).runMultitaskKernel('cuda', op, args)
      : (mod as unknown as ReturnType<typeof rnnNative>).runRnnKernel('cuda', op, args);
  const a = await run();
  const b = await run();
  expect(sameBits(a[key]!, b[key]!), `${op}: cuda repeats bit for bit`).toBe(true);
}

function exact(what: string, cuda: Float32Array, cpu: Float32Array): void {
  expect(cuda.length, `${what}: length`).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    if (!Object.is(cuda[i], cpu[i]) && !(cuda[i] === 0 && cpu[i] === 0)) {
      expect.fail(`${what}: element ${i}: cuda ${cuda[i]} vs cpu ${cpu[i]} (must be identical)`);
    }
  }
}

/** Task ids in [0, K), random order; the last task gets no rows when K > 1 and `skipLast`. */
function tasksOf(rng: Rng, B: number, K: number, skipLast = true): Int32Array {
  return randomLabels(rng, B, skipLast && K > 1 ? K - 1 : K);
}

const MT_SIZES: [number, number, number][] = [
  [1, 1, 1],
  [7, 33, 3],
  [33, 1023, 5],
  [1023, 7, 40],
];

describe.skipIf(!hasCuda)('CUDA multi-task kernels against the CPU backend', () => {
  for (const [B, H, K] of MT_SIZES) {
    it(`bias_act_gather B=${B} H=${H} K=${K}, every activation`, async () => {
      const rng = new Rng(100 + B + H + K);
      const Z = randomF32(rng, B * H, -3, 3);
      const biases = randomF32(rng, K * H);
      const task = tasksOf(rng, B, K, false);
      for (const act of ACTS) {
        const r = await both('mt', 'bias_act_gather', { B, H, K, act: ACT[act], Z, biases, task });
        assertClose(`bias_act_gather ${act}`, r.cuda.Z!, r.cpu.Z!, 1e-6, 1e-5);
      }
    });

    it(`column_sum_scatter B=${B} H=${H} K=${K} (a task without rows)`, async () => {
      const rng = new Rng(200 + B + H + K);
      const G = randomF32(rng, B * H);
      const task = tasksOf(rng, B, K);
      const args = { B, H, K, G, task };
      const r = await both('mt', 'column_sum_scatter', args);
      const scale = new Float64Array(K * H);
      for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) scale[task[b]! * H + h]! += Math.abs(G[b * H + h]!);
      assertClose('column_sum_scatter', r.cuda.out!, r.cpu.out!, 1e-6, 1e-5, scale);
      if (K > 1) expect(Array.from(r.cuda.out!.subarray((K - 1) * H)).every((v) => v === 0)).toBe(true);
      await cudaTwice('mt', 'column_sum_scatter', args, 'out');
    });

    it(`gate_rows and gate_backward B=${B} H=${H} K=${K} (out of place and in place)`, async () => {
      const rng = new Rng(300 + B + H + K);
      const U = randomF32(rng, B * H, 0, 2);
      const theta = randomF32(rng, K * H, -2, 2);
      const slope = 3;
      const gates = Float32Array.from(theta, (t) => 1 / (1 + Math.exp(-slope * t)));
      const task = tasksOf(rng, B, K);
      const g = await both('mt', 'gate_rows', { B, H, K, U, gates, task });
      exact('gate_rows', g.cuda.A!, g.cpu.A!);
      const dA = randomF32(rng, B * H);
      const scale = new Float64Array(K * H);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++) scale[task[b]! * H + h]! += Math.abs(dA[b * H + h]! * U[b * H + h]!);
      for (let i = 0; i < K * H; i++) scale[i]! *= slope * gates[i]! * (1 - gates[i]!);
      for (const inPlace of [false, true]) {
        const args = { B, H, K, dA, U, gates, task, slope, inPlace };
        const r = await both('mt', 'gate_backward', args);
        assertClose(`gate_backward dtheta (inPlace ${inPlace})`, r.cuda.dtheta!, r.cpu.dtheta!, 1e-6, 1e-5, scale);
        exact(`gate_backward dU (inPlace ${inPlace})`, r.cuda.dU!, r.cpu.dU!);
        await cudaTwice('mt', 'gate_backward', args, 'dtheta');
      }
    });

    it(`task_moments B=${B} H=${H} K=${K}, with and without a shift`, async () => {
      const rng = new Rng(400 + B + H + K);
      const A = randomF32(rng, B * H, -1, 2);
      for (let i = 0; i < A.length; i += 3) A[i] = 0;
      const task = tasksOf(rng, B, K);
      const shift = randomF32(rng, K * H);
      const KH = K * H;
      for (const withShift of [false, true]) {
        const args = { B, H, K, A, task, threshold: 0, ...(withShift ? { shift } : {}) };
        const r = await both('mt', 'task_moments', args);
        assertClose('task_moments sums', r.cuda.out!.subarray(0, 2 * KH), r.cpu.out!.subarray(0, 2 * KH), 1e-5, 1e-6);
        exact('task_moments counts', r.cuda.out!.subarray(2 * KH), r.cpu.out!.subarray(2 * KH));
        await cudaTwice('mt', 'task_moments', args, 'out');
      }
    });
  }

  for (const B of [1, 7, 33, 1023]) {
    for (const perTask of [false, true]) {
      it(`softmax_xent_task B=${B}, ${perTask ? 'per-task readout slices (5, 3, 40, 1 classes)' : 'shared readout'}`, async () => {
        const rng = new Rng(500 + B + (perTask ? 1 : 0));
        const classes = perTask ? Int32Array.from([5, 3, 40, 1]) : Int32Array.from([4, 4, 4, 4]);
        const K = classes.length;
        const off = new Int32Array(K);
        let R = perTask ? 0 : 4;
        if (perTask)
          for (let k = 0; k < K; k++) {
            off[k] = R;
            R += classes[k]!;
          }
        const logits = randomF32(rng, B * R, -5, 5);
        const task = randomLabels(rng, B, K);
        const labels = Int32Array.from(task, (t) => rng.int(classes[t]!));
        const args = { B, R, K, scale: 1 / B, logits, labels, task, off, classes };
        const r = await both('mt', 'softmax_xent_task', args);
        assertClose('dlogits', r.cuda.dlogits!, r.cpu.dlogits!, 1e-7, 1e-5);
        for (let i = 0; i < B * R; i++)
          if (r.cpu.dlogits![i] === 0) expect(r.cuda.dlogits![i], `dlogits[${i}] is 0 on the cpu`).toBe(0);
        const loss = (s: Float32Array) => Array.from({ length: K }, (_, k) => s[2 * k]!);
        const hits = (s: Float32Array) => Array.from({ length: K }, (_, k) => s[2 * k + 1]!);
        assertClose('per-task loss sums', loss(r.cuda.stats!), loss(r.cpu.stats!), 1e-4, 1e-5);
        expect(hits(r.cuda.stats!)).toEqual(hits(r.cpu.stats!));
        await cudaTwice('mt', 'softmax_xent_task', args, 'stats');
      });
    }
  }

  for (const n of [1, 7, 33, 1023]) {
    it(`task_gates n=${n}: soft and hard`, async () => {
      const rng = new Rng(600 + n);
      const theta = randomF32(rng, n, -3, 3);
      theta[0] = 0;
      for (const slope of [0.5, 7]) {
        const r = await both('mt', 'task_gates', { theta, slope, hard: false });
        assertClose('soft gates', r.cuda.gates!, r.cpu.gates!, 1e-7, 1e-6);
      }
      const h = await both('mt', 'task_gates', { theta, slope: 1, hard: true });
      exact('hard gates', h.cuda.gates!, h.cpu.gates!);
    });
  }
});

describe.skipIf(!hasCuda)('CUDA RNN kernels against the CPU backend', () => {
  it('gather_seq: time windows, D = 1 and D = 33, bit-exact', async () => {
    const rng = new Rng(1);
    for (const [N, Ttot, D, B, T, t0] of [
      [7, 9, 3, 5, 4, 3],
      [1, 1, 1, 1, 1, 0],
      [1023, 17, 1, 33, 17, 0],
      [40, 12, 33, 7, 5, 6],
    ] as const) {
      const src = randomF32(rng, N * Ttot * D);
      const idx = randomLabels(rng, B, N);
      const r = await both('rnn', 'gather_seq', { src, idx, N, B, T, D, rowStride: Ttot * D, offset: t0 * D });
      exact(`gather_seq N=${N} D=${D}`, r.cuda.dst!, r.cpu.dst!);
    }
  });

  for (const n of [1, 7, 33, 1023, 40001]) {
    it(`axpby n=${n}, with and without y`, async () => {
      const rng = new Rng(2 + n);
      const x = randomF32(rng, n),
        y = randomF32(rng, n);
      const r = await both('rnn', 'axpby', { n, x, y, a: 0.7, b: -1.3 });
      assertClose('axpby', r.cuda.out!, r.cpu.out!, 1e-6, 1e-5);
      const s = await both('rnn', 'axpby', { n, x, a: 2.5, b: 0 });
      assertClose('axpby without y', s.cuda.out!, s.cpu.out!, 1e-6, 1e-5);
    });
  }

  for (const [B, H] of [
    [1, 1],
    [7, 33],
    [33, 1023],
    [1023, 7],
  ] as const) {
    it(`rnn_step and rnn_step_backward B=${B} H=${H}, every activation`, async () => {
      const rng = new Rng(3 + B + H);
      const Z = randomF32(rng, B * H, -9, 9),
        bias = randomF32(rng, H),
        Rp = randomF32(rng, B * H);
      for (const act of ACTS) {
        const s = await both('rnn', 'rnn_step', { B, H, act: ACT[act], decay: 0.3, gain: 0.7, Z, bias, Rp });
        assertClose(`rnn_step ${act} phi`, s.cuda.Z!, s.cpu.Z!, 1e-6, 1e-5);
        assertClose(`rnn_step ${act} Rn`, s.cuda.Rn!, s.cpu.Rn!, 1e-6, 1e-5);
        const Dr = randomF32(rng, B * H),
          DYA = randomF32(rng, B * H);
        const Phi = s.cpu.Z!; // the same activation output on both backends
        const b = await both('rnn', 'rnn_step_backward', { B, H, act: ACT[act], gain: 0.7, Dr, DYA, Phi });
        exact(`rnn_step_backward ${act} Dr`, b.cuda.Dr!, b.cpu.Dr!);
        assertClose(`rnn_step_backward ${act} dZ`, b.cuda.dZ!, b.cpu.dZ!, 1e-6, 1e-5);
        const nb = await both('rnn', 'rnn_step_backward', { B, H, act: ACT[act], gain: 1, Dr, Phi });
        assertClose(`rnn_step_backward ${act} dZ without DYA`, nb.cuda.dZ!, nb.cpu.dZ!, 1e-6, 1e-5);
      }
    });
  }

  for (const [T, B, O] of [
    [1, 1, 1],
    [6, 7, 3],
    [17, 33, 2],
    [3, 1023, 1],
  ] as const) {
    it(`seq_mse T=${T} B=${B} O=${O}, with and without Yprev`, async () => {
      const rng = new Rng(9 + T + B + O);
      const Y = randomF32(rng, T * B * O),
        Tg = randomF32(rng, T * B * O),
        w = randomF32(rng, T * B, 0, 1),
        v = randomF32(rng, T * B, 0, 2);
      const Yprev = randomF32(rng, B * O);
      for (const prev of [true, false]) {
        const args = { T, B, O, scale: 1 / B, Y, Tg, w, v, ...(prev ? { Yprev } : {}) };
        const r = await both('rnn', 'seq_mse', args);
        assertClose('seq_mse dY', r.cuda.dY!, r.cpu.dY!, 1e-7, 1e-5);
        assertClose('seq_mse stats', r.cuda.stats!, r.cpu.stats!, 1e-6, 1e-5);
        await cudaTwice('rnn', 'seq_mse', args, 'stats');
      }
    });
  }

  for (const [B, D, C] of [
    [1, 1, 1],
    [7, 33, 4],
    [33, 301, 40],
    [1023, 7, 1],
    [1023, 65, 5],
  ] as const) {
    it(`scatter_add_rows B=${B} D=${D} C=${C}, beta 0 and 0.25`, async () => {
      const rng = new Rng(10 + B + D + C);
      const src = randomF32(rng, B * D),
        out0 = randomF32(rng, C * D);
      const idx = randomLabels(rng, B, C);
      for (const beta of [0, 0.25]) {
        const args = { B, D, C, alpha: 0.5, beta, src, idx, out: out0 };
        const r = await both('rnn', 'scatter_add_rows', args);
        const scale = Array.from(out0, (x) => Math.abs(beta * x));
        for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) scale[idx[b]! * D + d]! += Math.abs(0.5 * src[b * D + d]!);
        assertClose(`scatter_add_rows beta ${beta}`, r.cuda.out!, r.cpu.out!, 1e-6, 1e-5, scale);
        await cudaTwice('rnn', 'scatter_add_rows', args, 'out');
      }
    });
  }

  for (const [rows, H] of [
    [1, 1],
    [7, 33],
    [33, 517],
    [1023, 7],
  ] as const) {
    it(`column_dot rows=${rows} H=${H}, beta 0 and 1`, async () => {
      const rng = new Rng(11 + rows + H);
      const A = randomF32(rng, rows * H),
        Bm = randomF32(rng, rows * H),
        out0 = randomF32(rng, H);
      for (const beta of [0, 1]) {
        const args = { rows, H, beta, A, Bm, out: out0 };
        const r = await both('rnn', 'column_dot', args);
        const scale = Array.from(out0, (x) => Math.abs(beta * x));
        for (let q = 0; q < rows; q++) for (let h = 0; h < H; h++) scale[h]! += Math.abs(A[q * H + h]! * Bm[q * H + h]!);
        assertClose(`column_dot beta ${beta}`, r.cuda.out!, r.cpu.out!, 1e-6, 1e-5, scale);
        await cudaTwice('rnn', 'column_dot', args, 'out');
      }
    });
  }

  for (const [B, H, K] of [
    [1, 1, 1],
    [3, 7, 11],
    [7, 33, 33],
    [33, 7, 1],
  ] as const) {
    it(`outer_trace and trace_grad B=${B} H=${H} K=${K}`, async () => {
      const rng = new Rng(12 + B + H + K);
      const P = randomF32(rng, B * H * K),
        D = randomF32(rng, B * H),
        X = randomF32(rng, B * K);
      const t = await both('rnn', 'outer_trace', { B, H, K, decay: 0.6, gain: 0.4, P, D, X });
      assertClose('outer_trace', t.cuda.P!, t.cpu.P!, 1e-6, 1e-5);
      const E = randomF32(rng, B * H);
      const Pn = t.cpu.P!;
      for (const beta of [0, 0.5]) {
        const G = randomF32(rng, H * K);
        const args = { B, H, K, beta, P: Pn, E, G };
        const r = await both('rnn', 'trace_grad', args);
        const scale = Array.from(G, (x) => Math.abs(beta * x));
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++)
            for (let k = 0; k < K; k++) scale[h * K + k]! += Math.abs(E[b * H + h]! * Pn[(b * H + h) * K + k]!);
        assertClose(`trace_grad beta ${beta}`, r.cuda.G!, r.cpu.G!, 1e-6, 1e-5, scale);
        await cudaTwice('rnn', 'trace_grad', args, 'G');
      }
    });
  }

  for (const n of [1, 7, 33, 1023, 200003]) {
    it(`sum_squares n=${n}`, async () => {
      const rng = new Rng(13 + n);
      const x = randomF32(rng, n);
      const r = await both('rnn', 'sum_squares', { x });
      assertClose('sum_squares', r.cuda.out!, r.cpu.out!, 0, 1e-6);
      await cudaTwice('rnn', 'sum_squares', { x }, 'out');
    });
  }

  it('copy2d: strided rows, bit-exact', async () => {
    const rng = new Rng(14);
    for (const [rows, cols, ldd, lds] of [
      [5, 3, 4, 7],
      [1, 1, 1, 1],
      [1023, 33, 40, 33],
      [33, 2, 5, 2],
    ] as const) {
      const src = randomF32(rng, rows * lds),
        dst = randomF32(rng, rows * ldd);
      const r = await both('rnn', 'copy2d', { rows, cols, ldd, lds, src, dst });
      exact(`copy2d ${rows}x${cols}`, r.cuda.dst!, r.cpu.dst!);
    }
  });
});

// ---------------------------------------------------------------- end to end

const TRAINED_TOL = 1e-3;
const GRAD_TOL = 1e-4;

function teacherTask(seed: number, n: number, I: number, classes: number): Dataset {
  const rng = new Rng(seed);
  const W = Float32Array.from({ length: classes * I }, () => rng.normal());
  const x = Float32Array.from({ length: n * I }, () => rng.normal());
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += W[c * I + i]! * x[r * I + i]!;
      if (s > bv) {
        bv = s;
        best = c;
      }
    }
    y[r] = best;
  }
  return Dataset.classification(x, I, y, classes);
}

function expectSameTensors(
  cuda: Record<string, Float32Array>,
  cpu: Record<string, Float32Array>,
  tol: number,
  what: string,
): void {
  expect(Object.keys(cuda).sort()).toEqual(Object.keys(cpu).sort());
  for (const k of Object.keys(cpu)) {
    const e = relNormError(cuda[k]!, cpu[k]!);
    expect(e, `${what}: ${k}: ||cuda - cpu|| / ||cpu|| = ${e}`).toBeLessThanOrEqual(tol);
  }
}

describe.skipIf(!hasCuda)('CUDA end to end: the same models train alike on cpu and cuda', () => {
  for (const train of ['bias', 'mask'] as const) {
    it(`multi-task MLP (${train} learning, per-task readouts, 3 tasks): gradients, 2 epochs, evaluation and activity`, async () => {
      const I = 10;
      const classes = [3, 5, 4];
      const data = MultitaskDataset.fromTasks(classes.map((c, k) => ({ name: `t${k}`, data: teacherTask(40 + k, 60, I, c) })));
      const make = (backend: 'cpu' | 'cuda') =>
        MultitaskModel.create({
          inputSize: I,
          hidden: [48, 24],
          tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
          train,
          readout: 'per-task',
          activation: 'tanh',
          biasInit: { dist: 'normal', scale: 0.3, relative: false },
          maskInit: 0.5,
          seed: 3,
          backend,
        });
      const cpu = await make('cpu');
      const cuda = await make('cuda');
      try {
        const gc = await cpu.gradients(data);
        const gg = await cuda.gradients(data);
        expect(Math.abs(gg.loss - gc.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(gc.loss)));
        expectSameTensors(gg.grads, gc.grads, GRAD_TOL, 'multi-task gradients');

        await cpu.fit(data, { epochs: 2, batchSize: 16, seed: 1 });
        await cuda.fit(data, { epochs: 2, batchSize: 16, seed: 1 });
        expectSameTensors(await cuda.getLearned(), await cpu.getLearned(), TRAINED_TOL, 'multi-task learned');

        const ec = await cpu.evaluate(data);
        const eg = await cuda.evaluate(data);
        expect(Math.abs(eg.loss - ec.loss)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(ec.loss)));

        const ac = await cpu.activity(data);
        const ag = await cuda.activity(data);
        expect(ag.count).toEqual(ac.count);
        for (let k = 0; k < ac.mean.length; k++) {
          assertClose(`activity mean ${k}`, ag.mean[k]!, ac.mean[k]!, 1e-4, 1e-3);
          assertClose(`activity variance ${k}`, ag.variance[k]!, ac.variance[k]!, 1e-4, 1e-3);
        }
      } finally {
        cpu.dispose();
        cuda.dispose();
      }
    });
  }

  for (const rule of ['bptt', 'tbptt:4:online', 'rflo']) {
    it(`RNN (${rule}; 2 learned initial states, ${rule === 'rflo' ? 'bias' : 'full'} training, clip 1): gradients and 2 passes`, async () => {
      const n = 10,
        T = 9,
        I = 3,
        O = 2;
      const rng = new Rng(8);
      const data = SequenceDataset.create({
        inputs: Float32Array.from({ length: n * T * I }, () => rng.normal()),
        targets: Float32Array.from({ length: n * T * O }, () => rng.normal() * 0.5),
        steps: T,
        inputSize: I,
        outputSize: O,
        conditions: Int32Array.from({ length: n }, (_, i) => i % 2),
      });
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      const make = (backend: 'cpu' | 'cuda') =>
        RNN.create({
          inputSize: I,
          hidden: 40,
          outputSize: O,
          learnInitialState: true,
          learnReadoutBias: true,
          conditions: 2,
          alpha: 0.5,
          seed: 8,
          train: rule === 'rflo' ? 'bias' : 'full',
          clip: 1,
          biasInit: { dist: 'normal', scale: 0.3, relative: false },
          backend,
        });
      const cpu = await make('cpu');
      const cuda = await make('cuda');
      try {
        const gc = await cpu.gradients(data, { rule });
        const gg = await cuda.gradients(data, { rule });
        expect(Math.abs(gg.loss - gc.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(gc.loss)));
        expectSameTensors(gg.grads, gc.grads, GRAD_TOL, `rnn ${rule} gradients`);
        for (let pass = 0; pass < 2; pass++) {
          await cpu.trainSequences(data, idx, 5, 1e-2, { rule });
          await cuda.trainSequences(data, idx, 5, 1e-2, { rule });
        }
        expectSameTensors(await cuda.getLearned(), await cpu.getLearned(), TRAINED_TOL, `rnn ${rule} learned`);
      } finally {
        cpu.dispose();
        cuda.dispose();
      }
    });
  }
});
