/**
 * `biaslearn data fetch <name>`: downloads the official IDX files of a named image set, checks
 * each file's SHA-256 against the table below, and only then moves them into place: every file is
 * streamed to a temporary name in the destination folder and all of them are renamed once every
 * one has verified, so an interrupted or corrupted download never becomes (part of) a dataset.
 * Files already present with the right hash are kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BiasLearnError, ValidationError } from '../errors.js';
import { DATASET_NAMES, dataHome, type DatasetName } from './locations.js';

export interface RemoteFile {
  name: string;
  sha256: string;
  /** Size in bytes, when published. */
  bytes?: number;
}

export interface DatasetSource {
  title: string;
  /** Folder URL the files are fetched from (ends with '/'). */
  baseUrl: string;
  files: RemoteFile[];
}

/**
 * Official locations and published sizes and SHA-256 sums (TensorFlow Datasets' url_checksums for
 * all three, the same MNIST sums in torchvision's checks; see docs/data.md). MNIST: the Google mirror of yann.lecun.com's files (same bytes);
 * KMNIST: ROIS-DS CODH; Fashion-MNIST: Zalando Research's download links.
 */
export const DATASET_SOURCES: Record<DatasetName, DatasetSource> = {
  mnist: {
    title: 'MNIST',
    baseUrl: 'https://storage.googleapis.com/cvdf-datasets/mnist/',
    files: [
      {
        name: 'train-images-idx3-ubyte.gz',
        bytes: 9912422,
        sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
      },
      {
        name: 'train-labels-idx1-ubyte.gz',
        bytes: 28881,
        sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
      },
      {
        name: 't10k-images-idx3-ubyte.gz',
        bytes: 1648877,
        sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
      },
      {
        name: 't10k-labels-idx1-ubyte.gz',
        bytes: 4542,
        sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
      },
    ],
  },
  kmnist: {
    title: 'Kuzushiji-MNIST',
    baseUrl: 'http://codh.rois.ac.jp/kmnist/dataset/kmnist/',
    files: [
      {
        name: 'train-images-idx3-ubyte.gz',
        bytes: 18165135,
        sha256: '51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4',
      },
      {
        name: 'train-labels-idx1-ubyte.gz',
        bytes: 29497,
        sha256: 'e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17',
      },
      {
        name: 't10k-images-idx3-ubyte.gz',
        bytes: 3041136,
        sha256: 'edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5',
      },
      {
        name: 't10k-labels-idx1-ubyte.gz',
        bytes: 5120,
        sha256: '20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c',
      },
    ],
  },
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    files: [
      {
        name: 'train-images-idx3-ubyte.gz',
        bytes: 26421880,
        sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
      },
      {
        name: 'train-labels-idx1-ubyte.gz',
        bytes: 29515,
        sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
      },
      {
        name: 't10k-images-idx3-ubyte.gz',
        bytes: 4422102,
        sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
      },
      {
        name: 't10k-labels-idx1-ubyte.gz',
        bytes: 5148,
        sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
      },
    ],
  },
};

export interface FetchOptions {
  /** Destination folder (default: `dataHome()/<name>`). */
  dir?: string;
  /** Folder URL to fetch the files from instead of the official one (default: $BIASLEARN_DATA_URL/<name>/ when set). */
  baseUrl?: string;
  env?: Record<string, string | undefined>;
  /** Called once per file, after it is known to be present or has been downloaded and verified. */
  onFile?: (file: FetchedFile) => void;
}

export interface FetchedFile {
  name: string;
  status: 'present' | 'downloaded';
  bytes: number;
}

export interface FetchResult {
  name: DatasetName;
  dir: string;
  files: FetchedFile[];
}

/** SHA-256 (hex) and size of a file, or undefined when it cannot be read. */
async function hashFile(path: string): Promise<{ sha256: string; bytes: number } | undefined> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch {
    return undefined;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function downloadError(url: string, why: string, cause?: unknown): BiasLearnError {
  return new BiasLearnError('E_DOWNLOAD', `download of ${url} failed: ${why}`, cause === undefined ? undefined : { cause });
}

/** Streams `url` into `tmp`, hashing as it goes; throws E_DOWNLOAD unless size and SHA-256 match `file`. */
async function download(url: string, tmp: string, file: RemoteFile): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw downloadError(url, (err as Error).message, err);
  }
  if (!res.ok || !res.body) throw downloadError(url, `HTTP ${res.status} ${res.statusText}`.trim());
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(tmp, { flags: 'wx' }));
  } catch (err) {
    throw downloadError(url, `transfer interrupted after ${bytes} bytes (${(err as Error).message})`, err);
  }
  if (file.bytes !== undefined && bytes !== file.bytes) throw downloadError(url, `expected ${file.bytes} bytes, got ${bytes}`);
  const sha = hash.digest('hex');
  if (sha !== file.sha256) throw downloadError(url, `SHA-256 mismatch: expected ${file.sha256}, got ${sha}`);
  return bytes;
}

function sourceUrl(name: DatasetName, opts: FetchOptions): string {
  const env = opts.env ?? process.env;
  return (
    opts.baseUrl ??
    (env.BIASLEARN_DATA_URL ? `${env.BIASLEARN_DATA_URL.replace(/\/+$/, '')}/${name}/` : DATASET_SOURCES[name].baseUrl)
  );
}

/** Downloads and verifies the four IDX files of `name` (see the module comment). */
export async function fetchDataset(name: DatasetName, opts: FetchOptions = {}): Promise<FetchResult> {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected a dataset name among ${DATASET_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  const dir = opts.dir ?? join(dataHome(opts.env ?? process.env), name);
  const files = await fetchFiles(DATASET_SOURCES[name].files, dir, sourceUrl(name, opts), opts.onFile);
  return { name, dir, files };
}

/**
 * The mechanism behind {@link fetchDataset} for any file list: each file missing from `dir` (or
 * with another hash) is downloaded from `baseUrl` to a temporary name and verified; the files are
 * renamed into place only when all of them verified, and the temporary files are always removed.
 */
export async function fetchFiles(
  remotes: RemoteFile[],
  dir: string,
  baseUrl: string,
  onFile?: (f: FetchedFile) => void,
): Promise<FetchedFile[]> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new BiasLearnError('E_IO', `cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const staged: { tmp: string; dest: string }[] = [];
  const files: FetchedFile[] = [];
  try {
    for (const remote of remotes) {
      const dest = join(dir, remote.name);
      const have = await hashFile(dest);
      if (have?.sha256 === remote.sha256) {
        files.push({ name: remote.name, status: 'present', bytes: have.bytes });
        onFile?.(files[files.length - 1]!);
        continue;
      }
      const tmp = join(dir, `.${remote.name}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
      staged.push({ tmp, dest });
      const bytes = await download(new URL(remote.name, base).href, tmp, remote);
      files.push({ name: remote.name, status: 'downloaded', bytes });
      onFile?.(files[files.length - 1]!);
    }
    for (const s of staged) await rename(s.tmp, s.dest);
    staged.length = 0;
  } finally {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
  }
  return files;
}
