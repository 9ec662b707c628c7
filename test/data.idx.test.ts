import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile, readFile, readdir, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readIdx, writeIdx, encodeIdx, type IdxData } from '../src/data/idx.js';
import { BiasLearnError, FileFormatError, ValidationError } from '../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biaslearn-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Awaits `p`, expecting a FileFormatError with `code` whose message matches every pattern. */
async function expectFileError(p: Promise<unknown>, code: 'E_IO' | 'E_FORMAT', ...patterns: RegExp[]): Promise<FileFormatError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a rejection').toBeInstanceOf(FileFormatError);
  const e = caught as FileFormatError;
  expect(e).toBeInstanceOf(BiasLearnError);
  expect(e.code).toBe(code);
  for (const re of patterns) expect(e.message).toMatch(re);
  return e;
}

function filled<T extends IdxData>(make: (n: number) => T, n: number, f: (i: number) => number): T {
  const a = make(n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return a;
}

const N = 7 * 3 * 2;
const CASES: { name: string; data: IdxData }[] = [
  {
    name: 'ubyte',
    data: filled(
      (n) => new Uint8Array(n),
      N,
      (i) => (i * 37) % 256,
    ),
  },
  {
    name: 'byte',
    data: filled(
      (n) => new Int8Array(n),
      N,
      (i) => ((i * 37) % 256) - 128,
    ),
  },
  {
    name: 'short',
    data: filled(
      (n) => new Int16Array(n),
      N,
      (i) => ((i * 1237) % 65536) - 32768,
    ),
  },
  {
    name: 'int',
    data: filled(
      (n) => new Int32Array(n),
      N,
      (i) => (i * 987654321) | 0,
    ),
  },
  {
    name: 'float',
    data: filled(
      (n) => new Float32Array(n),
      N,
      (i) => Math.fround(Math.sin(i) * 1e3),
    ),
  },
  {
    name: 'double',
    data: filled(
      (n) => new Float64Array(n),
      N,
      (i) => Math.cos(i) * 1e-7 + i,
    ),
  },
];

describe('IDX round trip', () => {
  for (const { name, data } of CASES) {
    for (const gzip of [false, true]) {
      it(`${name}, ${gzip ? 'gzip' : 'raw'}, dims [7, 3, 2]`, async () => {
        const path = join(dir, `rt-${name}-${gzip ? 'gz' : 'raw'}.idx`); // no .gz suffix: detection is by magic bytes
        await writeIdx(path, [7, 3, 2], data, { gzip });
        const bytes = await readFile(path);
        expect(bytes[0] === 0x1f && bytes[1] === 0x8b).toBe(gzip);
        const back = await readIdx(path);
        expect(back.dims).toEqual([7, 3, 2]);
        expect(back.data.constructor).toBe(data.constructor);
        expect(Array.from(back.data)).toEqual(Array.from(data));
        expect(back.data.byteOffset).toBe(0);
        expect(back.data.buffer.byteLength).toBe(data.byteLength);
      });
    }
  }

  it('1-D and 7-D arrays, and an empty dimension', async () => {
    const one = new Int16Array([1, -2, 300, -32768, 32767]);
    await writeIdx(join(dir, 'one.idx'), [5], one);
    expect(await readIdx(join(dir, 'one.idx'))).toEqual({ dims: [5], data: one });

    const sevenDims = [2, 1, 3, 1, 2, 1, 2];
    const seven = filled(
      (n) => new Float32Array(n),
      24,
      (i) => i / 8,
    );
    await writeIdx(join(dir, 'seven.idx.gz'), sevenDims, seven); // .gz suffix: gzip by default
    const bytes = await readFile(join(dir, 'seven.idx.gz'));
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect(await readIdx(join(dir, 'seven.idx.gz'))).toEqual({ dims: sevenDims, data: seven });

    await writeIdx(join(dir, 'empty.idx'), [0, 28], new Uint8Array(0));
    expect(await readIdx(join(dir, 'empty.idx'))).toEqual({ dims: [0, 28], data: new Uint8Array(0) });
  });

  it('writes big-endian bytes exactly as the format says', () => {
    const bytes = encodeIdx([2], new Int32Array([0x01020304, -1]));
    expect(Array.from(bytes)).toEqual([0, 0, 0x0c, 1, 0, 0, 0, 2, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff]);
  });

  it('leaves no temporary files behind', async () => {
    const sub = join(dir, 'tmpcheck');
    await mkdir(sub);
    await writeIdx(join(sub, 'a.idx'), [3], new Uint8Array([1, 2, 3]));
    expect(await readdir(sub)).toEqual(['a.idx']);
  });

  it('rejects data that does not match dims, and unsupported arrays', async () => {
    await expect(writeIdx(join(dir, 'bad.idx'), [2, 2], new Uint8Array(3))).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(writeIdx(join(dir, 'bad.idx'), [2, 1.5], new Uint8Array(3))).rejects.toMatchObject({ code: 'E_SHAPE' });
    const wrong = new Uint16Array(2) as unknown as IdxData;
    await expect(writeIdx(join(dir, 'bad.idx'), [2], wrong)).rejects.toBeInstanceOf(ValidationError);
    await expect(writeIdx(join(dir, 'bad.idx'), [2], wrong)).rejects.toMatchObject({ code: 'E_DTYPE' });
  });

  it('reports an unwritable destination as E_IO', async () => {
    await expectFileError(writeIdx(join(dir, 'no-such-dir', 'x.idx'), [1], new Uint8Array(1)), 'E_IO', /cannot write/);
  });
});

describe('IDX errors', () => {
  const header = (type: number, dims: number[]): Buffer => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b[2] = type;
    b[3] = dims.length;
    dims.forEach((d, i) => {
      b.writeUInt32BE(d, 4 + 4 * i);
    });
    return b;
  };

  it('missing file: E_IO naming the path', async () => {
    const path = join(dir, 'does-not-exist.idx');
    const e = await expectFileError(readIdx(path), 'E_IO', /no such file/);
    expect(e.path).toBe(path);
    expect(e.message).toContain(path);
  });

  it('a directory: E_IO', async () => {
    await expectFileError(readIdx(dir), 'E_IO', /directory/);
  });

  it('bad magic (raw and gzip)', async () => {
    const path = join(dir, 'magic.idx');
    await writeFile(path, Buffer.from('PK\x03\x04 this is a zip, not IDX'));
    await expectFileError(readIdx(path), 'E_FORMAT', /bad magic 0x504B0304; expected an IDX file/);
    await writeFile(path, gzipSync(Buffer.from([0, 0, 0x42, 1, 0, 0, 0, 1, 7])));
    await expectFileError(readIdx(path), 'E_FORMAT', /bad magic 0x00004201; expected an IDX file/, /unknown element type 0x42/);
    await writeFile(path, Buffer.from([0, 0, 8, 0]));
    await expectFileError(readIdx(path), 'E_FORMAT', /bad magic 0x00000800/, /zero dimensions/);
  });

  it('too short for a header', async () => {
    const path = join(dir, 'short.idx');
    await writeFile(path, Buffer.from([0, 0]));
    await expectFileError(readIdx(path), 'E_FORMAT', /2 bytes/);
    await writeFile(path, Buffer.from([0, 0, 8, 3, 0, 0, 0, 10]));
    await expectFileError(readIdx(path), 'E_FORMAT', /truncated IDX header: expected 16 header bytes for 3 dims, found 8/);
  });

  it('truncated data says expected vs found (raw and gzip)', async () => {
    const path = join(dir, 'trunc.idx');
    const full = encodeIdx([10, 4], new Int16Array(40));
    await writeFile(path, full.subarray(0, full.length - 3));
    await expectFileError(readIdx(path), 'E_FORMAT', /truncated/, /expected 80 data bytes/, /found 77/, /\[10, 4\]/);
    await writeFile(path, gzipSync(full.subarray(0, 12 + 10)));
    await expectFileError(readIdx(path), 'E_FORMAT', /truncated/, /expected 80 data bytes/, /found 10/);
  });

  it('trailing bytes', async () => {
    const path = join(dir, 'trail.idx');
    await writeFile(path, Buffer.concat([encodeIdx([3], new Uint8Array([1, 2, 3])), Buffer.from('junk')]));
    await expectFileError(readIdx(path), 'E_FORMAT', /trailing/, /expected 3 data bytes/, /found 7 \(4 extra\)/);
  });

  it('corrupt gzip: damaged body and cut-off stream', async () => {
    const path = join(dir, 'corrupt.idx.gz');
    const gz = gzipSync(
      encodeIdx(
        [64, 64],
        filled(
          (n) => new Uint8Array(n),
          4096,
          (i) => (i * 7919) % 251,
        ),
      ),
    );
    const damaged = Buffer.from(gz);
    for (let i = 20; i < 60; i++) damaged[i]! ^= 0x5a;
    await writeFile(path, damaged);
    await expectFileError(readIdx(path), 'E_FORMAT', /corrupt gzip/);
    await writeFile(path, gz.subarray(0, Math.floor(gz.length / 2)));
    await expectFileError(readIdx(path), 'E_FORMAT', /corrupt gzip/);
  });

  it('absurd dims', async () => {
    const path = join(dir, 'absurd.idx');
    await writeFile(path, header(0x0e, [0xffffffff, 0xffffffff, 0xffffffff]));
    await expectFileError(readIdx(path), 'E_FORMAT', /absurd IDX dims \[4294967295, 4294967295, 4294967295\]/);
    await writeFile(path, header(0x08, [0xffffffff, 0xffffffff]));
    await expectFileError(readIdx(path), 'E_FORMAT', /absurd/);
  });
});

