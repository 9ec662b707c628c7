#!/usr/bin/env node
// Hostile inputs against the native calls (issue 14, points 1, 3, 4): buffers detached or
// transferred while a call runs, labels changed after validation, sizes that overflow or exceed
// memory, integers past 2^32, seeds that could alias, values that overflow float32. Each case
// runs in its own process (a crash or an abort must not take the others down) with a time limit.
//
//   npm run build:ts && node bench/abuse/native_abuse.mjs [--timeout 60] [--only name,name]
//
// Outcomes: ok (a BiasLearnError with an expected code, or a documented result), crash (signal or
// abort), hang (time limit), untyped (an error that is not a BiasLearnError, or the wrong code),
// silent (resolved where it must fail, or a wrong result). Prints a table and writes
// bench/results/native_abuse.json. BIASLEARN_BUILD_DIR picks the addon (e.g. build-asan/Release).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** name -> { expect: codes that count as ok, run(lib) -> 'ok' | 'silent: why' (throwing = error outcome) }. */
const CASES = {};
const kase = (name, expect, run) => (CASES[name] = { expect, run });

const BIG_ROWS = 1 << 15; // 2^15 rows x 256 inputs: a 32 MiB x, so freed memory is unmapped (munmap)
const BIG_I = 256;

function randomF32(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return a;
}
const sameBits = (a, b) =>
  a.length === b.length &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
// Both free the old backing store (the child runs with --harmony-rab-gsab-transfer on Node 20, --expose-gc).
const detachers = {
  transfer: (ta) => void ta.buffer.transfer(1),
  structuredClone: (ta) => {
    structuredClone(ta.buffer, { transfer: [ta.buffer] });
    globalThis.gc();
  },
};

