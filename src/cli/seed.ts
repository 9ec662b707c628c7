/**
 * `--seed` of the training commands: omitted, a fresh random seed is drawn (as the library does
 * for an unseeded model), printed with the run's description and recorded in metrics.json and
 * the checkpoint, so the run can be repeated with `--seed <n>`.
 */
import { freshSeed } from '../util/seed.js';

/** Help text of `--seed` for the commands whose default is a fresh seed. */
export const SEED_HELP =
  'seed of the frozen random weights and of shuffling (default: a fresh random seed, printed and recorded)';

/** The flags' seed, or a fresh one; `drawn` says which (the description then says "seed N (random)"). */
export function resolveCliSeed(seed: number | undefined): { seed: number; drawn: boolean } {
  return seed === undefined ? { seed: freshSeed(), drawn: true } : { seed, drawn: false };
}

/** "seed 7" or "seed 3405691582 (random; --seed 3405691582 repeats this run)". */
export function seedText(seed: number, drawn: boolean): string {
  return drawn ? `seed ${seed} (random; --seed ${seed} repeats this run)` : `seed ${seed}`;
}
