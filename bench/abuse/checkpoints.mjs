#!/usr/bin/env node
// Abuse counter (issue 14, points 5-7 and 9): generates corrupted and hostile checkpoints of every
// model kind and calls the public API with wrong arguments, then counts what happened to each input:
//   typed    a BiasLearnError with an E_* code (the wanted outcome)
//   untyped  any other throw (TypeError, RangeError, a plain Error ...)
//   silent   no error where one is due (a corrupt checkpoint loaded, a bad argument accepted)
//   slow     a rejection that took longer than --slow-ms (a hostile size that allocated first)
//   hang     no answer within --hang-s seconds (the worker is killed and restarted)
//   crash    the worker process died (signal or abort)
// Each input runs in a worker child process so a crash or hang costs only that input.
//
//   node bench/abuse/checkpoints.mjs [--dist <dir with index.js>] [--per-kind N] [--seed S] [--label L]
//
// Writes bench/results/abuse-<label>.json and prints a table. --dist defaults to ./dist (build it
// with `npm run build:ts`); point it at another checkout's dist to count the code before a change.
import { fork, spawnSync } from 'node:child_process';
import { crc32 } from 'node:zlib';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineInfo } from '../machine.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const distDir = resolve(flag('dist', join(here, '..', '..', 'dist')));
const perKind = Number(flag('per-kind', 1500));
const seed = Number(flag('seed', 1));
const label = flag('label', 'run');
const slowMs = Number(flag('slow-ms', 1000));
const hangS = Number(flag('hang-s', 10));

// ----------------------------------------------------------------- a seeded generator (mulberry32)
function rng(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ----------------------------------------------------------------- checkpoint surgery
function split(buf) {
  const hlen = buf.readUInt32LE(12);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + hlen));
  const dataStart = Math.ceil((16 + hlen) / 4) * 4;
  return { header, data: buf.subarray(dataStart, buf.length - 4) };
}
/** Re-encodes a header and tensor bytes with a valid checksum (a hostile file, not a corrupt one). */
function join2(header, data) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = Math.ceil((16 + json.length) / 4) * 4;
  const buf = Buffer.alloc(dataStart + data.length + 4);
  buf.write('BIASLRN\n', 0, 'latin1');
  buf.writeUInt32LE(1, 8);
  buf.writeUInt32LE(json.length, 12);
  json.copy(buf, 16);
  data.copy(buf, dataStart);
  buf.writeUInt32LE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
  return buf;
}
function withCrc(buf) {
  const b = Buffer.from(buf);
  b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}
/** Every [path, value] leaf of the model config (objects and arrays walked). */
function leaves(v, path = []) {
  if (v === null || typeof v !== 'object') return [[path, v]];
  const out = [[path, v]];
  for (const [k, x] of Object.entries(v)) out.push(...leaves(x, [...path, Array.isArray(v) ? Number(k) : k]));
  return out;
}
function setAt(root, path, value) {
  const copy = structuredClone(root);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  const last = path.at(-1);
  if (value === DELETE) {
    if (Array.isArray(o)) o.splice(last, 1);
    else delete o[last];
  } else o[last] = value;
  return copy;
}
const DELETE = Symbol('delete');
/** Values of another JSON type than `v` (each must be refused where `v` was). */
function wrongTypes(v) {
  const all = [null, 'x', true, {}, [], 1.5, -1];
  return all.filter((w) => {
    if (w === null) return v !== null;
    if (Array.isArray(w)) return !Array.isArray(v);
    if (typeof w === 'object') return typeof v !== 'object' || v === null || Array.isArray(v);
    return typeof w !== typeof v;
  });
}
/** Fields a valid file may lack or hold as null (by design), which mutations leave alone. */
const OPTIONAL = new Set(['clip', 'alpha', 'weightPrecision', 'tf32']);

