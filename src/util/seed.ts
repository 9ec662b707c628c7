/**
 * Seeds of unseeded models: a fresh 32-bit value from the operating system's random source, so
 * two unseeded models differ; the drawn seed is stored in the model's configuration (and so in
 * its checkpoint and summary), which keeps every run reproducible.
 */
import { randomInt } from 'node:crypto';
import { currentWorld } from '../distributed/world.js';

/** Largest seed {@link freshSeed} draws (exclusive): seeds are 32-bit, as the CLI's `--seed`. */
export const FRESH_SEED_LIMIT = 2 ** 32;

/**
 * A uniformly random seed in [0, 2^32) from `crypto.randomInt` (not reproducible by design). In a
 * started distributed world it is rank 0's draw on every rank (a collective call: every rank
 * draws its fresh seeds in the same order).
 */
export function freshSeed(): number {
  // randomInt's range is limited to 2^48; two draws of 16 bits keep the bound exact.
  const seed = randomInt(0, 2 ** 16) * 2 ** 16 + randomInt(0, 2 ** 16);
  const world = currentWorld();
  return world && world.size > 1 ? Number(world.broadcast(String(seed))) : seed;
}
