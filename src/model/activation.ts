/**
 * The activations every model kind accepts (MLP, multi-task, RNN), one list, with their float64
 * twins for analyses done in JavaScript (src/analysis/rnn_dynamics.ts). The native definitions,
 * which training and prediction use, are native/common/activation.h; the addon exports their names
 * (`info().activations`), and test/core.activations.test.ts checks that both lists agree.
 *
 * - `tanh`: tanh (std::tanh / tanhf).
 * - `tanh-rational`: tanh as a [13/6] rational function within a few ulp of tanh, faster on the
 *   CPU; the RNN's default (and what an RNN's 'tanh' meant before 0.2).
 * - `hard-sigmoid`: clip(z, 0, 1).
 * - `softplus`: log(1 + e^z), computed without overflow.
 * - `leaky-relu`: z > 0 ? z : 0.01 z (PyTorch's default slope, fixed).
 */

/** Negative-side slope of 'leaky-relu'. */
export const LEAKY_RELU_SLOPE = 0.01;

/** An activation and its derivative in float64. */
export interface ActivationMath {
  /** a = act(z) */
  f(z: number): number;
  /** act'(z) */
  df(z: number): number;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

const MATH = {
  relu: { f: (z) => Math.max(z, 0), df: (z) => (z > 0 ? 1 : 0) },
  tanh: { f: Math.tanh, df: (z) => 1 - Math.tanh(z) ** 2 },
  sigmoid: { f: sigmoid, df: (z) => sigmoid(z) * (1 - sigmoid(z)) },
  identity: { f: (z) => z, df: () => 1 },
  // In float64 the rational approximation is indistinguishable from tanh at analysis precision.
  'tanh-rational': { f: Math.tanh, df: (z) => 1 - Math.tanh(z) ** 2 },
  'hard-sigmoid': { f: (z) => Math.min(1, Math.max(0, z)), df: (z) => (z > 0 && z < 1 ? 1 : 0) },
  softplus: { f: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))), df: sigmoid },
  'leaky-relu': { f: (z) => (z > 0 ? z : LEAKY_RELU_SLOPE * z), df: (z) => (z > 0 ? 1 : LEAKY_RELU_SLOPE) },
} as const satisfies Record<string, ActivationMath>;

export type Activation = keyof typeof MATH;
export const ACTIVATIONS = Object.keys(MATH) as readonly Activation[];

/** The float64 activation `a` and its derivative. */
export function activationMath(a: Activation): ActivationMath {
  return MATH[a];
}
