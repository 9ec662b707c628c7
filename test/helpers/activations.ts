/**
 * Float64 references of every activation (native/common/activation.h), written independently of
 * the library: forward a = act(z), the derivative at z, and the derivative written through the
 * output a (what the backward kernels compute), plus the names -> numbers the addon exports
 * (`info().activations`), which the kernel probe takes.
 */
import { ACTIVATIONS, type Activation } from '../../src/index.js';
import { native } from '../../src/native/binding.js';

/** name -> the native Act number (from the addon; test/core.activations.test.ts checks it matches ACTIVATIONS). */
export const ACT = native().info().activations as Record<Activation, number>;
export const ACT_NAMES: readonly Activation[] = ACTIVATIONS;

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function actRef(name: Activation, z: number): number {
  switch (name) {
    case 'identity':
      return z;
    case 'relu':
      return Math.max(z, 0);
    case 'tanh':
    case 'tanh-rational': // a [13/6] rational function within a few float32 ulp of tanh
      return Math.tanh(z);
    case 'sigmoid':
      return sigmoid(z);
    case 'hard-sigmoid':
      return z <= 0 ? 0 : Math.min(z, 1);
    case 'softplus':
      return z > 30 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    case 'leaky-relu':
      return z > 0 ? z : 0.01 * z;
  }
}

/** act'(z) (at a kink: the derivative of the side the output cannot tell apart, as the kernels). */
export function actDerivRef(name: Activation, z: number): number {
  switch (name) {
    case 'identity':
      return 1;
    case 'relu':
      return z > 0 ? 1 : 0;
    case 'tanh':
    case 'tanh-rational':
      return 1 - Math.tanh(z) ** 2;
    case 'sigmoid':
      return sigmoid(z) * (1 - sigmoid(z));
    case 'hard-sigmoid':
      return z > 0 && z < 1 ? 1 : 0;
    case 'softplus':
      return sigmoid(z);
    case 'leaky-relu':
      return z > 0 ? 1 : 0.01;
  }
}

/** act'(z) written through the output a = act(z) (backend.h act_backward's contract). */
export function actGradRef(name: Activation, a: number): number {
  switch (name) {
    case 'identity':
      return 1;
    case 'relu':
      return a > 0 ? 1 : 0;
    case 'tanh':
    case 'tanh-rational':
      return 1 - a * a;
    case 'sigmoid':
      return a * (1 - a);
    case 'hard-sigmoid':
      return a > 0 && a < 1 ? 1 : 0;
    case 'softplus':
      return -Math.expm1(-a); // sigmoid(z) = 1 - e^-a
    case 'leaky-relu':
      return a > 0 ? 1 : 0.01;
  }
}

/** Pre-activation values where `name` has a kink (finite differences across one are wrong). */
export function kinks(name: Activation): number[] {
  return name === 'relu' || name === 'leaky-relu' ? [0] : name === 'hard-sigmoid' ? [0, 1] : [];
}
