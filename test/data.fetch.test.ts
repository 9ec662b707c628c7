/**
 * Dataset locations and `biaslearn data fetch`, against a local HTTP server on 127.0.0.1 (never
 * the internet): served files verify and land atomically; a corrupted file, a truncated transfer
 * and a 404 each fail with E_DOWNLOAD and leave no dataset file (and no temporary file) behind.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIO } from '../src/cli/main.js';
import { encodeIdx } from '../src/data/idx.js';
import { DATASET_SOURCES, fetchDataset, fetchFiles, type RemoteFile } from '../src/data/fetch.js';
import { loadMnist } from '../src/data/images.js';
import { dataHome, datasetDir, datasetSearchDirs, fetchCommand } from '../src/data/locations.js';
import { BiasLearnError } from '../src/errors.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-fetch-'));
/** Path -> body served; '/truncated/*' announces more bytes than it sends and drops the connection. */
const served = new Map<string, Buffer>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    const body = served.get(path.replace(/^\/truncated/, ''));
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    if (path.startsWith('/truncated/')) {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

/** A tiny MNIST-like set (n images of 28x28, labels i % 10), gzipped IDX, with its file table. */
function tinySet(n: number, seed: number): { files: Record<string, Buffer>; remotes: RemoteFile[] } {
  const px = new Uint8Array(n * 784).map((_, i) => (i * 7 + seed) & 255);
  const labels = new Uint8Array(n).map((_, i) => i % 10);
  const files: Record<string, Buffer> = {};
  for (const prefix of ['train', 't10k']) {
    files[`${prefix}-images-idx3-ubyte.gz`] = gzipSync(encodeIdx([n, 28, 28], px));
    files[`${prefix}-labels-idx1-ubyte.gz`] = gzipSync(encodeIdx([n], labels));
  }
  const remotes = Object.entries(files).map(([name, body]) => ({
    name,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
  }));
  return { files, remotes };
}

function serve(prefix: string, files: Record<string, Buffer>): void {
  for (const [name, body] of Object.entries(files)) served.set(`${prefix}/${name}`, body);
}

/** Files in a folder, temporary ones included (empty when the folder does not exist). */
function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function rejection(p: Promise<unknown>): Promise<BiasLearnError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BiasLearnError);
    return err as BiasLearnError;
  }
  throw new Error('expected a rejection');
}

