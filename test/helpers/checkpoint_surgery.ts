/** Taking checkpoints apart and putting them back (checksum recomputed), for hostile-file tests. */
import { crc32 } from 'node:zlib';

export interface CheckpointParts {
  header: Record<string, unknown> & { model: Record<string, unknown>; tensors: { name: string; length: number }[] };
  /** The tensor bytes, in header order. */
  data: Buffer;
}

export function splitCheckpoint(buf: Buffer): CheckpointParts {
  const hlen = buf.readUInt32LE(12);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + hlen)) as CheckpointParts['header'];
  const dataStart = Math.ceil((16 + hlen) / 4) * 4;
  return { header, data: Buffer.from(buf.subarray(dataStart, buf.length - 4)) };
}

/** A well-formed file (magic, version, padding, checksum) around any header and tensor bytes. */
export function joinCheckpoint(header: unknown, data: Buffer): Buffer {
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

/** The same bytes with the checksum recomputed. */
export function withChecksum(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}

/** Every [path, value] of a JSON value, the root excluded. */
export function jsonLeaves(v: unknown, path: (string | number)[] = []): [(string | number)[], unknown][] {
  if (v === null || typeof v !== 'object') return path.length ? [[path, v]] : [];
  const out: [(string | number)[], unknown][] = path.length ? [[path, v]] : [];
  for (const [k, x] of Object.entries(v)) out.push(...jsonLeaves(x, [...path, Array.isArray(v) ? Number(k) : k]));
  return out;
}

/** A deep copy of `root` with the value at `path` replaced (or deleted when `value` is DELETE). */
export const DELETE = Symbol('delete');
export function withValueAt<T>(root: T, path: (string | number)[], value: unknown): T {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === DELETE) {
    if (Array.isArray(o)) o.splice(last as number, 1);
    else delete o[last];
  } else o[last] = value;
  return copy as T;
}

/** Values of another JSON type than `v`: each must be refused where `v` stood. */
export function wrongTypes(v: unknown): unknown[] {
  const all: unknown[] = [null, 'x', true, {}, [], 1.5];
  return all.filter((w) => {
    if (w === null) return v !== null;
    if (Array.isArray(w)) return !Array.isArray(v);
    if (typeof w === 'object') return typeof v !== 'object' || v === null || Array.isArray(v);
    return typeof w !== typeof v;
  });
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
