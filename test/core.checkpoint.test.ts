/**
 * Checkpoints (src/model/checkpoint.ts): round trip bit for bit for every trainable set, the file
 * holds only the learned values, saving is atomic, and every kind of bad file is a typed error
 * (BiasLearnError with code E_IO / E_FORMAT and a message naming the path).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { BiasLearnError, CHECKPOINT_VERSION, Dataset, MLP, Rng, readCheckpoint, type TrainableSet } from '../src/index.js';
import { firstBitDiff, randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biaslearn-core-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const INPUT = 64;
const HIDDEN = 256;
const OUT = 10;

function data(seed: number, n = 200): Dataset {
  const rng = new Rng(seed);
  return Dataset.classification(randomNormalF32(rng, n * INPUT), INPUT, randomLabels(rng, n, OUT), OUT);
}

async function trainedModel(train: TrainableSet, seed = 4): Promise<MLP> {
  const model = await MLP.create({
    inputSize: INPUT,
    hidden: [HIDDEN],
    outputSize: OUT,
    train,
    seed,
    biasInit: { dist: 'uniform', scale: 0.1, relative: false },
  });
  await model.fit(data(seed), { epochs: 1, batchSize: 32, seed: 1 }); // 7 steps
  return model;
}

function headerBytes(buf: Buffer): number {
  return Math.ceil((16 + buf.readUInt32LE(12)) / 4) * 4;
}

/** Rewrites the trailing CRC so that only the deliberate change is wrong. */
function fixCrc(buf: Buffer): Buffer {
  buf.writeUInt32LE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
  return buf;
}

async function expectFileError(
  promise: Promise<unknown>,
  code: 'E_IO' | 'E_FORMAT',
  path: string,
  mention?: RegExp,
): Promise<void> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code} for ${path}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BiasLearnError);
  expect((err as BiasLearnError).code).toBe(code);
  expect((err as Error).message).toContain(path);
  if (mention) expect((err as Error).message).toMatch(mention);
}

describe('save / load round trip', () => {
  for (const train of ['bias', 'readout', 'full'] as const) {
    it(`'${train}': predictions, learned values and frozen weights identical bit for bit`, async () => {
      const model = await trainedModel(train);
      const path = join(dir, `roundtrip-${train}.blck`);
      await model.save(path);
      const loaded = await MLP.load(path);
      try {
        expect(loaded.learnedTensors()).toEqual(model.learnedTensors());
        expect(loaded.config.train).toEqual(train);
        const x = randomNormalF32(new Rng(99), 17 * INPUT);
        const a = await model.predict(x);
        const b = await loaded.predict(x);
        expect(firstBitDiff(a, b)).toBe(-1);
        const la = await model.getLearned();
        const lb = await loaded.getLearned();
        for (const name of Object.keys(la)) expect(sameBits(la[name]!, lb[name]!), name).toBe(true);
        // the training actually changed the learned values, so the round trip is not trivial
        const fresh = await MLP.create({
          inputSize: INPUT,
          hidden: [HIDDEN],
          outputSize: OUT,
          train,
          seed: 4,
          biasInit: { dist: 'uniform', scale: 0.1, relative: false },
        });
        const lf = await fresh.getLearned();
        expect(Object.keys(lf).some((name) => !sameBits(lf[name]!, la[name]!))).toBe(true);
        fresh.dispose();
        // frozen weights are regenerated from the seed, identical bits
        expect(firstBitDiff(await model.weights(0), await loaded.weights(0))).toBe(-1);
        expect(firstBitDiff(await model.weights(1), await loaded.weights(1))).toBe(-1);
      } finally {
        model.dispose();
        loaded.dispose();
      }
    });
  }

  it('a per-layer trainable set and metadata survive the round trip', async () => {
    const train = {
      layers: [
        { weight: true, bias: false },
        { weight: false, bias: true },
      ],
    };
    const model = await trainedModel(train, 8);
    const path = join(dir, 'perlayer.blck');
    await model.save(path, { metadata: { note: 'hello', epoch: 3 } });
    const loaded = await MLP.load(path);
    expect(loaded.learnedTensors().map((t) => t.name)).toEqual(['layers.0.weight', 'layers.1.bias']);
    const x = randomNormalF32(new Rng(5), 3 * INPUT);
    expect(firstBitDiff(await model.predict(x), await loaded.predict(x))).toBe(-1);
    const { header } = await readCheckpoint(path);
    expect(header.metadata).toEqual({ note: 'hello', epoch: 3 });
    expect(header.library).toBe('biaslearn');
    model.dispose();
    loaded.dispose();
  });
});

