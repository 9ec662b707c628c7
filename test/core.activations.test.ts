/**
 * Every activation (native/common/activation.h, src/model/activation.ts) on every backend:
 *   - the addon's list (info().activations) is ACTIVATIONS, numbered 0 .. n-1;
 *   - forward a = act(z) through bias_act against float64 at random points and at and near the
 *     kinks and saturations (atol 1e-6, rtol 1e-5, as test/core.kernels.test.ts);
 *   - the derivative written through the output, act_backward(G = 1, A = act(z)), against the
 *     float64 derivative at z (atol 1e-6, rtol 1e-5; points within 1e-6 of a kink excluded, where
 *     the output cannot tell the sides apart);
 *   - every model kind accepts every activation (the multi-task model every non-linear one);
 *   - 'tanh' is tanh for every model kind; an RNN checkpoint of 0.1.x saying 'tanh' (the rational
 *     tanh then) loads as 'tanh-rational', one written now keeps 'tanh'.
 * The per-op kernel tests (core.kernels, core.fused, multitask.kernels, rnn.kernels) run every
 * activation through every op that takes one; the gradient checks of core.reference,
 * multitask.model and rnn.gradients cover every model kind with the new activations.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTIVATIONS, MLP, MultitaskModel, RNN, Rng, SequenceDataset, activationMath, type Activation } from '../src/index.js';
import { nativeFor, type BackendName } from '../src/native/binding.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomNormalF32 } from './helpers/numeric.js';
import { ACT, actDerivRef, actGradRef, actRef, kinks } from './helpers/activations.js';

const probe = await probeBackends();
const golden = join(dirname(fileURLToPath(import.meta.url)), 'golden');

/** Random points plus points at and around every kink and in the saturated tails. */
function points(name: Activation): Float32Array {
  const rng = new Rng(17 + ACT[name]);
  const special = [0, 1, -1, 1e-7, -1e-7, 1e-3, -1e-3, 0.5, 20, -20, 88, -88, 100, -100, 1e4, -1e4];
  for (const k of kinks(name)) special.push(k, k + 1e-6, k - 1e-6, k + 2e-7, k - 2e-7, k + 1e-2, k - 1e-2);
  const out = new Float32Array(257 + special.length);
  out.set(randomNormalF32(rng, 257, 3));
  out.set(special, 257);
  return out;
}

describe('the activation list', () => {
  it('the addon exports ACTIVATIONS, numbered 0 .. n-1', () => {
    expect(Object.keys(ACT).sort()).toEqual([...ACTIVATIONS].sort());
    expect(Object.values(ACT).sort((a, b) => a - b)).toEqual(ACTIVATIONS.map((_, i) => i));
    // the numbers of 0.1.x are kept
    expect([ACT.identity, ACT.relu, ACT.tanh, ACT.sigmoid]).toEqual([0, 1, 2, 3]);
  });

  it("the float64 twins (activationMath) agree with this file's references", () => {
    for (const name of ACTIVATIONS) {
      for (const z of points(name)) {
        if (Math.abs(z) > 50) continue;
        expect(activationMath(name).f(z), `${name}(${z})`).toBeCloseTo(actRef(name, z), 12);
        expect(activationMath(name).df(z), `${name}'(${z})`).toBeCloseTo(actDerivRef(name, z), 12);
      }
    }
  });
});

describe.each(probe.backends)('every activation on %s', (backend: BackendName) => {
  for (const name of ACTIVATIONS) {
    it(`${name}: forward and the derivative through the output`, async () => {
      const z = points(name);
      const n = z.length;
      const mod = nativeFor(backend);
      const fwd = await mod.runKernel(backend, 'bias_act', {
        B: 1,
        H: n,
        act: ACT[name],
        Z: z.slice(),
        bias: new Float32Array(n),
      });
      const a = fwd.Z!;
      assertClose(
        `${name} forward`,
        a,
        Array.from(z, (v) => actRef(name, v)),
        1e-6,
        1e-5,
      );
      expect(a.every(Number.isFinite)).toBe(true);
      const back = await mod.runKernel(backend, 'act_backward', {
        B: 1,
        H: n,
        act: ACT[name],
        G: new Float32Array(n).fill(1),
        A: a,
      });
      const g = back.G!;
      // the kernel's formula, on the output it was given
      assertClose(
        `${name} act_backward vs act'(a)`,
        g,
        Array.from(a, (v) => actGradRef(name, v)),
        1e-6,
        1e-5,
      );
      // and that formula is the derivative at z (away from the kinks)
      const far = (v: number) => kinks(name).every((k) => Math.abs(v - k) > 1e-6);
      const idx = Array.from(z.keys()).filter((i) => far(z[i]!));
      assertClose(
        `${name} act_backward vs d act / dz`,
        idx.map((i) => g[i]!),
        idx.map((i) => actDerivRef(name, z[i]!)),
        1e-6,
        1e-5,
      );
    });
  }
});

