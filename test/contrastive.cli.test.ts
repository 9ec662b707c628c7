/**
 * `biaslearn contrastive`: --help documents every flag; a short run on the embedded spirals task
 * writes the checkpoint (loadable, seed + learned values), metrics.json and the figures; a zero
 * beta is a typed runtime error (exit 1); an unknown rule is a usage error (exit 2).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnergyNetwork } from '../src/contrastive/energy_network.js';
import { runCliCaptured } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bl-contrastive-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('biaslearn contrastive', () => {
  it('--help lists every flag with a description', async () => {
    const r = await runCliCaptured('contrastive', '--help');
    expect(r.code).toBe(0);
    for (const flag of [
      '--hidden',
      '--train',
      '--activation',
      '--output-activation',
      '--hidden-scale',
      '--readout-scale',
      '--seed',
      '--rule',
      '--beta',
      '--step-size',
      '--free-steps',
      '--nudged-steps',
      '--periods',
      '--pi',
      '--phases',
      '--phase-min',
      '--phase-max',
      '--trace-tau',
      '--tolerance',
      '--persistent',
      '--no-step-updates',
      '--clip',
      '--data',
      '--epochs',
      '--batch-size',
      '--lr',
      '--optimizer',
      '--threads',
      '--backend',
      '--no-beta-plot',
      '--quiet',
      '--out',
    ])
      expect(r.stdout, flag).toMatch(new RegExp(`${flag}[ ,<].*\\S`));
  });

  it('a short random-phase run writes model, metrics and figures; the checkpoint loads', async () => {
    const out = join(dir, 'run');
    const r = await runCliCaptured(
      'contrastive',
      '--hidden',
      '31',
      '--rule',
      'random-phase',
      '--optimizer',
      'sgd',
      '--epochs',
      '1',
      '--seed',
      '3',
      '--quiet',
      '--out',
      out,
      '--samples',
      '600',
    );
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['model.blck', 'metrics.json', 'loss.svg', 'error_vs_beta.svg', 'random_phase_timeline.svg'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.model.relaxation.rule).toBe('random-phase');
    expect(m.testAccuracy).toBeGreaterThan(0.3);
    expect(m.errorVsBeta.length).toBeGreaterThan(0);
    const model = await EnergyNetwork.load(join(out, 'model.blck'));
    expect(model.config.seed).toBe(3);
    model.dispose();
  });

  it('beta 0 is a typed error (exit 1); an unknown rule is a usage error (exit 2)', async () => {
    const zero = await runCliCaptured(
      'contrastive',
      '--beta',
      '0',
      '--hidden',
      '7',
      '--quiet',
      '--out',
      join(dir, 'z'),
      '--samples',
      '90',
    );
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('E_INVALID_ARG');
    const bad = await runCliCaptured('contrastive', '--rule', 'backprop');
    expect(bad.code).toBe(2);
  });
});
