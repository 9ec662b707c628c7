/**
 * Checkpoint files: a versioned header plus the learned values only. Frozen weights are not
 * stored; they are regenerated from the seed and distributions in the header.
 *
 * Layout (little-endian):
 *   [0, 8)    magic "BIASLRN\n"
 *   [8, 12)   uint32 format version (1)
 *   [12, 16)  uint32 header length H
 *   [16, 16+H) UTF-8 JSON header: { library, libraryVersion, model, tensors: [{ name, length }], metadata }
 *   zero padding to a multiple of 4
 *   float32 tensors in header order
 *   uint32 CRC-32 of every byte before it
 *
 * Saving writes a temporary file in the same directory, fsyncs it and renames it over the
 * target, so a crash leaves either the old file or the new one, never half of one.
 */
import { type FileHandle, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { FileFormatError, ValidationError } from '../errors.js';
import { libraryVersion } from '../util/package_root.js';
import { releaseTempPath, removeStaleTemps, tempPathFor, writeTarget } from '../util/temp_files.js';
import { describe, expectFinite, expectInt, expectKnownKeys, expectObject, expectOptions, optionKeys } from '../util/validate.js';
import { checkHeaderSchema, DEFAULT_MAX_LOAD_WEIGHTS, tensorTableProblem } from './checkpoint_schema.js';
import { firstDifference, SchemaError } from './schema.js';

export const CHECKPOINT_MAGIC = 'BIASLRN\n';
export const CHECKPOINT_VERSION = 1;
/** Largest header (JSON and tensor table) a checkpoint may have. */
const MAX_HEADER_BYTES = 64 << 20;
const READ_OPTION_KEYS = optionKeys<ReadCheckpointOptions>({ maxWeights: true });
const LITTLE_ENDIAN = endianness() === 'LE';

export interface CheckpointHeader {
  library: 'biaslearn';
  libraryVersion: string;
  /** The resolved model configuration (architecture, seed, distributions, trainable set). */
  model: Record<string, unknown> & { kind: string };
  tensors: { name: string; length: number }[];
  metadata?: Record<string, unknown>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  tensors: Record<string, Float32Array>;
}

export function encodeCheckpoint(header: Omit<CheckpointHeader, 'tensors'>, tensors: Record<string, Float32Array>): Buffer {
  const names = Object.keys(tensors);
  const full: CheckpointHeader = { ...header, tensors: names.map((name) => ({ name, length: tensors[name]!.length })) };
  let text: string;
  try {
    text = JSON.stringify(full);
  } catch (err) {
    // A cycle, a BigInt or a throwing toJSON in the metadata.
    throw new ValidationError('E_INVALID_ARG', `expected JSON-serialisable metadata: ${(err as Error).message.split('\n')[0]}`);
  }
  const json = Buffer.from(text, 'utf8');
  const headerEnd = 16 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const dataBytes = names.reduce((s, n) => s + tensors[n]!.length * 4, 0);
  const buf = Buffer.alloc(dataStart + dataBytes + 4);
  buf.write(CHECKPOINT_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(CHECKPOINT_VERSION, 8);
  buf.writeUInt32LE(json.length, 12);
  json.copy(buf, 16);
  let off = dataStart;
  for (const n of names) {
    const t = tensors[n]!;
    if (LITTLE_ENDIAN) {
      Buffer.from(t.buffer, t.byteOffset, t.byteLength).copy(buf, off);
      off += t.byteLength;
    } else {
      for (let i = 0; i < t.length; i++, off += 4) buf.writeFloatLE(t[i]!, off);
    }
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, off)), off);
  return buf;
}

/** Options of {@link readCheckpoint}. */
export interface ReadCheckpointOptions {
  /**
   * Most values (frozen and learned) the checkpoint's model may declare; default
   * {@link DEFAULT_MAX_LOAD_WEIGHTS} (2^27, 512 MiB of float32). A larger declaration is E_FORMAT.
   */
  maxWeights?: number;
}

/** The cap of `maxWeights` as given (a positive safe integer) or the default. */
export function loadCap(options: ReadCheckpointOptions | undefined): number {
  if (options?.maxWeights === undefined) return DEFAULT_MAX_LOAD_WEIGHTS;
  return expectInt('maxWeights', options.maxWeights, 1);
}

/**
 * Decodes and checks a checkpoint: magic, version, checksum, the header against its schema
 * (src/model/checkpoint_schema.ts), the tensor table against the sizes the model declares (no
 * duplicate, missing or extra entry; at most `maxValues` values), then the tensors.
 */
