/**
 * Width-parallel models (docs/distributed.md): the hidden units of one hidden layer split into
 * contiguous slices, one per rank, and the gathering of the full learned tensors from the slices.
 */
import { BiasLearnError, fromNativeError, ValidationError } from '../errors.js';
import { collectivePathFor } from './nccl.js';
import { currentWorld, type World } from './world.js';

/** A width-parallel model's place in the world: this rank's hidden units [offset, offset + width). */
export interface WidthShard {
  rank: number;
  ranks: number;
  offset: number;
  width: number;
}

/**
 * This rank's slice of a one-hidden-layer model of width H, after every rank agreed on the
 * configuration; E_DISTRIBUTED without a started world, E_CONFIG for more layers or clipping.
 */
export function planWidthShard(
  config: { clip: number },
  hiddenLayers: number,
  H: number,
  backend: string,
): { world: World; shard: WidthShard } {
  const world = currentWorld();
  if (!world)
    throw new BiasLearnError('E_DISTRIBUTED', 'width-parallel training needs a distributed world: call initDistributed() first');
  if (hiddenLayers !== 1) throw new ValidationError('E_CONFIG', 'width-parallel training needs exactly one hidden layer');
  if (config.clip > 0) throw new ValidationError('E_CONFIG', 'gradient clipping is not supported in width-parallel training');
  const { offset, width } = widthSlice(H, world.rank, world.size);
  world.agree('the width-parallel model configuration', { config, backend });
  return { world, shard: { rank: world.rank, ranks: world.size, offset, width } };
}

/** The native handle of this rank's slice with the world's collective attached (disposed if attaching fails). */
export function withCollective<H extends { attachCollective(path: string | null): void; dispose(): void }>(
  handle: H,
  backend: string,
  world: World,
): H {
  try {
    handle.attachCollective(collectivePathFor(backend, world));
  } catch (err) {
    handle.dispose();
    throw fromNativeError(err);
  }
  return handle;
}

/** Rank r's hidden units [offset, offset + width) of H over `size` ranks. */
export function widthSlice(H: number, rank: number, size: number): { offset: number; width: number } {
  if (H < size) throw new ValidationError('E_CONFIG', `expected a hidden width >= the ${size} ranks, got ${H}`);
  const offset = Math.floor((H * rank) / size);
  return { offset, width: Math.floor((H * (rank + 1)) / size) - offset };
}

/** How a learned tensor is split: by rows (one per hidden unit), by columns, or the same on every rank. */
export type SliceAxis = 'rows' | 'cols' | 'replicated';

/**
 * The full tensors from every rank's slices (a collective: every rank calls it; every rank gets
 * the result). `local` holds this rank's slices, `cols` the column count of each as stored here.
 */
export function gatherSlices(
  world: World,
  local: Record<string, Float32Array>,
  cols: Record<string, number>,
  axisOf: (name: string) => SliceAxis,
  H: number,
): Record<string, Float32Array> {
  const mine = JSON.stringify(
    Object.fromEntries(
      Object.entries(local).map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')]),
    ),
  );
  const all = (JSON.parse(world.broadcast(JSON.stringify(world.gather(mine)))) as string[]).map((text) => {
    const parts = JSON.parse(text) as Record<string, string>;
    return Object.fromEntries(
      Object.entries(parts).map(([k, b64]) => {
        const bytes = Buffer.from(b64, 'base64');
        return [k, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)];
      }),
    ) as Record<string, Float32Array>;
  });
  const out: Record<string, Float32Array> = {};
  for (const name of Object.keys(local)) {
    const axis = axisOf(name);
    if (axis === 'replicated') out[name] = Float32Array.from(all[0]![name]!);
    else if (axis === 'rows') {
      const full = new Float32Array(all.reduce((n, part) => n + part[name]!.length, 0));
      let at = 0;
      for (const part of all) {
        full.set(part[name]!, at);
        at += part[name]!.length;
      }
      out[name] = full;
    } else {
      const rows = local[name]!.length / cols[name]!;
      const full = new Float32Array(rows * H);
      all.forEach((part, r) => {
        const { offset, width } = widthSlice(H, r, world.size);
        const p = part[name]!;
        for (let i = 0; i < rows; i++) full.set(p.subarray(i * width, (i + 1) * width), i * H + offset);
      });
      out[name] = full;
    }
  }
  return out;
}
