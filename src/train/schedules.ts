/** Learning-rate schedules: the rate for an epoch (0-based) from the optimizer's base rate. */
import { expectObject } from '../util/validate.js';
import { ValidationError } from '../errors.js';

/** The learning rate of an epoch from the optimizer's base rate. */
export type LrSchedule = (epoch: number, baseLr: number) => number;

export const constantLr: LrSchedule = (_epoch, baseLr) => baseLr;

/** lr = base * gamma^floor(epoch / stepSize). */
export function stepDecay(opts: { stepSize: number; gamma?: number }): LrSchedule {
  expectObject('stepDecay options', opts);
  const gamma = opts.gamma ?? 0.1;
  if (!(Number.isInteger(opts.stepSize) && opts.stepSize >= 1))
    throw new ValidationError('E_INVALID_ARG', `expected an integer >= 1 for stepSize, got ${opts.stepSize}`);
  if (!(gamma > 0)) throw new ValidationError('E_INVALID_ARG', `expected gamma > 0, got ${gamma}`);
  return (epoch, base) => base * gamma ** Math.floor(epoch / opts.stepSize);
}

/** Cosine annealing from base to minLr over `epochs` epochs (held at minLr afterwards). */
export function cosineDecay(opts: { epochs: number; minLr?: number }): LrSchedule {
  expectObject('cosineDecay options', opts);
  const minLr = opts.minLr ?? 0;
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1))
    throw new ValidationError('E_INVALID_ARG', `expected an integer >= 1 for epochs, got ${opts.epochs}`);
  return (epoch, base) => {
    const t = Math.min(epoch, opts.epochs) / opts.epochs;
    return minLr + 0.5 * (base - minLr) * (1 + Math.cos(Math.PI * t));
  };
}