export function decodeCheckpoint(buf: Buffer, path: string, maxValues = DEFAULT_MAX_LOAD_WEIGHTS): Checkpoint {
  const bad = (msg: string): FileFormatError => new FileFormatError('E_FORMAT', path, msg);
  if (buf.length < 20) throw bad(`file is ${buf.length} bytes, too short for a biaslearn checkpoint`);
  if (buf.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC) throw bad('bad magic: not a biaslearn checkpoint');
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION)
    throw bad(`unsupported checkpoint format version ${version} (this library reads version ${CHECKPOINT_VERSION})`);
  const storedCrc = buf.readUInt32LE(buf.length - 4);
  if (crc32(buf.subarray(0, buf.length - 4)) !== storedCrc) throw bad('checksum mismatch: the file is truncated or corrupt');
  const hlen = buf.readUInt32LE(12);
  if (16 + hlen > buf.length - 4) throw bad('header length runs past the end of the file');
  if (hlen > MAX_HEADER_BYTES) throw bad(`header of ${hlen} bytes, over the ${MAX_HEADER_BYTES} a checkpoint may have`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + hlen)) as CheckpointHeader;
  } catch (err) {
    throw new FileFormatError('E_FORMAT', path, `header is not valid JSON: ${(err as Error).message}`);
  }
  try {
    checkHeaderSchema(header);
  } catch (err) {
    if (err instanceof SchemaError) throw bad(`invalid header: ${err.message}`);
    throw err;
  }
  const problem = tensorTableProblem(header.model, header.tensors, maxValues);
  if (problem) throw bad(`the header's tensor table does not fit its model: ${problem}`);
  let off = Math.ceil((16 + hlen) / 4) * 4;
  const tensors: Record<string, Float32Array> = {};
  for (const t of header.tensors) {
    const end = off + t.length * 4;
    if (end > buf.length - 4) throw bad(`tensor ${t.name} runs past the end of the file`);
    const arr = new Float32Array(t.length);
    if (LITTLE_ENDIAN) new Uint8Array(arr.buffer).set(buf.subarray(off, end));
    else for (let i = 0; i < t.length; i++) arr[i] = buf.readFloatLE(off + i * 4);
    tensors[t.name] = arr;
    off = end;
  }
  if (off !== buf.length - 4) throw bad(`${buf.length - 4 - off} unexpected bytes after the last tensor`);
  return { header, tensors };
}

/**
 * Writes atomically: temp file in the same directory, fsync, rename. A symbolic link at `path` is
 * followed (its target is replaced, the link kept); temporary files of earlier interrupted writes
 * to the same path are removed first.
 */
export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const target = await writeTarget(path);
  await removeStaleTemps(target);
  const tmp = tempPathFor(target);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new FileFormatError('E_IO', path, `cannot write checkpoint: ${(err as Error).message}`, { cause: err });
  } finally {
    releaseTempPath(tmp);
  }
}