describe('file contents', () => {
  it('hold only the learned values: size = header + 4 * learned count + 4 (CRC)', async () => {
    for (const train of ['bias', 'readout', 'full'] as const) {
      const model = await trainedModel(train);
      const path = join(dir, `size-${train}.blck`);
      await model.save(path);
      const buf = await readFile(path);
      const learned = model.learnedTensors().reduce((s, t) => s + t.size, 0);
      const frozenAndLearned = INPUT * HIDDEN + HIDDEN + HIDDEN * OUT + OUT;
      expect(buf.length).toBe(headerBytes(buf) + 4 * learned + 4);
      expect(headerBytes(buf)).toBeLessThan(4096); // the header is small JSON
      const { header, tensors } = await readCheckpoint(path);
      expect(header.tensors.reduce((s, t) => s + t.length, 0)).toBe(learned);
      expect(Object.keys(tensors).sort()).toEqual(
        model
          .learnedTensors()
          .map((t) => t.name)
          .sort(),
      );
      if (train === 'bias') {
        expect(learned).toBe(HIDDEN + OUT);
        // ~ 1 KB of biases + header against ~ 75 KB of frozen weights
        expect(buf.length).toBeLessThan((4 * frozenAndLearned) / 10);
      }
      model.dispose();
    }
  });

  it('start with the magic and the current format version', async () => {
    const model = await trainedModel('bias');
    const path = join(dir, 'magic.blck');
    await model.save(path);
    const buf = await readFile(path);
    expect(buf.toString('latin1', 0, 8)).toBe('BIASLRN\n');
    expect(buf.readUInt32LE(8)).toBe(CHECKPOINT_VERSION);
    expect(crc32(buf.subarray(0, buf.length - 4))).toBe(buf.readUInt32LE(buf.length - 4));
    model.dispose();
  });
});

describe('atomic saving', () => {
  it('saving over an existing file replaces it and leaves no temporary files', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'model.blck');
    const a = await trainedModel('bias', 4);
    const b = await trainedModel('bias', 5);
    await a.save(path);
    const first = await readFile(path);
    await b.save(path);
    const second = await readFile(path);
    expect(first.equals(second)).toBe(false);
    expect(await readdir(sub)).toEqual(['model.blck']);
    const loaded = await MLP.load(path);
    const x = randomNormalF32(new Rng(1), 2 * INPUT);
    expect(firstBitDiff(await loaded.predict(x), await b.predict(x))).toBe(-1);
    // concurrent saves of two models to the same path: one complete file, nothing left over
    // (one model's calls are exclusive, so each model saves once)
    await Promise.all([a.save(path), b.save(path)]);
    expect(await readdir(sub)).toEqual(['model.blck']);
    await expect(readCheckpoint(path)).resolves.toBeDefined();
    a.dispose();
    b.dispose();
    loaded.dispose();
  });

  it('a missing directory is E_IO naming the path, and creates nothing', async () => {
    const sub = await mkdtemp(join(dir, 'nodir-'));
    const path = join(sub, 'missing', 'model.blck');
    const model = await trainedModel('bias');
    await expectFileError(model.save(path), 'E_IO', path);
    expect(existsSync(join(sub, 'missing'))).toBe(false);
    expect(await readdir(sub)).toEqual([]);
    model.dispose();
  });
});

