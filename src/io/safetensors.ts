/**
 * safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`
 * (padded with spaces to a multiple of 8), then the raw little-endian tensor bytes. Written
 * atomically; read back for import. Only float32 ('F32') tensors are written; F32, F64, I32 and
 * I64 are read (as Float32Array / Float64Array / Int32Array / BigInt64Array).
 */
import { expectString, expectObject, describe } from '../util/validate.js';
import { readFile } from 'node:fs/promises';
import { FileFormatError, ValidationError } from '../errors.js';
import { writeFileAtomic } from '../model/checkpoint.js';

/** A tensor to write: row-major float32 values and their shape. */
export interface NamedTensor {
  data: Float32Array;
  shape: number[];
}

/** A tensor read back. */
export interface LoadedTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

const DTYPES: Record<string, { bytes: number; make: (b: ArrayBuffer) => LoadedTensor['data'] }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b) },
  F64: { bytes: 8, make: (b) => new Float64Array(b) },
  I32: { bytes: 4, make: (b) => new Int32Array(b) },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b) },
};

/** The bytes of a safetensors file holding `tensors` (in the given order) and string metadata. */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Buffer {
  expectObject('tensors', tensors);
  expectObject('metadata', metadata);
  for (const [name, t] of Object.entries(tensors)) {
    if (typeof t !== 'object' || t === null || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data))
      throw new ValidationError('E_INVALID_ARG', `expected { data, shape } for tensor ${name}, got ${describe(t)}`);
  }
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string')
      throw new ValidationError('E_INVALID_ARG', `expected a string for metadata.${k}, got ${describe(v)}`);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new ValidationError(
        'E_SHAPE',
        `tensor ${name}: shape [${t.shape.join(', ')}] holds ${n} values, got ${t.data.length}`,
      );
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const buf = Buffer.alloc(8 + jsonBytes.length + offset);
  buf.writeBigUInt64LE(BigInt(jsonBytes.length), 0);
  jsonBytes.copy(buf, 8);
  let at = 8 + jsonBytes.length;
  for (const t of Object.values(tensors)) {
    const view = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) view.copy(buf, at);
    else for (let i = 0; i < t.data.length; i++) buf.writeFloatLE(t.data[i]!, at + 4 * i);
    at += t.data.byteLength;
  }
  return buf;
}

/** Writes a safetensors file atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  expectString('path', path);
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Parses safetensors bytes; malformed files are E_FORMAT errors naming `path`. */
export function decodeSafetensors(
  buf: Buffer,
  path: string,
): { tensors: Record<string, LoadedTensor>; metadata: Record<string, string> } {
  if (!Buffer.isBuffer(buf)) throw new ValidationError('E_INVALID_ARG', `expected a Buffer for buf, got ${describe(buf)}`);
  const bad = (m: string): FileFormatError => new FileFormatError('E_FORMAT', path, m);
  if (buf.length < 8) throw bad('too short for a safetensors file');
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw bad('header length runs past the end of the file');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + n));
  } catch (err) {
    throw bad(`header is not valid JSON: ${(err as Error).message}`);
  }
  const base = 8 + n;
  const tensors: Record<string, LoadedTensor> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets } = e as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const kind = DTYPES[dtype];
    if (!kind) throw bad(`tensor ${name}: unsupported dtype ${dtype} (F32, F64, I32, I64)`);
    if (!Array.isArray(shape) || !Array.isArray(data_offsets)) throw bad(`tensor ${name}: malformed entry`);
    const [b, end] = data_offsets;
    const count = shape.reduce((a, c) => a * c, 1);
    if (end - b !== count * kind.bytes || base + end > buf.length || b < 0)
      throw bad(`tensor ${name}: data offsets [${b}, ${end}] do not fit shape [${shape.join(', ')}] and the file`);
    const copy = new ArrayBuffer(end - b);
    new Uint8Array(copy).set(buf.subarray(base + b, base + end));
    tensors[name] = { dtype, shape, data: kind.make(copy) };
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}

/** Reads a safetensors file. */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Record<string, LoadedTensor>; metadata: Record<string, string> }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new FileFormatError('E_IO', path, `cannot read safetensors file: ${(err as Error).message}`, { cause: err });
  }
  return decodeSafetensors(buf, path);
}
