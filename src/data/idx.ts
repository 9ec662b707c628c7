/**
 * IDX files: the simple n-dimensional array format of MNIST and its relatives.
 *
 * Layout (all integers big-endian):
 *   bytes 0-1  zero
 *   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3    number of dimensions d (>= 1 here)
 *   then d uint32 sizes, outermost first
 *   then prod(sizes) elements, row-major, big-endian
 *
 * A file may be gzip-compressed as a whole; compression is detected from the gzip magic bytes
 * (1f 8b), never from the file name. Reading is asynchronous (the file is read in chunks and
 * gunzipped as a stream, off the event loop, reporting progress per chunk); only the final
 * byte-order fix-up runs on it.
 */
import { open, stat, writeFile, rename, unlink } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { endianness } from 'node:os';
import { once } from 'node:events';
import { createGunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { releaseTempPath, removeStaleTemps, tempPathFor, writeTarget } from '../util/temp_files.js';
import { FileFormatError, ValidationError } from '../errors.js';
import { describe as describeValue, expectFunction, expectOptions, expectString } from '../util/validate.js';

const gzipAsync = promisify(gzip);

/** The typed arrays an IDX file can hold, one per element type. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An n-dimensional array read from an IDX file. Invariant: `data.length === product(dims)`. */
export interface IdxArray {
  /** Sizes, outermost first (e.g. [10000, 28, 28] for MNIST images). */
  dims: number[];
  /** Elements in row-major order, in host byte order; the array owns its buffer. */
  data: IdxData;
}

/** Progress of reading one file: bytes of the file (compressed bytes for gzip) read so far, of its size. */
export interface ReadProgress {
  /** The file being read. */
  file: string;
  /** Bytes read so far; non-decreasing, ends at bytesTotal. */
  bytesDone: number;
  /** Size of the file in bytes. */
  bytesTotal: number;
}

/** Options for {@link readIdx}. */
export interface ReadIdxOptions {
  /** Called once before the first read (bytesDone 0) and after every chunk read, last with bytesDone === bytesTotal. */
  onProgress?: (progress: ReadProgress) => void;
}

/** Options for {@link writeIdx}. */
export interface WriteIdxOptions {
  /** Gzip the file; defaults to true when the path ends in `.gz`. */
  gzip?: boolean;
}

interface IdxType {
  code: number;
  name: string;
  bytes: 1 | 2 | 4 | 8;
  make: (buffer: ArrayBuffer) => IdxData;
  ctor: new (length: number) => IdxData;
}

const IDX_TYPES: readonly IdxType[] = [
  { code: 0x08, name: 'ubyte', bytes: 1, make: (b) => new Uint8Array(b), ctor: Uint8Array },
  { code: 0x09, name: 'byte', bytes: 1, make: (b) => new Int8Array(b), ctor: Int8Array },
  { code: 0x0b, name: 'short', bytes: 2, make: (b) => new Int16Array(b), ctor: Int16Array },
  { code: 0x0c, name: 'int', bytes: 4, make: (b) => new Int32Array(b), ctor: Int32Array },
  { code: 0x0d, name: 'float', bytes: 4, make: (b) => new Float32Array(b), ctor: Float32Array },
  { code: 0x0e, name: 'double', bytes: 8, make: (b) => new Float64Array(b), ctor: Float64Array },
];

const HOST_LITTLE_ENDIAN = endianness() === 'LE';
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
/** Most data bytes one array may hold: the largest Buffer / typed array Node allocates. */
const MAX_DATA_BYTES = bufferConstants.MAX_LENGTH;
const MAX_DIM = 0xffffffff;

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(digits, '0')}`;
}

function formatDims(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/** Reverses the byte order of every `bytes`-wide element of `buf`, in place. */
function swapInPlace(buf: Buffer, bytes: 1 | 2 | 4 | 8): void {
  if (bytes === 2) buf.swap16();
  else if (bytes === 4) buf.swap32();
  else if (bytes === 8) buf.swap64();
}

/** Largest IDX file read (compressed or not) and largest decompressed size: 2 GiB. */
export const MAX_IDX_FILE_BYTES = 2 ** 31;
/** Bytes read from the file per chunk (each chunk is one progress report). */
const READ_CHUNK_BYTES = 1 << 20;
/** Bytes of decompressed output per chunk of the gunzip stream (its default, 16 KiB, costs many small buffers). */
const GUNZIP_CHUNK_BYTES = 1 << 20;

function readError(path: string, err: unknown): FileFormatError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory, expected an IDX file' : e.message;
  return new FileFormatError('E_IO', path, `cannot read IDX file: ${why}`, { cause: err });
}

/** The file's chunks in order (fresh buffers), reporting progress; read failures are E_IO errors. */
async function* readChunks(path: string, onProgress?: (progress: ReadProgress) => void): AsyncGenerator<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  let total: number;
  try {
    // Regular files only, checked before opening: a FIFO would block the open, a device never end.
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (info.size > MAX_IDX_FILE_BYTES)
      throw Object.assign(new Error(`file of ${info.size} bytes, over the ${MAX_IDX_FILE_BYTES}-byte cap`), { code: 'EFBIG' });
    handle = await open(path, 'r');
  } catch (err) {
    throw readError(path, err);
  }
  try {
    try {
      const info = await handle.stat();
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      total = info.size;
    } catch (err) {
      throw readError(path, err);
    }
    let done = 0;
    onProgress?.({ file: path, bytesDone: 0, bytesTotal: total });
    for (;;) {
      const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(chunk, 0, chunk.length, null));
      } catch (err) {
        throw readError(path, err);
      }
      if (n === 0) break;
      done += n;
      onProgress?.({ file: path, bytesDone: Math.min(done, total), bytesTotal: Math.max(total, done) });
      yield chunk.subarray(0, n);
    }
    if (done < total) onProgress?.({ file: path, bytesDone: total, bytesTotal: total }); // the file shrank meanwhile
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Decompresses a gzip stream of chunks as they come; a damaged or cut-off stream is an E_FORMAT error. */
async function gunzipChunks(path: string, first: Buffer, rest: AsyncGenerator<Buffer>): Promise<Buffer> {
  const gunzipper = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  const out: Buffer[] = [];
  let failure: Error | undefined;
  const finished = new Promise<void>((resolveEnd, rejectEnd) => {
    let size = 0;
    gunzipper.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_IDX_FILE_BYTES) gunzipper.destroy(new Error(`decompresses to over ${MAX_IDX_FILE_BYTES} bytes`));
      else out.push(c);
    });
    gunzipper.on('end', () => resolveEnd());
    gunzipper.on('error', (err) => {
      failure = err;
      rejectEnd(err);
    });
  });
  finished.catch(() => undefined); // observed below
  const write = async (chunk: Buffer): Promise<void> => {
    // events.once removes its drain and error listeners whichever fires; an error lands in `failure`
    if (!gunzipper.write(chunk)) await once(gunzipper, 'drain').catch(() => undefined);
  };
  await write(first);
  for await (const chunk of rest) {
    if (failure) break;
    await write(chunk);
  }
  if (!failure) gunzipper.end();
  try {
    await finished;
  } catch (err) {
    throw new FileFormatError('E_FORMAT', path, `corrupt gzip data (${(err as Error).message})`, { cause: err });
  }
  return Buffer.concat(out);
}

/**
 * Reads an IDX file (raw or gzip). Throws {@link FileFormatError} with code
 * `E_IO` when the file cannot be read and `E_FORMAT` when its contents are not a well-formed IDX
 * array (bad magic, corrupt gzip, absurd dims, truncated data, trailing bytes).
 * `opts.onProgress` follows the bytes read from the file.
 */
export async function readIdx(path: string, opts: ReadIdxOptions = {}): Promise<IdxArray> {
  expectString('path', path);
  expectOptions('readIdx options', opts);
  if (opts.onProgress !== undefined) expectFunction('onProgress', opts.onProgress);
  const chunks = readChunks(path, opts.onProgress);
  // The first two bytes decide gzip; a first chunk holds them unless the file is shorter.
  const head: Buffer[] = [];
  let headBytes = 0;
  while (headBytes < 2) {
    const next = await chunks.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.length;
  }
  const first = Buffer.concat(head);
  if (first.length >= 2 && first[0] === GZIP_MAGIC_0 && first[1] === GZIP_MAGIC_1) {
    return parseIdx(await gunzipChunks(path, first, chunks), path, true);
  }
  const parts: Buffer[] = [first];
  for await (const chunk of chunks) parts.push(chunk);
  return parseIdx(parts.length === 1 ? first : Buffer.concat(parts), path, false);
}

/** Parses the bytes of an (uncompressed) IDX file. `path` only names the source in errors. */
export function parseIdx(bytes: Uint8Array, path: string, wasGzip = false): IdxArray {
  if (!(bytes instanceof Uint8Array))
    throw new ValidationError('E_INVALID_ARG', `expected a Uint8Array of IDX bytes, got ${describeValue(bytes)}`);
  expectString('path', path);
  const what = wasGzip ? 'decompressed file' : 'file';
  if (bytes.length < 4) {
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `${what} is ${bytes.length} bytes, too short for the 4-byte IDX magic; expected an IDX file`,
    );
  }
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const type = IDX_TYPES.find((t) => t.code === bytes[2]);
  const ndims = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || ndims === 0) {
    const detail =
      bytes[0] !== 0 || bytes[1] !== 0
        ? 'the first two bytes must be zero'
        : type === undefined
          ? `unknown element type ${hex(bytes[2]!, 2)} (known: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)`
          : 'zero dimensions';
    throw new FileFormatError('E_FORMAT', path, `bad magic ${hex(magic, 8)}; expected an IDX file (${detail})`);
  }

  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `truncated IDX header: expected ${headerBytes} header bytes for ${ndims} dims, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d; // exact while count <= 2^53; checked against the byte limit below
  }
  const dataBytes = count * type.bytes;
  if (!Number.isSafeInteger(count) || dataBytes > MAX_DATA_BYTES) {
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `absurd IDX dims ${formatDims(dims)}: ${count} ${type.name} elements (${dataBytes} bytes) exceed the ${MAX_DATA_BYTES}-byte limit`,
    );
  }
  const found = bytes.length - headerBytes;
  if (found < dataBytes) {
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `truncated IDX data: expected ${dataBytes} data bytes for dims ${formatDims(dims)} of ${type.name}, found ${found}`,
    );
  }
  if (found > dataBytes) {
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `trailing bytes after IDX data: expected ${dataBytes} data bytes for dims ${formatDims(dims)} of ${type.name}, found ${found} (${found - dataBytes} extra)`,
    );
  }

  // Copy into a fresh, exactly sized buffer (so data.buffer holds only this array), then fix the byte order.
  const out = new ArrayBuffer(dataBytes);
  const outBytes = Buffer.from(out);
  outBytes.set(bytes.subarray(headerBytes, headerBytes + dataBytes));
  if (HOST_LITTLE_ENDIAN) swapInPlace(outBytes, type.bytes);
  return { dims, data: type.make(out) };
}