describe('loading bad files', () => {
  let good: Buffer;
  beforeAll(async () => {
    const model = await trainedModel('bias');
    const path = join(dir, 'good.blck');
    await model.save(path);
    good = await readFile(path);
    model.dispose();
  });

  it('missing file -> E_IO', async () => {
    const path = join(dir, 'does-not-exist.blck');
    await expectFileError(MLP.load(path), 'E_IO', path);
  });

  it('wrong magic -> E_FORMAT', async () => {
    const path = join(dir, 'bad-magic.blck');
    const buf = Buffer.from(good);
    buf.write('NOTBIAS\n', 0, 'latin1');
    await writeFile(path, fixCrc(buf));
    await expectFileError(MLP.load(path), 'E_FORMAT', path, /magic/);
    // a text file too
    const text = join(dir, 'text.blck');
    await writeFile(text, 'hello world, this is not a checkpoint at all\n');
    await expectFileError(MLP.load(text), 'E_FORMAT', text);
  });

  it('truncated file -> E_FORMAT (at several lengths, including inside the header)', async () => {
    for (const keep of [0, 10, 19, 40, headerBytes(good) + 8, good.length - 1]) {
      const path = join(dir, `truncated-${keep}.blck`);
      await writeFile(path, good.subarray(0, keep));
      await expectFileError(MLP.load(path), 'E_FORMAT', path);
    }
  });

  it('one flipped byte in the data -> E_FORMAT (checksum)', async () => {
    const dataStart = headerBytes(good);
    for (const at of [dataStart, dataStart + 5, good.length - 5]) {
      const path = join(dir, `flipped-${at}.blck`);
      const buf = Buffer.from(good);
      buf[at] = buf[at]! ^ 0x10;
      await writeFile(path, buf);
      await expectFileError(MLP.load(path), 'E_FORMAT', path, /checksum/);
    }
  });

  it('unsupported version -> E_FORMAT naming the version', async () => {
    const path = join(dir, 'version.blck');
    const buf = Buffer.from(good);
    buf.writeUInt32LE(CHECKPOINT_VERSION + 1, 8);
    await writeFile(path, fixCrc(buf));
    await expectFileError(MLP.load(path), 'E_FORMAT', path, new RegExp(`version ${CHECKPOINT_VERSION + 1}`));
  });

  it('a valid CRC over an invalid JSON header -> E_FORMAT naming the path', async () => {
    // header JSON replaced by same-length garbage
    const hlen = good.readUInt32LE(12);
    const garbage = Buffer.from(good);
    garbage.fill(0x7b, 16, 16 + hlen); // '{{{{...'
    const p1 = join(dir, 'bad-json.blck');
    await writeFile(p1, fixCrc(garbage));
    await expectFileError(MLP.load(p1), 'E_FORMAT', p1);
  });

  it('a valid CRC over a tensor list that does not fit the model -> E_FORMAT naming the path', async () => {
    // the last tensor renamed to one the model does not have
    const { header, tensors } = await readCheckpoint(join(dir, 'good.blck'));
    const json = JSON.stringify({
      ...header,
      tensors: [...header.tensors.slice(0, -1), { name: 'layers.9.bias', length: header.tensors.at(-1)!.length }],
    });
    const body = Buffer.from(json, 'utf8');
    const start = Math.ceil((16 + body.length) / 4) * 4;
    const total = Object.values(tensors).reduce((s, t) => s + t.length, 0);
    const buf = Buffer.alloc(start + 4 * total + 4);
    good.copy(buf, 0, 0, 12);
    buf.writeUInt32LE(body.length, 12);
    body.copy(buf, 16);
    good.copy(buf, start, headerBytes(good), good.length - 4);
    const p2 = join(dir, 'wrong-tensor.blck');
    await writeFile(p2, fixCrc(buf));
    // Like an invalid model in the header (which MLP.load reports as E_FORMAT naming the file),
    // tensors that do not fit the model are a bad file, not a bad argument of the caller.
    await expectFileError(MLP.load(p2), 'E_FORMAT', p2);
  });

  it('the error files did not disturb the good one', async () => {
    const s = await stat(join(dir, 'good.blck'));
    expect(s.size).toBe(good.length);
  });
});