// ---- point 1: buffers detached while a call runs; labels changed after validation
for (const [how, detach] of Object.entries(detachers)) {
  kase(`mlp.predict x ${how} while running`, ['E_EMPTY', 'E_SHAPE', 'E_INVALID_ARG'], async ({ MLP }) => {
    const m = await MLP.create({ inputSize: BIG_I, hidden: 64, outputSize: 4, seed: 1 });
    const x = randomF32(BIG_ROWS * BIG_I, 1);
    const want = await m.predict(x.slice());
    const p = m.predict(x);
    await Promise.resolve(); // predict validates, then queues the native call
    await new Promise((r) => setImmediate(r));
    detach(x);
    const got = await p;
    return sameBits(got, want) ? 'ok' : 'silent: predictions differ from the values at call time';
  });
  kase(`native predict x ${how} right after the call`, ['E_EMPTY', 'E_SHAPE', 'E_INVALID_ARG'], async ({ MLP }) => {
    const m = await MLP.create({ inputSize: BIG_I, hidden: 64, outputSize: 4, seed: 1 });
    const h = m.native.live();
    const x = randomF32(BIG_ROWS * BIG_I, 2);
    const want = await h.predict(x.slice());
    const p = h.predict(x);
    detach(x);
    return sameBits(await p, want) ? 'ok' : 'silent: predictions differ from the values at call time';
  });
  kase(`native createDataset x ${how} right after the call`, ['E_INVALID_ARG'], async (_lib, nat) => {
    const x = randomF32(BIG_ROWS * BIG_I, 3);
    const labels = new Int32Array(BIG_ROWS);
    const p = nat.createDataset('cpu', x, BIG_I, labels, 4, null, 0);
    detach(x);
    const ds = await p;
    return ds.size === BIG_ROWS ? 'ok' : 'silent: wrong size';
  });
  kase(`native createDataset values ${how} right after the call`, ['E_INVALID_ARG'], async (_lib, nat) => {
    const x = randomF32(BIG_ROWS * 4, 4);
    const values = randomF32(BIG_ROWS * BIG_I, 5);
    const p = nat.createDataset('cpu', x, 4, null, 0, values, BIG_I);
    detach(values);
    const ds = await p;
    return ds.size === BIG_ROWS ? 'ok' : 'silent: wrong size';
  });
  kase(
    `native multitask predict x ${how} right after the call`,
    ['E_EMPTY', 'E_SHAPE', 'E_INVALID_ARG'],
    async ({ MultitaskModel }) => {
      const m = await MultitaskModel.create({
        inputSize: BIG_I,
        hidden: 64,
        tasks: [
          { name: 'a', classes: 3 },
          { name: 'b', classes: 2 },
        ],
        seed: 2,
      });
      const h = m.native.live();
      const x = randomF32(BIG_ROWS * BIG_I, 6);
      const task = new Int32Array(BIG_ROWS);
      const want = await h.predict(x.slice(), task, true, 1);
      const p = h.predict(x, task, true, 1);
      detach(x);
      return sameBits(await p, want) ? 'ok' : 'silent: predictions differ from the values at call time';
    },
  );
  kase(`native createMultitaskDataset x ${how} right after the call`, ['E_INVALID_ARG'], async (_lib, nat) => {
    const x = randomF32(BIG_ROWS * BIG_I, 7);
    const p = nat.createMultitaskDataset('cpu', x, BIG_I, new Int32Array(BIG_ROWS), new Int32Array(BIG_ROWS), Int32Array.of(3));
    detach(x);
    const ds = await p;
    return ds.size === BIG_ROWS ? 'ok' : 'silent: wrong size';
  });
  kase(`native createSeqDataset x ${how} right after the call`, ['E_INVALID_ARG'], async (_lib, nat) => {
    const n = 256,
      T = 64,
      I = 128;
    const x = randomF32(n * T * I, 8);
    const y = randomF32(n * T, 9);
    const p = nat.createSeqDataset('cpu', { n, steps: T, in: I, out: 1, x, y });
    detach(x);
    detach(y);
    const ds = await p;
    return ds.size === n ? 'ok' : 'silent: wrong size';
  });
}
for (const bad of [1000, -5e8]) {
  kase(`mlp labels set to ${bad} after validation (fit, evaluate, gradients)`, ['E_LABEL_RANGE'], async ({ MLP, Dataset }) => {
    const m = await MLP.create({ inputSize: 5, hidden: 6, outputSize: 3, seed: 1 });
    const ds = Dataset.classification(randomF32(45, 1), 5, new Int32Array(9), 3);
    ds.targets.labels[4] = bad;
    const codes = [];
    for (const f of [() => m.gradients(ds), () => m.evaluate(ds), () => m.fit(ds, { epochs: 1, batchSize: 4 })]) {
      try {
        await f();
        return 'silent: resolved with an out-of-range label';
      } catch (e) {
        codes.push(e.code);
      }
    }
    if (codes.some((c) => c !== 'E_LABEL_RANGE'))
      throw Object.assign(new Error(`codes ${codes}`), { code: codes.find((c) => c !== 'E_LABEL_RANGE') });
    return 'ok';
  });
  kase(
    `multitask task ids set to ${bad} after validation`,
    ['E_INVALID_ARG', 'E_LABEL_RANGE'],
    async ({ MultitaskModel, MultitaskDataset, Dataset }) => {
      const m = await MultitaskModel.create({
        inputSize: 5,
        hidden: 6,
        tasks: [
          { name: 'a', classes: 3 },
          { name: 'b', classes: 3 },
        ],
        seed: 1,
      });
      const md = MultitaskDataset.fromTasks(
        ['a', 'b'].map((name, k) => ({ name, data: Dataset.classification(randomF32(30, k + 1), 5, new Int32Array(6), 3) })),
      );
      md.taskIds[2] = bad;
      await m.gradients(md);
      return 'silent: resolved with an out-of-range task id';
    },
  );
}