/**
 * The mutations of one base checkpoint, each { what, bytes, mustFail }. Every one of these must
 * be refused: flips and truncations break the checksum; field mutations change a field's type
 * or break the tensor list (checksum recomputed, so only validation can catch them).
 */
function mutations(kind, base, n, r) {
  const out = [];
  const { header, data } = split(base);
  const fields = leaves(header.model).filter(([p]) => p.length > 0 && p[0] !== 'kind' && !OPTIONAL.has(p.at(-1)));
  const pick = (a) => a[Math.floor(r() * a.length)];
  // Structural: duplicate, missing, renamed and mis-sized tensor entries; hostile sizes.
  const t0 = header.tensors[0];
  out.push({
    what: 'duplicate tensor entry',
    bytes: join2({ ...header, tensors: [...header.tensors, t0] }, Buffer.concat([data, data.subarray(0, t0.length * 4)])),
  });
  out.push({
    what: 'missing tensor entry',
    bytes: join2({ ...header, tensors: header.tensors.slice(1) }, data.subarray(t0.length * 4)),
  });
  out.push({
    what: 'renamed tensor',
    bytes: join2({ ...header, tensors: [{ ...t0, name: 'zz.bias' }, ...header.tensors.slice(1)] }, data),
  });
  out.push({ what: 'model: null', bytes: join2({ ...header, model: null }, data) });
  out.push({ what: 'model: []', bytes: join2({ ...header, model: [] }, data) });
  out.push({ what: 'tensors: null', bytes: join2({ ...header, tensors: null }, data) });
  out.push({ what: 'libraryVersion: 7', bytes: join2({ ...header, libraryVersion: 7 }, data) });
  out.push({ what: 'metadata: 5', bytes: join2({ ...header, metadata: 5 }, data) });
  for (const units of [16384, 2 ** 30, 2 ** 31, 1e300]) {
    const m = structuredClone(header.model);
    if (kind === 'mlp') m.layers[0].out = units;
    else if (kind === 'multitask') m.hidden[0] = units;
    else if (kind === 'contrastive') m.sizes[1] = units;
    else m.hidden = units;
    out.push({ what: `hidden ${units}`, bytes: join2({ ...header, model: m }, data), timed: true });
    const m2 = structuredClone(header.model);
    if (kind === 'mlp') m2.layers[0].in = units;
    else if (kind === 'contrastive') m2.sizes[0] = units;
    else m2.inputSize = units;
    // 16,384 inputs fit under the loaders' weight cap: a valid file, so it may load.
    out.push({ what: `inputSize ${units}`, bytes: join2({ ...header, model: m2 }, data), timed: true, mayPass: units === 16384 });
  }
  while (out.length < n) {
    const u = r();
    if (u < 0.3) {
      const b = Buffer.from(base);
      const flips = 1 + Math.floor(r() * 4);
      for (let i = 0; i < flips; i++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
      if (b.equals(base)) continue;
      out.push({ what: 'byte flip', bytes: b });
    } else if (u < 0.4) {
      out.push({ what: 'truncation', bytes: base.subarray(0, Math.floor(r() * base.length)) });
    } else if (u < 0.5) {
      // A flip inside the header JSON with the checksum recomputed: refused unless it still parses
      // to the same header (then it is not counted).
      const hlen = base.readUInt32LE(12);
      const b = Buffer.from(base);
      b[16 + Math.floor(r() * hlen)] ^= 1 << Math.floor(r() * 8);
      let same = false;
      try {
        same = JSON.stringify(JSON.parse(b.toString('utf8', 16, 16 + hlen))) === JSON.stringify(header);
      } catch {}
      if (same) continue;
      out.push({ what: 'header flip + crc', bytes: withCrc(b), mayPass: true });
    } else {
      const [path, v] = pick(fields);
      const w = r() < 0.15 ? DELETE : pick(wrongTypes(v));
      out.push({
        what: `model.${path.join('.')} = ${w === DELETE ? '<deleted>' : JSON.stringify(w)}`,
        bytes: join2({ ...header, model: setAt(header.model, path, w) }, data),
      });
    }
  }
  return out.slice(0, n);
}

// ----------------------------------------------------------------- worker: runs cases by index
async function worker() {
  const lib = await import(pathToFileURL(join(distDir, 'index.js')).href);
  const dir = process.env.ABUSE_DIR;
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
  const calls = badCalls(lib, dir);
  const loaders = { mlp: lib.MLP, multitask: lib.MultitaskModel, rnn: lib.RNN, contrastive: lib.EnergyNetwork };
  process.on('message', async (i) => {
    const c = cases[i];
    const t0 = performance.now();
    let outcome;
    let detail = '';
    try {
      if (c.type === 'checkpoint') {
        const m = await loaders[c.kind].load(join(dir, c.file));
        m.dispose();
      } else if (c.type === 'cli') {
        const r = spawnSync(process.execPath, [join(distDir, 'cli', 'main.js'), ...c.argv], {
          encoding: 'utf8',
          timeout: (hangS - 1) * 1000,
          cwd: dir,
        });
        if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGTERM') throw Object.assign(new Error('cli hang'), { hang: true });
        const leaked = c.secret && (r.stderr + r.stdout).includes(c.secret);
        if (r.status === 0 || leaked) throw Object.assign(new Error(leaked ? 'disclosed bytes' : 'exit 0'), { silent: true });
        // A typed refusal: `error [E_...]` (exit 1), or a usage error naming what to pass (exit 2).
        const typed = /^error \[E_[A-Z_]+\]: /m.test(r.stderr) || (r.status === 2 && /^error: /m.test(r.stderr));
        if (!typed) throw new Error(`untyped cli failure: ${r.stderr.slice(-200)}`);
        throw Object.assign(new Error('typed'), { code: 'E_CLI', typedCli: true });
      } else {
        await calls[c.name]();
      }
      outcome = c.mayPass ? 'passed' : 'silent';
    } catch (err) {
      if (err?.hang) outcome = 'hang';
      else if (err?.silent) outcome = 'silent';
      else if (err?.typedCli || (err instanceof lib.BiasLearnError && /^E_[A-Z_]+$/.test(err.code))) outcome = 'typed';
      else {
        outcome = 'untyped';
        detail = `${err?.name}: ${String(err?.message).slice(0, 160)}`;
      }
    }
    const ms = performance.now() - t0;
    if (outcome === 'typed' && c.timed && ms > slowMs) outcome = 'slow';
    process.send({ i, outcome, ms, detail });
  });
  process.send({ ready: true });
}

/** Wrong-argument calls of the public API: each must be refused with a typed error. */
function badCalls(lib, dir) {
  const X = new Float32Array(8 * 3);
  const Y = new Int32Array(8);
  const data = () => lib.Dataset.classification(X, 3, Y, 2);
  const mlp = () => lib.MLP.create({ inputSize: 3, hidden: 4, outputSize: 2, seed: 1 });
  const rnn = () => lib.RNN.create({ inputSize: 1, hidden: 4, outputSize: 1, seed: 1 });
  const seqs = () =>
    lib.SequenceDataset.create({
      inputs: new Float32Array(2 * 3),
      targets: new Float32Array(2 * 3),
      steps: 3,
      inputSize: 1,
      outputSize: 1,
    });
  const withModel = (make, f) => async () => {
    const m = await make();
    try {
      await f(m);
    } finally {
      m.dispose();
    }
  };
  const cyc = {};
  cyc.self = cyc;
  return {
    'fit(data, null)': withModel(mlp, (m) => m.fit(data(), null)),
    'fit callbacks "x"': withModel(mlp, (m) => m.fit(data(), { callbacks: 'x' })),
    'fit callbacks [5]': withModel(mlp, (m) => m.fit(data(), { callbacks: [5] })),
    'fit lrSchedule 42': withModel(mlp, (m) => m.fit(data(), { lrSchedule: 42 })),
    'fit signal {}': withModel(mlp, (m) => m.fit(data(), { signal: {} })),
    'fit signal "x"': withModel(mlp, (m) => m.fit(data(), { signal: 'x' })),
    'fit shuffle "yes"': withModel(mlp, (m) => m.fit(data(), { shuffle: 'yes' })),
    'fit(null)': withModel(mlp, (m) => m.fit(null)),
    'fit cacheInputLayer 3': withModel(mlp, (m) => m.fit(data(), { cacheInputLayer: 3 })),
    'save metadata cycle': withModel(mlp, (m) => m.save(join(dir, 'c.blck'), { metadata: cyc })),
    'save metadata BigInt': withModel(mlp, (m) => m.save(join(dir, 'c.blck'), { metadata: { n: 1n } })),
    'save metadata toJSON throws': withModel(mlp, (m) =>
      m.save(join(dir, 'c.blck'), {
        metadata: {
          toJSON() {
            throw new Error('boom');
          },
        },
      }),
    ),
    'save metadata 5': withModel(mlp, (m) => m.save(join(dir, 'c.blck'), { metadata: 5 })),
    'save options null': withModel(mlp, (m) => m.save(join(dir, 'c.blck'), null)),
    'save path 5': withModel(mlp, (m) => m.save(5)),
    'save into missing folder': withModel(mlp, (m) => m.save(join(dir, 'no', 'such', 'c.blck'))),
    'rnn save metadata cycle': withModel(rnn, (m) => m.save(join(dir, 'r.blck'), { metadata: cyc })),
    'rnn.generate()': withModel(rnn, (m) => m.generate()),
    'rnn.generate(null)': withModel(rnn, (m) => m.generate(null)),
    'rnn.generate steps 2^31': withModel(rnn, (m) => m.generate({ steps: 2 ** 31 })),
    'rnn.generate steps 1e9': withModel(rnn, (m) => m.generate({ steps: 1e9 })),
    'rnn.generate input "x"': withModel(rnn, (m) => m.generate({ steps: 2, input: 'x' })),
    'rnn.evaluate score "x"': withModel(rnn, (m) => m.evaluate(seqs(), { score: 'x' })),
    'rnn.evaluate score 5': withModel(rnn, (m) => m.evaluate(seqs(), { score: 5 })),
    'rnn.evaluate score {from: "a"}': withModel(rnn, (m) => m.evaluate(seqs(), { score: { from: 'a' } })),
    'rnn.predict(null)': withModel(rnn, (m) => m.predict(null)),
    'mlp.predict("x")': withModel(mlp, (m) => m.predict('x')),
    'mlp.evaluate(null)': withModel(mlp, (m) => m.evaluate(null)),
    'writeIdx()': () => lib.writeIdx(),
    'writeIdx(undefined, [1], u8)': () => lib.writeIdx(undefined, [1], new Uint8Array(1)),
    'writeIdx(5, [1], u8)': () => lib.writeIdx(5, [1], new Uint8Array(1)),
    'readIdx(5)': () => lib.readIdx(5),
    'readCheckpoint(null)': () => lib.readCheckpoint(null),
    'MLP.load(5)': () => lib.MLP.load(5),
    'MLP.load(path, null)': () => lib.MLP.load(join(dir, 'mlp.blck'), null),
    'RNN.load(null)': () => lib.RNN.load(null),
    'MultitaskModel.load({})': () => lib.MultitaskModel.load({}),
    'MLP.create(null)': () => lib.MLP.create(null),
    'MLP.create hidden "x"': () => lib.MLP.create({ inputSize: 3, hidden: 'x', outputSize: 2 }),
    'Dataset.classification(null)': () => lib.Dataset.classification(null, 3, Y, 2),
    'writeNpy(null)': () => lib.writeNpy(null, new Float32Array(1)),
    'writeSafetensors(5, {})': () => lib.writeSafetensors(5, {}),
    'generateWeights(null)': () => lib.generateWeights(null),
    'setThreads("x")': () => lib.setThreads('x'),
    'stepDecay(null)': () => lib.stepDecay(null),
    'new EarlyStopping(5)': () => new lib.EarlyStopping(5),
    'new CSVLogger(5)': () => new lib.CSVLogger(5),
    'new ReduceLROnPlateau({ factor: 2 })': () => new lib.ReduceLROnPlateau({ factor: 2 }),
    'new EarlyStopping({ patience: "x" })': () => new lib.EarlyStopping({ patience: 'x' }),
    'exportTensors(null)': () => lib.exportTensors(null),
  };
}

// ----------------------------------------------------------------- driver
async function buildBases(lib, dir) {
  const mlp = await lib.MLP.create({ inputSize: 5, hidden: [6, 4], outputSize: 3, seed: 3 });
  await mlp.save(join(dir, 'mlp.blck'), { metadata: { note: 'base' } });
  mlp.dispose();
  const mt = await lib.MultitaskModel.create({
    inputSize: 5,
    hidden: [6],
    tasks: [
      { name: 'a', classes: 3 },
      { name: 'b', classes: 2 },
    ],
    seed: 4,
  });
  await mt.save(join(dir, 'multitask.blck'));
  mt.dispose();
  const rnn = await lib.RNN.create({ inputSize: 2, hidden: 7, outputSize: 1, seed: 5, learnInitialState: true });
  await rnn.save(join(dir, 'rnn.blck'));
  rnn.dispose();
  // The energy network exists from this release on (the 'before' runs have no such kind).
  if (lib.EnergyNetwork) {
    const energy = await lib.EnergyNetwork.create({ inputSize: 5, hidden: [6, 4], outputSize: 3, seed: 6 });
    await energy.save(join(dir, 'contrastive.blck'));
    energy.dispose();
  }
}

function cliCases(dir) {
  const base = readFileSync(join(dir, 'mlp.blck'));
  const { header, data } = split(base);
  const secretFile = join(dir, 'secret.idx');
  writeFileSync(secretFile, 'SECRETBYTESxyz-not-an-idx-file');
  const fifo = join(dir, 'fifo');
  spawnSync('mkfifo', [fifo]);
  const out = [];
  const hostile = (name, dataSpec, extra = {}) => {
    const file = `cli-${out.length}.blck`;
    writeFileSync(join(dir, file), join2({ ...header, metadata: { data: dataSpec } }, data));
    out.push({ type: 'cli', name: `eval ${name}`, what: `eval with recorded data: ${name}`, argv: ['eval', file], ...extra });
  };
  const idx = (p) => ({ name: 'idx', seed: 0, testFraction: 0.2, images: p, labels: p, split: 'holdout' });
  hostile('/dev/zero', idx('/dev/zero'));
  hostile('fifo', idx(fifo));
  hostile('other file', idx(secretFile), { secret: 'SECR' });
  hostile('dir /dev', { name: 'mnist', seed: 0, testFraction: 0.2, dir: '/dev', split: 'official' });
  hostile('2e9 samples', { name: 'spirals', seed: 0, testFraction: 0.2, samples: 2e9, classes: 3, embed: 64 });
  hostile('embed 1e9', { name: 'spirals', seed: 0, testFraction: 0.2, samples: 100, classes: 3, embed: 1e9 });
  return out;
}

async function main() {
  if (process.argv.includes('--worker')) return worker();
  const dir = mkdtempSync(join(tmpdir(), 'bl-abuse-'));
  const lib = await import(pathToFileURL(join(distDir, 'index.js')).href);
  await buildBases(lib, dir);
  const r = rng(seed);
  const cases = [];
  for (const kind of ['mlp', 'multitask', 'rnn', 'contrastive']) {
    if (!existsSync(join(dir, `${kind}.blck`))) continue;
    const base = readFileSync(join(dir, `${kind}.blck`));
    mutations(kind, base, perKind, r).forEach((m, j) => {
      const file = `${kind}-${j}.blck`;
      writeFileSync(join(dir, file), m.bytes);
      cases.push({ type: 'checkpoint', kind, file, what: m.what, timed: m.timed, mayPass: m.mayPass });
    });
  }
  for (const name of Object.keys(badCalls(lib, dir))) cases.push({ type: 'call', name, what: name });
  cases.push(...cliCases(dir));
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));

  const results = new Array(cases.length);
  let next = 0;
  while (next < cases.length) {
    next = await runWorker(dir, cases, results, next);
  }
  const count = (pred) => results.filter(pred).length;
  const groups = {};
  for (let i = 0; i < cases.length; i++) {
    const g = cases[i].type === 'checkpoint' ? `checkpoint ${cases[i].kind}` : cases[i].type;
    groups[g] ??= { inputs: 0, typed: 0, passed: 0, untyped: 0, silent: 0, slow: 0, hang: 0, crash: 0 };
    groups[g].inputs++;
    groups[g][results[i].outcome]++;
  }
  const total = { inputs: cases.length };
  for (const k of ['typed', 'passed', 'untyped', 'silent', 'slow', 'hang', 'crash']) total[k] = count((x) => x.outcome === k);
  groups.total = total;
  console.log(`abuse counts (${label}; dist ${distDir}; seed ${seed}, ${perKind} mutations per kind)`);
  console.log('group                 inputs  typed passed untyped silent  slow  hang crash');
  for (const [g, c] of Object.entries(groups))
    console.log(
      `${g.padEnd(20)} ${String(c.inputs).padStart(7)} ${[c.typed, c.passed ?? 0, c.untyped, c.silent, c.slow, c.hang, c.crash].map((v) => String(v ?? 0).padStart(6)).join('')}`,
    );
  const bad = cases.map((c, i) => ({ ...c, ...results[i] })).filter((x) => !['typed', 'passed'].includes(x.outcome));
  const examples = {};
  for (const b of bad) {
    const key = `${b.outcome}: ${b.type === 'checkpoint' ? `${b.kind} ${b.what.replace(/\d+/g, 'N')}` : b.what}`;
    examples[key] ??= { count: 0, example: b.what, detail: b.detail, ms: Math.round(b.ms) };
    examples[key].count++;
  }
  for (const [k, v] of Object.entries(examples).slice(0, 60))
    console.log(`  ${k} x${v.count}${v.detail ? ` (${v.detail})` : ''}`);
  const outDir = join(here, '..', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `abuse-${label}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ label, command: `node bench/abuse/checkpoints.mjs ${args.join(' ')}`, dist: distDir, seed, perKind, slowMs, hangS, machine: machineInfo(), date: new Date().toISOString(), counts: groups, failures: examples }, null, 2)}\n`,
  );
  console.log(`wrote ${file}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Runs cases from `start` in one worker until done, a crash or a hang; returns the next index. */
function runWorker(dir, cases, results, start) {
  return new Promise((done) => {
    const child = fork(
      fileURLToPath(import.meta.url),
      ['--worker', '--dist', distDir, '--hang-s', String(hangS), '--slow-ms', String(slowMs)],
      {
        env: { ...process.env, ABUSE_DIR: dir },
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      },
    );
    let i = start;
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        results[i] = { outcome: 'hang', ms: hangS * 1000 };
        child.kill('SIGKILL');
      }, hangS * 1000);
    };
    child.on('message', (m) => {
      if (m.ready) {
        arm();
        child.send(i);
        return;
      }
      results[m.i] = m;
      i = m.i + 1;
      if (i >= cases.length) {
        clearTimeout(timer);
        child.kill();
        return;
      }
      arm();
      child.send(i);
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (i < cases.length && !results[i]) results[i] = { outcome: 'crash', ms: 0 };
      done(i >= cases.length ? cases.length : i + 1);
    });
  });
}

await main();
