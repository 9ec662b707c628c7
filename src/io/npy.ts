/**
 * NumPy .npy files (format versions 1.0-3.0): a magic string, a version, a Python-dict header
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (n, m), }` padded to a multiple of 64, then
 * the raw data. {@link writeNpy} writes version 1.0, C order, little-endian; {@link readNpy}
 * reads C-order little-endian float32, float64, int32, int64, uint8 and bool arrays.
 */
import { expectString, describe } from '../util/validate.js';
import { readFile } from 'node:fs/promises';
import { FileFormatError, ValidationError } from '../errors.js';
import { writeFileAtomic } from '../model/checkpoint.js';

/** The typed arrays .npy files map to. */
export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** An array read from or written to a .npy file. */
export interface NpyArray {
  data: NpyData;
  shape: number[];
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Uint8Array) return '|u1';
  throw new ValidationError('E_DTYPE', 'expected a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array');
}

/** The bytes of a .npy file for `data` of `shape` (default: 1-D). */
export function encodeNpy(data: NpyData, shape: number[] = [(data as { length?: number } | null)?.length ?? 0]): Buffer {
  if (!ArrayBuffer.isView(data) || data instanceof DataView)
    throw new ValidationError('E_DTYPE', `expected a typed array for data, got ${describe(data)}`);
  if (!Array.isArray(shape))
    throw new ValidationError('E_SHAPE', `expected an array of dimensions for shape, got ${describe(shape)}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new ValidationError('E_SHAPE', `expected a shape of ${data.length} values, got [${shape.join(', ')}]`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = MAGIC.length + 2 + 2 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const buf = Buffer.alloc(10 + header.length + data.byteLength);
  MAGIC.copy(buf, 0);
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(buf, 10 + header.length);
  return buf;
}

/** Writes a .npy file atomically. */
export async function writeNpy(path: string, data: NpyData, shape?: number[]): Promise<void> {
  expectString('path', path);
  await writeFileAtomic(path, encodeNpy(data, shape));
}

const READERS: Record<string, { bytes: number; make: (b: ArrayBuffer) => NpyData }> = {
  '<f4': { bytes: 4, make: (b) => new Float32Array(b) },
  '<f8': { bytes: 8, make: (b) => new Float64Array(b) },
  '<i4': { bytes: 4, make: (b) => new Int32Array(b) },
  '<i8': { bytes: 8, make: (b) => new BigInt64Array(b) },
  '|u1': { bytes: 1, make: (b) => new Uint8Array(b) },
  '|b1': { bytes: 1, make: (b) => new Uint8Array(b) },
};

/** Parses .npy bytes; unsupported or malformed files are E_FORMAT errors naming `path`. */
export function decodeNpy(buf: Buffer, path: string): NpyArray {
  if (!(buf instanceof Uint8Array)) throw new ValidationError('E_INVALID_ARG', `expected a Buffer for buf, got ${describe(buf)}`);
  const bad = (m: string): FileFormatError => new FileFormatError('E_FORMAT', path, m);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw bad('not a .npy file (bad magic)');
  const major = buf[6]!;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) throw bad(`unsupported .npy version ${major}`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad('malformed header');
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const reader = READERS[descr];
  if (!reader) throw bad(`unsupported dtype ${descr} (float32, float64, int32, int64, uint8, bool; little-endian)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + hlen;
  if (dataStart + count * reader.bytes > buf.length)
    throw bad(`data runs past the end of the file (shape [${shape.join(', ')}])`);
  const copy = new ArrayBuffer(count * reader.bytes);
  new Uint8Array(copy).set(buf.subarray(dataStart, dataStart + count * reader.bytes));
  return { data: reader.make(copy), shape };
}

/** Reads a .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new FileFormatError('E_IO', path, `cannot read .npy file: ${(err as Error).message}`, { cause: err });
  }
  return decodeNpy(buf, path);
}