// ---- point 3: sizes past memory or overflowing
kase('generateWeights rows = cols = 2^31 - 1', ['E_INVALID_ARG', 'E_OOM'], async ({ generateWeights }) => {
  await generateWeights({ rows: 2 ** 31 - 1, cols: 2 ** 31 - 1, seed: 1, stream: 0, dist: 'uniform', a: 1 });
  return 'silent: resolved';
});
kase('generateWeights 1e5 x 1e5 (40 GB)', ['E_INVALID_ARG', 'E_OOM'], async ({ generateWeights }) => {
  await generateWeights({ rows: 1e5, cols: 1e5, seed: 1, stream: 0, dist: 'uniform', a: 1 });
  return 'silent: resolved';
});
kase('measureSgemm M = N = K = 2^20 (4 TiB per matrix)', ['E_INVALID_ARG', 'E_OOM'], async ({ measureSgemm }) => {
  await measureSgemm({ M: 2 ** 20, N: 2 ** 20, K: 2 ** 20, reps: 1 });
  return 'silent: resolved';
});
kase('MLP.create 2^20 inputs x 2^20 hidden, train full (4 TiB weight)', ['E_INVALID_ARG', 'E_OOM'], async ({ MLP }) => {
  await MLP.create({ inputSize: 2 ** 20, hidden: 2 ** 20, outputSize: 2, seed: 1, train: 'full' });
  return 'silent: resolved';
});
kase('RNN.create hidden 2^20 (4 TiB recurrent weight)', ['E_INVALID_ARG', 'E_OOM'], async ({ RNN }) => {
  await RNN.create({ inputSize: 1, hidden: 2 ** 20, outputSize: 1, seed: 1 });
  return 'silent: resolved';
});
kase('MultitaskModel.create hidden [2^20, 2^20]', ['E_INVALID_ARG', 'E_OOM', 'E_CONFIG'], async ({ MultitaskModel }) => {
  await MultitaskModel.create({ inputSize: 4, hidden: [2 ** 20, 2 ** 20], tasks: [{ name: 'a', classes: 2 }], seed: 1 });
  return 'silent: resolved';
});

// ---- point 4: integers and numbers
kase('fit batchSize 2^32 + 8', ['E_INVALID_ARG'], async ({ MLP, Dataset }) => {
  const m = await MLP.create({ inputSize: 5, hidden: 6, outputSize: 3, seed: 1 });
  await m.fit(Dataset.classification(randomF32(45, 1), 5, new Int32Array(9), 3), { epochs: 1, batchSize: 2 ** 32 + 8 });
  return 'silent: trained';
});
kase('seed 2^32 vs seed 0', ['E_INVALID_ARG'], async ({ generateWeights }) => {
  const g = (seed) => generateWeights({ rows: 4, cols: 4, seed, stream: 0, dist: 'uniform', a: 1 });
  return sameBits(await g(2 ** 32), await g(0)) ? 'silent: seed 2^32 aliases seed 0' : 'ok';
});
kase('seed 2^53 (past the stated range)', ['E_INVALID_ARG'], async ({ MLP }) => {
  await MLP.create({ inputSize: 5, hidden: 6, outputSize: 3, seed: 2 ** 53 });
  return 'silent: resolved';
});
kase('measureSgemm M = 2^32 + 2', ['E_INVALID_ARG'], async ({ measureSgemm }) => {
  await measureSgemm({ M: 2 ** 32 + 2, N: 8, K: 8, reps: 1 });
  return 'silent: resolved';
});
kase('generateWeights rows = 2^32 + 5', ['E_INVALID_ARG'], async ({ generateWeights }) => {
  await generateWeights({ rows: 2 ** 32 + 5, cols: 3, seed: 1, stream: 0, dist: 'uniform', a: 1 });
  return 'silent: resolved';
});
kase('native linalgEigenvalues n = 2^32 + 2', ['E_INVALID_ARG', 'E_SHAPE'], async (_lib, nat) => {
  await nat.linalgEigenvalues(new Float64Array(4), 2 ** 32 + 2);
  return 'silent: resolved';
});
kase('native runKernel gemm M = 2^32 + 2', ['E_INVALID_ARG', 'E_SHAPE'], async (_lib, nat) => {
  const a = new Float32Array(4);
  await nat.runKernel('cpu', 'gemm', {
    M: 2 ** 32 + 2,
    N: 2,
    K: 2,
    transA: false,
    transB: false,
    alpha: 1,
    beta: 0,
    A: a,
    B: a,
    C: new Float32Array(16),
  });
  return 'silent: resolved';
});
kase('mlp.predict with inputs 3.4e38', ['E_NONFINITE'], async ({ MLP }) => {
  const m = await MLP.create({ inputSize: 5, hidden: 6, outputSize: 3, seed: 1 });
  const y = await m.predict(new Float32Array(10).fill(3.4e38));
  return y.every(Number.isFinite) ? 'ok' : 'silent: non-finite predictions';
});
kase('mlp biases 3.4e38 then predict', ['E_NONFINITE'], async ({ MLP }) => {
  const m = await MLP.create({ inputSize: 5, hidden: 6, outputSize: 3, seed: 1, loss: 'mse' });
  const p = await m.getLearned();
  for (const k of Object.keys(p)) p[k].fill(3.4e38);
  await m.setLearned(p);
  const y = await m.predict(randomF32(10, 1));
  return y.every(Number.isFinite) ? 'ok' : 'silent: non-finite predictions';
});
kase('multitask predict with inputs 3.4e38', ['E_NONFINITE'], async ({ MultitaskModel }) => {
  const m = await MultitaskModel.create({ inputSize: 5, hidden: 6, tasks: [{ name: 'a', classes: 3 }], seed: 1 });
  const y = await m.predict(new Float32Array(10).fill(3.4e38), 0);
  return y.every(Number.isFinite) ? 'ok' : 'silent: non-finite predictions';
});
kase('mse evaluate with inputs 3.4e38', ['E_NONFINITE'], async ({ MLP, Dataset }) => {
  const m = await MLP.create({ inputSize: 5, hidden: 6, outputSize: 1, seed: 1, loss: 'mse' });
  const r = await m.evaluate(Dataset.regression(new Float32Array(10).fill(3.4e38), 5, new Float32Array(2), 1));
  return Number.isFinite(r.loss) ? 'ok' : 'silent: non-finite loss';
});