describe('readIdx progress', () => {
  /** Reads `path` collecting every progress report; checks they start at 0, are monotone and end at the file size. */
  async function readWithProgress(path: string): Promise<{ reports: number; data: IdxData }> {
    const seen: { file: string; bytesDone: number; bytesTotal: number }[] = [];
    const arr = await readIdx(path, { onProgress: (p) => seen.push({ ...p }) });
    const size = (await readFile(path)).length;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]!.bytesDone).toBe(0);
    for (let i = 0; i < seen.length; i++) {
      expect(seen[i]!.file).toBe(path);
      expect(seen[i]!.bytesTotal).toBe(size);
      expect(seen[i]!.bytesDone).toBeLessThanOrEqual(size);
      if (i > 0) expect(seen[i]!.bytesDone).toBeGreaterThanOrEqual(seen[i - 1]!.bytesDone);
    }
    expect(seen[seen.length - 1]!.bytesDone).toBe(size);
    return { reports: seen.length, data: arr.data };
  }

  // 1 MiB + 3 bytes of data: two read chunks; 1 byte: one; random bytes so gzip stays above 1 MiB.
  for (const n of [1, 7, (1 << 20) + 3]) {
    for (const gzip of [false, true]) {
      it(`${n} ubyte elements, ${gzip ? 'gzip' : 'raw'}: reaches bytesTotal, monotone, same data`, async () => {
        let state = 0x9e3779b9;
        const xorshift = (): number => {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          return state >>> 24;
        };
        const data = filled((k) => new Uint8Array(k), n, xorshift);
        const path = join(dir, `progress-${n}-${gzip ? 'gz' : 'raw'}.idx`);
        await writeIdx(path, [n], data, { gzip });
        const { reports, data: got } = await readWithProgress(path);
        if (n > 1 << 20) expect(reports).toBeGreaterThanOrEqual(3);
        expect(Buffer.from(got as Uint8Array).equals(Buffer.from(data))).toBe(true);
      });
    }
  }

  it('a gzip file of many chunks (about 12 MiB) leaks no stream listeners (no MaxListenersExceededWarning)', async () => {
    const n = 12 * (1 << 20) + 5;
    let state = 0x2545f491; // xorshift bytes: gzip cannot shrink them, so the stream takes many writes
    const data = filled(
      (k) => new Uint8Array(k),
      n,
      () => {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        return state >>> 24;
      },
    );
    const path = join(dir, 'many-chunks.idx.gz');
    await writeIdx(path, [n], data, { gzip: true });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const arr = await readIdx(path);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
      expect(arr.data.length).toBe(n);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('float64 [3, 5, 7] (odd sizes) gzip, and errors keep their codes with a callback', async () => {
    const data = filled(
      (k) => new Float64Array(k),
      105,
      (i) => Math.sin(i) * 1e3,
    );
    const path = join(dir, 'progress-f64.idx.gz');
    await writeIdx(path, [3, 5, 7], data);
    const { data: got } = await readWithProgress(path);
    expect(Array.from(got)).toEqual(Array.from(data));
    await expectFileError(readIdx(join(dir, 'missing.idx'), { onProgress: () => undefined }), 'E_IO', /no such file/);
    await expectFileError(readIdx(dir, { onProgress: () => undefined }), 'E_IO', /is a directory/);
  });
});