describe('data locations', () => {
  it('BIASLEARN_DATA wins; else XDG_CACHE_HOME/biaslearn; else ~/.cache/biaslearn (Linux)', () => {
    expect(dataHome({ BIASLEARN_DATA: '/x/data', XDG_CACHE_HOME: '/c' })).toBe('/x/data');
    if (process.platform === 'linux') {
      expect(dataHome({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/c/biaslearn');
      expect(dataHome({ HOME: '/h' })).toBe('/h/.cache/biaslearn');
      expect(datasetSearchDirs('fashion-mnist', { HOME: '/h' })).toEqual([
        '/h/.cache/biaslearn/fashion-mnist',
        '/usr/share/datasets/fashion-mnist',
        '/usr/local/share/datasets/fashion-mnist',
      ]);
    }
  });

  it('never points inside the package; an empty data folder defaults to <data>/<name>', () => {
    const env = { BIASLEARN_DATA: join(work, 'nothing') };
    expect(datasetDir('kmnist', env)).toBe(join(work, 'nothing', 'kmnist'));
    expect(datasetDir('mnist', env)).not.toMatch(/node_modules|shared/);
  });

  it("a missing dataset's error names the exact fetch command and the folders searched", async () => {
    const saved = process.env.BIASLEARN_DATA;
    process.env.BIASLEARN_DATA = join(work, 'empty-home');
    try {
      const e = await rejection(loadMnist({ split: 'test' }));
      expect(e.code).toBe('E_IO');
      expect(e.message).toContain('`npx biaslearn data fetch mnist`');
      expect(e.message).toContain(join(work, 'empty-home', 'mnist'));
      expect(fetchCommand('kmnist')).toBe('npx biaslearn data fetch kmnist');
    } finally {
      if (saved === undefined) delete process.env.BIASLEARN_DATA;
      else process.env.BIASLEARN_DATA = saved;
    }
  });

  it('the official table has https/http URLs and 64-hex SHA-256 sums for 4 files per set', () => {
    for (const src of Object.values(DATASET_SOURCES)) {
      expect(src.baseUrl).toMatch(/^https?:\/\/.+\/$/);
      expect(src.files.map((f) => f.name).sort()).toEqual([
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz',
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
      ]);
      for (const f of src.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe('fetching over HTTP (local server)', () => {
  it('served files are downloaded, verified, stored, and load as a dataset; a second fetch keeps them', async () => {
    const { files, remotes } = tinySet(7, 1);
    serve('/ok', files);
    const dir = join(work, 'ok');
    const got = await fetchFiles(remotes, dir, `${base}/ok/`);
    expect(got.map((f) => f.status)).toEqual(['downloaded', 'downloaded', 'downloaded', 'downloaded']);
    expect(listing(dir)).toEqual(Object.keys(files).sort());
    const ds = await loadMnist({ dir, split: 'train' });
    expect(ds.n).toBe(7);
    expect(ds.inputSize).toBe(784);
    const again = await fetchFiles(remotes, dir, `${base}/ok`);
    expect(again.map((f) => f.status)).toEqual(['present', 'present', 'present', 'present']);
  });

  it('a corrupted file fails with E_DOWNLOAD (SHA-256 mismatch) and stores nothing', async () => {
    const { files, remotes } = tinySet(7, 2);
    const bad = Buffer.from(files['t10k-images-idx3-ubyte.gz']!);
    bad[bad.length >> 1]! ^= 0xff;
    serve('/corrupt', { ...files, 't10k-images-idx3-ubyte.gz': bad });
    const dir = join(work, 'corrupt');
    const e = await rejection(fetchFiles(remotes, dir, `${base}/corrupt/`));
    expect(e.code).toBe('E_DOWNLOAD');
    expect(e.message).toMatch(/SHA-256 mismatch/);
    expect(listing(dir)).toEqual([]);
  });

  it('a truncated transfer fails with E_DOWNLOAD and leaves no partial file', async () => {
    const { files, remotes } = tinySet(50, 3);
    serve('/trunc', files);
    const dir = join(work, 'trunc');
    const e = await rejection(fetchFiles(remotes, dir, `${base}/truncated/trunc/`));
    expect(e.code).toBe('E_DOWNLOAD');
    expect(e.message).toMatch(/interrupted|expected \d+ bytes/);
    expect(listing(dir)).toEqual([]);
  });

  it('a 404 fails with E_DOWNLOAD naming the URL; files already verified in that run are not kept', async () => {
    const { files, remotes } = tinySet(7, 4);
    serve('/partial', { 'train-images-idx3-ubyte.gz': files['train-images-idx3-ubyte.gz']! });
    const dir = join(work, 'partial');
    const e = await rejection(fetchFiles(remotes, dir, `${base}/partial/`));
    expect(e.code).toBe('E_DOWNLOAD');
    expect(e.message).toContain(`${base}/partial/train-labels-idx1-ubyte.gz`);
    expect(e.message).toMatch(/HTTP 404/);
    expect(listing(dir)).toEqual([]);
  });

  it('fetchDataset checks the official SHA-256 table: a server with other bytes is refused (BIASLEARN_DATA_URL override)', async () => {
    const { files } = tinySet(7, 5);
    serve('/mirror/mnist', files);
    const home = join(work, 'home');
    const e = await rejection(fetchDataset('mnist', { env: { BIASLEARN_DATA: home, BIASLEARN_DATA_URL: `${base}/mirror` } }));
    expect(e.code).toBe('E_DOWNLOAD');
    expect(e.message).toContain(`${base}/mirror/mnist/`);
    expect(e.message).toMatch(/expected 9912422 bytes|SHA-256 mismatch/);
    expect(listing(join(home, 'mnist'))).toEqual([]);
  });
});

describe('biaslearn data (CLI)', () => {
  function io(): { io: CliIO; out: () => string; err: () => string } {
    let out = '';
    let err = '';
    return {
      io: {
        stdout: {
          write: (s: string) => {
            out += s;
            return true;
          },
        },
        stderr: {
          write: (s: string) => {
            err += s;
            return true;
          },
        },
      } as unknown as CliIO,
      out: () => out,
      err: () => err,
    };
  }

  it('data list shows each dataset present and where; data fetch from a 404 server exits 1 with one E_DOWNLOAD line', async () => {
    const home = join(work, 'cli-home');
    const present = join(home, 'kmnist');
    mkdirSync(present, { recursive: true });
    writeFileSync(join(present, 't10k-images-idx3-ubyte.gz'), 'x');
    const saved = { data: process.env.BIASLEARN_DATA, url: process.env.BIASLEARN_DATA_URL };
    process.env.BIASLEARN_DATA = home;
    process.env.BIASLEARN_DATA_URL = `${base}/nowhere`;
    try {
      const list = io();
      expect(await runCli(['data', 'list'], list.io)).toBe(0);
      expect(list.out()).toContain(`data folder: ${home}`);
      expect(list.out()).toMatch(new RegExp(`kmnist\\s+test\\s+${present.replace(/[/\\]/g, '.')}`));
      expect(list.out()).toMatch(/mnist\s+not found \(npx biaslearn data fetch mnist\)/);
      const json = io();
      expect(await runCli(['data', 'list', '--json'], json.io)).toBe(0);
      expect((JSON.parse(json.out()) as { dataHome: string }).dataHome).toBe(home);

      const fetch = io();
      expect(await runCli(['data', 'fetch', 'mnist'], fetch.io)).toBe(1);
      expect(fetch.err().trim().split('\n')).toHaveLength(1);
      expect(fetch.err()).toMatch(
        /^error \[E_DOWNLOAD\]: download of http:\/\/127\.0\.0\.1:\d+\/nowhere\/mnist\/train-images-idx3-ubyte\.gz failed: HTTP 404/,
      );
      expect(listing(join(home, 'mnist'))).toEqual([]);

      const usage = io();
      expect(await runCli(['data', 'fetch', 'cifar'], usage.io)).toBe(2);
    } finally {
      for (const [k, v] of [
        ['BIASLEARN_DATA', saved.data],
        ['BIASLEARN_DATA_URL', saved.url],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