// ---- one case in this process
async function runCase(name) {
  const lib = await import(join(root, 'dist', 'index.js'));
  const { nativeFor } = await import(join(root, 'dist', 'native', 'binding.js'));
  const c = CASES[name];
  let outcome;
  let detail = '';
  try {
    const r = await c.run(lib, nativeFor('cpu'));
    outcome = r === 'ok' ? 'ok' : 'silent';
    detail = r;
  } catch (e) {
    // Direct addon calls ('native ...') reject with an Error carrying `code`; the public API with a BiasLearnError.
    const typed = name.startsWith('native ') ? e instanceof Error : e instanceof lib.BiasLearnError;
    const code = e?.code;
    detail = `${e?.name} ${code ?? ''}: ${String(e?.message).slice(0, 160)}`;
    outcome = typed && c.expect.includes(code) ? 'ok' : 'untyped';
  }
  process.stdout.write(`\n@@RESULT ${JSON.stringify({ outcome, detail })}\n`);
  process.exit(0);
}

function main() {
  const args = process.argv.slice(2);
  const at = (k) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  if (at('--case')) return runCase(at('--case'));
  const timeoutS = Number(at('--timeout') ?? 60);
  const only = at('--only')?.split(',');
  const names = Object.keys(CASES).filter((n) => !only || only.includes(n));
  const rows = [];
  for (const name of names) {
    const t0 = Date.now();
    const flags = ['--expose-gc', ...(ArrayBuffer.prototype.transfer ? [] : ['--harmony-rab-gsab-transfer'])];
    const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), '--case', name], {
      encoding: 'utf8',
      timeout: timeoutS * 1000,
      maxBuffer: 1 << 26,
      env: process.env,
    });
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT '));
    let outcome;
    let detail;
    if (r.error?.code === 'ETIMEDOUT') [outcome, detail] = ['hang', `no result in ${timeoutS} s`];
    else if (line) ({ outcome, detail } = JSON.parse(line.slice(9)));
    else
      [outcome, detail] = [
        'crash',
        `${r.signal ?? `exit ${r.status}`}: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ').slice(0, 200)}`,
      ];
    rows.push({ name, outcome, detail, seconds: (Date.now() - t0) / 1000 });
    console.log(`${outcome.padEnd(8)} ${name.padEnd(62)} ${detail}`);
  }
  const counts = { inputs: rows.length };
  for (const k of ['ok', 'crash', 'hang', 'untyped', 'silent']) counts[k] = rows.filter((r) => r.outcome === k).length;
  console.log(`\n${JSON.stringify(counts)}`);
  const out = join(root, 'bench', 'results', at('--json') ?? 'native_abuse.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ addon: process.env.BIASLEARN_BUILD_DIR ?? 'default', counts, cases: rows }, null, 2)}\n`,
  );
}

await main();
