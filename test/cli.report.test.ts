/**
 * Reports: log-scale loss plots past two decades, the target drawn on top in trajectory plots,
 * heatmap bands that fill the canvas, and `biaslearn report <dir>`: one offline HTML page (no
 * http(s) script or stylesheet) that headless Chromium renders with every chart and no error.
 * The Chromium check skips with a reason when Debian's `chromium` is not installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lossCurvePlot, logScaleFits } from '../src/plot/loss.js';
import { renderVegaLiteSvg } from '../src/plot/render.js';
import { trajectoryPlot } from '../src/rnn/plots.js';
import { runCliCaptured } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function chromium(): string | undefined {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
      return bin;
    } catch {
      // try the next name
    }
  }
  return undefined;
}
const browser = chromium();
if (!browser) console.log('[cli.report] headless check skipped: no chromium (apt-get install chromium)');

describe('plots', () => {
  it('loss plots switch to a log scale past two decades', () => {
    expect(logScaleFits([1, 0.5, 0.011])).toBe(false);
    expect(logScaleFits([1, 0.5, 0.009])).toBe(true);
    expect(logScaleFits([1, 0, 1e-5])).toBe(false);
    const spec = JSON.stringify(lossCurvePlot({ epoch: [0, 1, 2], history: { loss: [10, 1, 0.01] } }));
    expect(spec).toContain('"type":"log"');
    expect(JSON.stringify(lossCurvePlot({ epoch: [0, 1], history: { loss: [1, 0.5] } }))).not.toContain('"type":"log"');
  });

  it('trajectory plots draw the target last, dashed and wider; the spec renders', async () => {
    const spec = trajectoryPlot(
      [
        { label: 'target', values: Float32Array.from({ length: 20 }, (_, t) => Math.sin(t)) },
        { label: 'network', values: Float32Array.from({ length: 20 }, (_, t) => Math.sin(t)) },
      ],
      { outputNames: ['y'], steps: 20 },
    );
    // One output: the panel itself is the spec (several outputs: one panel each, concatenated).
    const layers = (spec as unknown as { layer: Record<string, unknown>[] }).layer;
    const last = layers[layers.length - 1]!;
    expect(JSON.stringify(last.transform)).toContain('target');
    expect(last.mark).toMatchObject({ strokeDash: [6, 4], strokeWidth: 3 });
    expect(await renderVegaLiteSvg(spec)).toContain('<svg');
  });
});

describe('biaslearn report', () => {
  const run = runCliCaptured;

  it('writes one offline page comparing the runs; headless Chromium renders every chart without errors', async () => {
    const runs = join(work, 'runs');
    for (const seed of ['1', '2']) {
      const r = await run(
        'train',
        '--samples',
        '200',
        '--hidden',
        '16',
        '--epochs',
        '3',
        '--seed',
        seed,
        '--quiet',
        '--out',
        join(runs, `train-${seed}`),
      );
      expect(r.code, r.stderr).toBe(0);
    }
    mkdirSync(join(runs, 'sweep'));
    writeFileSync(
      join(runs, 'sweep', 'sweep.json'),
      JSON.stringify({
        command: 'sweep',
        rows: [16, 64].flatMap((width) =>
          [0, 1].map((seed) => ({ width, train: 'bias', seed, testAccuracy: 0.5 + width / 200 + seed / 100 })),
        ),
      }),
    );
    mkdirSync(join(runs, 'mt'));
    writeFileSync(
      join(runs, 'mt', 'metrics.json'),
      JSON.stringify({
        command: 'multitask',
        history: { epoch: [0], history: { loss: [0.5] }, perTask: { a: { val_accuracy: [0.8] }, b: { val_accuracy: [0.6] } } },
      }),
    );
    const r = await run('report', runs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/report of 4 runs \(3 interactive charts\)/);
    const file = join(runs, 'report.html');
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="?https?:/);
    expect(html).toContain('train-1');
    if (!browser) return;
    const dom = execFileSync(
      browser,
      ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=10000', '--dump-dom', `file://${file}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
    );
    const status = JSON.parse(/<pre id="report-status">([^<]*)<\/pre>/.exec(dom)![1]!.replace(/&quot;/g, '"'));
    expect(status).toEqual({ charts: 3, rendered: 3, errors: [] });
    for (let i = 0; i < 3; i++) expect(dom, `chart ${i}`).toMatch(new RegExp(`id="chart-${i}"[^>]*>\\s*<svg[^>]*class="marks"`));
  }, 120_000);

  it('an empty folder is a usage error', async () => {
    mkdirSync(join(work, 'empty'));
    const r = await run('report', join(work, 'empty'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no runs/);
  });
});