/** Encodes an array as IDX bytes (uncompressed). Validates that `data.length === product(dims)`. */
export function encodeIdx(dims: readonly number[], data: IdxData): Buffer {
  const type = IDX_TYPES.find((t) => data instanceof t.ctor);
  if (type === undefined) {
    throw new ValidationError(
      'E_DTYPE',
      `expected a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array for data, got ${describeValue(data)}`,
    );
  }
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 255) {
    throw new ValidationError('E_SHAPE', `expected 1 to 255 dimensions for dims, got ${describeValue(dims)}`);
  }
  let count = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_DIM) {
      throw new ValidationError('E_SHAPE', `expected an integer in [0, ${MAX_DIM}] for dims[${i}], got ${describeValue(d)}`);
    }
    count *= d;
  }
  if (count !== data.length) {
    throw new ValidationError(
      'E_SHAPE',
      `expected ${count} elements (product of dims ${formatDims(dims)}) for data, got ${data.length}`,
    );
  }
  const headerBytes = 4 + 4 * dims.length;
  const out = Buffer.alloc(headerBytes + data.byteLength);
  out[2] = type.code;
  out[3] = dims.length;
  for (let i = 0; i < dims.length; i++) out.writeUInt32BE(dims[i]!, 4 + 4 * i);
  const body = out.subarray(headerBytes);
  body.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (HOST_LITTLE_ENDIAN) swapInPlace(body, type.bytes);
  return out;
}

/**
 * Writes an IDX file, gzip-compressed if `opts.gzip` (default: path ends in `.gz`). The bytes go
 * to a temporary file next to `path` that is then renamed over it, so readers never see a partial
 * file. Argument errors are {@link ValidationError}s; write failures are `E_IO` {@link FileFormatError}s.
 */
export async function writeIdx(path: string, dims: readonly number[], data: IdxData, opts: WriteIdxOptions = {}): Promise<void> {
  expectString('path', path);
  expectOptions('writeIdx options', opts);
  const compress = opts.gzip ?? path.endsWith('.gz');
  const raw = encodeIdx(dims, data);
  const bytes = compress ? await gzipAsync(raw) : raw;
  const target = await writeTarget(path);
  await removeStaleTemps(target);
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new FileFormatError('E_IO', path, `cannot write IDX file: ${(err as Error).message}`, { cause: err });
  } finally {
    releaseTempPath(tmp);
  }
}
