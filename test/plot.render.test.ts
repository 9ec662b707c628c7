import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  accuracyVsWidthPlot,
  linePlot,
  lossCurvePlot,
  renderVegaLiteSvg,
  summarizeByWidth,
  writeSvg,
} from '../src/plot/index.js';

const dir = mkdtempSync(join(tmpdir(), 'biaslearn-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = [16, 64, 256].flatMap((width, wi) =>
  ['bias', 'readout', 'full'].flatMap((train, ti) =>
    [0, 1, 2].map((seed) => ({ width, train, seed, testAccuracy: 0.5 + 0.1 * wi + 0.05 * ti + 0.01 * seed })),
  ),
);

function countTag(svg: string, tag: string): number {
  return (svg.match(new RegExp(`<${tag}[\\s>]`, 'g')) ?? []).length;
}

describe('summarizeByWidth', () => {
  it('gives mean and sample standard deviation per (train, width), bias first', () => {
    const s = summarizeByWidth(rows);
    expect(s).toHaveLength(9);
    expect(s[0]).toMatchObject({ train: 'bias', width: 16, seeds: 3 });
    expect(s[0]!.mean).toBeCloseTo(0.51, 10);
    expect(s[0]!.std).toBeCloseTo(0.01, 10);
    expect(s.map((r) => r.train).slice(0, 3)).toEqual(['bias', 'bias', 'bias']);
    expect(summarizeByWidth([{ width: 8, train: 'x', seed: 0, testAccuracy: 0.7 }])[0]!.std).toBe(0);
  });
});

describe('accuracyVsWidthPlot', () => {
  it('is a log-x Vega-Lite spec with a band and a line per trainable set', () => {
    // biome-ignore lint/suspicious/noExplicitAny: a Vega-Lite spec, walked by key in the assertions
    const spec = accuracyVsWidthPlot(rows) as unknown as Record<string, any>;
    expect(spec.$schema).toMatch(/vega-lite/);
    expect(spec.encoding.x.scale.type).toBe('log');

    // biome-ignore lint/suspicious/noExplicitAny: as above
    expect(spec.layer.map((l: any) => l.mark.type)).toEqual(['area', 'line']);
    expect(spec.layer[1].encoding.color.scale.domain).toEqual(['bias', 'readout', 'full']);
    expect(spec.data.values).toHaveLength(9);
  });

  it('renders to SVG with one path per line and band', async () => {
    const svg = await renderVegaLiteSvg(accuracyVsWidthPlot(rows));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('</svg>');
    // 3 lines + 3 bands, plus axis/legend paths.
    expect(countTag(svg, 'path')).toBeGreaterThanOrEqual(6);
    expect(svg).toContain('hidden width');
    expect(svg).toContain('test accuracy');
    for (const t of ['bias', 'readout', 'full']) expect(svg).toContain(`>${t}<`);
    // Log axis ticks at the widths.
    for (const w of ['16', '64', '256']) expect(svg).toContain(`>${w}<`);
  });

  it('renders a single seed and a single width', async () => {
    const svg = await renderVegaLiteSvg(accuracyVsWidthPlot([{ width: 32, train: 'bias', seed: 0, testAccuracy: 0.8 }]));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toContain('NaN');
  });
});

describe('lossCurvePlot and linePlot', () => {
  it('renders loss and accuracy panels from a history', async () => {
    const history = {
      epoch: [0, 1, 2],
      history: { loss: [1, 0.6, 0.4], acc: [0.5, 0.7, 0.8], val_loss: [0.9, 0.7, 0.6], val_acc: [0.55, 0.65, 0.7] },
    };
    const svg = await renderVegaLiteSvg(lossCurvePlot(history));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Loss');
    expect(svg).toContain('Accuracy');
    expect(svg).toContain('validation');
    expect(svg).not.toContain('NaN');
  });

  it('renders a regression history (loss only) and a generic line plot', async () => {
    const svg = await renderVegaLiteSvg(lossCurvePlot({ epoch: [0], history: { loss: [0.3] } }));
    expect(svg.startsWith('<svg')).toBe(true);
    const spec = linePlot({
      data: [1, 2, 3, 4].map((t) => ({ t, v: t * t, task: t % 2 ? 'a' : 'b' })),
      x: { field: 't' },
      y: { field: 'v', scale: 'log' },
      series: { field: 'task' },
    });
    const svg2 = await renderVegaLiteSvg(spec);
    expect(countTag(svg2, 'path')).toBeGreaterThan(0);
  });
});

describe('writeSvg', () => {
  it('writes atomically and leaves no temp file; bad directory is E_IO', async () => {
    const path = join(dir, 'a.svg');
    await writeSvg(path, '<svg/>');
    expect(readFileSync(path, 'utf8')).toBe('<svg/>');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expect(writeSvg(join(dir, 'missing', 'b.svg'), '<svg/>')).rejects.toMatchObject({ code: 'E_IO' });
  });
});