describe('every model kind takes every activation', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  for (const activation of ACTIVATIONS) {
    it(`${activation}: MLP, multi-task model and RNN create, predict and keep it through save/load`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bl-act-'));
      dirs.push(dir);
      const x = randomNormalF32(new Rng(3), 5 * 4, 1);
      const mlp = await MLP.create({ inputSize: 4, hidden: [7], outputSize: 3, activation, seed: 1 });
      expect(mlp.config.layers[0]!.activation).toBe(activation);
      const y = await mlp.predict(x);
      await mlp.save(join(dir, 'mlp.blck'));
      const mlp2 = await MLP.load(join(dir, 'mlp.blck'));
      expect(Array.from(await mlp2.predict(x))).toEqual(Array.from(y));
      mlp.dispose();
      mlp2.dispose();

      if (activation !== 'identity') {
        const mt = await MultitaskModel.create({
          inputSize: 4,
          hidden: 6,
          tasks: [
            { name: 'a', classes: 2 },
            { name: 'b', classes: 3 },
          ],
          activation,
          seed: 2,
        });
        expect(mt.config.activation).toBe(activation);
        // rows of the 2-class task are padded with -Infinity to 3 columns
        expect((await mt.predict(x, Int32Array.from([0, 1, 0, 1, 1]))).every((v) => !Number.isNaN(v) && v < Infinity)).toBe(true);
        mt.dispose();
      }

      const rnn = await RNN.create({ inputSize: 2, hidden: 5, outputSize: 1, activation, seed: 3 });
      expect(rnn.config.activation).toBe(activation);
      const data = SequenceDataset.create({
        inputs: randomNormalF32(new Rng(4), 2 * 6 * 2, 1),
        targets: new Float32Array(2 * 6),
        steps: 6,
        inputSize: 2,
        outputSize: 1,
      });
      const { outputs } = await rnn.predict(data);
      await rnn.save(join(dir, 'rnn.blck'));
      const rnn2 = await RNN.load(join(dir, 'rnn.blck'));
      expect(rnn2.config.activation).toBe(activation); // a checkpoint of this release is not upgraded
      expect(Array.from((await rnn2.predict(data)).outputs)).toEqual(Array.from(outputs));
      rnn.dispose();
      rnn2.dispose();
    });
  }

  it("the RNN's default is 'tanh-rational'; a 0.1.x RNN checkpoint's 'tanh' loads as 'tanh-rational'", async () => {
    const rnn = await RNN.create({ inputSize: 1, hidden: 3, outputSize: 1 });
    expect(rnn.config.activation).toBe('tanh-rational');
    rnn.dispose();
    const old = await RNN.load(join(golden, 'rnn-bias.blck'));
    expect(old.config.activation).toBe('tanh-rational');
    old.dispose();
  });

  it("'tanh' and 'tanh-rational' differ (tanh is tanh for every model kind) by a few float32 ulp at most", async () => {
    const x = randomNormalF32(new Rng(8), 64 * 2, 2);
    const data = SequenceDataset.create({ inputs: x, targets: new Float32Array(64), steps: 8, inputSize: 2, outputSize: 1 });
    const [a, b] = await Promise.all(
      (['tanh', 'tanh-rational'] as const).map(async (activation) => {
        const m = await RNN.create({ inputSize: 2, hidden: 9, outputSize: 1, activation, seed: 5 });
        const out = (await m.predict(data)).outputs;
        m.dispose();
        return out;
      }),
    );
    assertClose('tanh vs tanh-rational RNN outputs', a!, Array.from(b!), 1e-5, 1e-5);
  });
});