/** Reads and checks a checkpoint file (header and tensors); E_IO / E_FORMAT errors name the path. */
export async function readCheckpoint(path: string, options?: ReadCheckpointOptions): Promise<Checkpoint> {
  if (typeof path !== 'string' || path.length === 0)
    throw new ValidationError('E_INVALID_ARG', `expected a checkpoint file path, got ${describe(path)}`);
  if (options !== undefined) expectKnownKeys('readCheckpoint options', options, READ_OPTION_KEYS);
  const maxValues = loadCap(options);
  let buf: Buffer;
  try {
    // Regular files only: a FIFO or a device would block or never end.
    const st = await stat(path);
    if (!st.isFile()) throw new FileFormatError('E_IO', path, 'not a regular file');
    // Header, tensor table and 4 bytes per declared value: a larger file cannot be a checkpoint the cap allows.
    if (st.size > maxValues * 4 + MAX_HEADER_BYTES)
      throw new FileFormatError('E_FORMAT', path, `file is ${st.size} bytes, larger than any checkpoint under the loading cap`);
    buf = await readFile(path);
  } catch (err) {
    if (err instanceof FileFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileFormatError(
      'E_IO',
      path,
      code === 'ENOENT' ? 'no such checkpoint file' : `cannot read checkpoint: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return decodeCheckpoint(buf, path, maxValues);
}

/** The metadata of a `save` call's options: a plain object, or none. */
export function saveMetadata(options: { metadata?: Record<string, unknown> } | undefined): Record<string, unknown> | undefined {
  const o = expectOptions('save options', options);
  if (o.metadata === undefined) return undefined;
  return expectObject<Record<string, unknown>>('metadata', o.metadata);
}

/** The `save` of every model kind: the resolved configuration and the learned tensors, atomically. */
export async function writeModelCheckpoint(
  path: string,
  config: { kind: string },
  tensors: Record<string, Float32Array>,
  metadata?: Record<string, unknown>,
): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ValidationError('E_INVALID_ARG', `expected a file path, got ${path === '' ? 'an empty string' : typeof path}`);
  }
  const buf = encodeCheckpoint(
    {
      library: 'biaslearn',
      libraryVersion: libraryVersion(),
      model: config as unknown as CheckpointHeader['model'],
      ...(metadata ? { metadata } : {}),
    },
    tensors,
  );
  await writeFileAtomic(path, buf);
}

/**
 * The first half of every model kind's `load`: reads the file, checks the model kind, and
 * re-validates the stored configuration through `resolve` (so a hand-edited header cannot smuggle
 * bad values in; `resolve` also sees the header, to read files of older releases). Every failure is an E_FORMAT / E_IO FileFormatError naming the path.
 */
export async function readModelCheckpoint<C>(
  path: string,
  kind: string,
  what: string,
  resolve: (stored: C, header: CheckpointHeader) => C,
  options: ReadCheckpointOptions & { consistency: (config: C, stored: C, header: CheckpointHeader) => [unknown, unknown] },
): Promise<{ config: C; stored: C; tensors: Record<string, Float32Array>; header: CheckpointHeader }> {
  const { header, tensors } = await readCheckpoint(
    path,
    options.maxWeights === undefined ? {} : { maxWeights: options.maxWeights },
  );
  if (header.model.kind !== kind)
    throw new FileFormatError('E_FORMAT', path, `checkpoint holds a '${String(header.model.kind)}' model, not ${what}`);
  const stored = header.model as unknown as C;
  let config: C;
  try {
    config = resolve(stored, header);
  } catch (err) {
    throw new FileFormatError('E_FORMAT', path, `checkpoint header holds an invalid model: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // The stored configuration must be what it resolves to (up to documented upgrades of older
  // files): a field the resolver would replace or ignore means a hand-edited header.
  let diff: string | undefined;
  try {
    const [resolved, given] = options.consistency(config, stored, header);
    diff = firstDifference(resolved, given, 'model');
  } catch (err) {
    throw new FileFormatError('E_FORMAT', path, `checkpoint header holds an invalid model: ${(err as Error).message}`);
  }
  if (diff !== undefined)
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `checkpoint header holds an inconsistent model: ${diff} is not what the rest implies`,
    );
  return { config, stored, tensors, header };
}

/**
 * The second half: puts the stored values into a freshly built model. Names the model does not
 * learn, missing or mis-sized values are an E_FORMAT error naming the path (the model is disposed).
 */
export async function applyCheckpointValues<M extends { dispose(): void; learnedTensors(): { name: string }[] }>(
  path: string,
  model: M,
  tensors: Record<string, Float32Array>,
  apply: (model: M, tensors: Record<string, Float32Array>) => Promise<void>,
): Promise<M> {
  try {
    const expected = new Set(model.learnedTensors().map((t) => t.name));
    const extra = Object.keys(tensors).filter((n) => !expected.has(n));
    if (extra.length) throw new Error(`tensors ${extra.join(', ')} are not learned by this model`);
    await apply(model, tensors);
  } catch (err) {
    model.dispose();
    throw new FileFormatError('E_FORMAT', path, `checkpoint values do not fit its model: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return model;
}

/**
 * Checks values for a model's learned tensors on the JS thread: a Float32Array of the exact size,
 * all finite, for every name in `learned`.
 */
export function checkLearnedValues(learned: { name: string; size: number }[], values: Record<string, Float32Array>): void {
  for (const p of learned) {
    const v = values?.[p.name];
    if (!(v instanceof Float32Array))
      throw new ValidationError('E_DTYPE', `expected a Float32Array for ${p.name}, got ${describe(v)}`);
    if (v.length !== p.size) throw new ValidationError('E_SHAPE', `expected ${p.size} values for ${p.name}, got ${v.length}`);
    expectFinite(p.name, v);
  }
}
