/**
 * One self-contained HTML page comparing the runs of a folder (`biaslearn report <dir>`): loss
 * curves of every run (log scale when they span more than two decades), test accuracy against
 * width for sweeps, per-task accuracies of multi-task runs, and each run's own SVG figures
 * (RNN trajectories, spectra). Charts are interactive (vega-embed); vega, vega-lite and
 * vega-embed are inlined from node_modules, so the page works offline (no CDN). The page
 * records what it rendered in `<pre id="report-status">` ({ charts, rendered, errors }) for tests.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { FileFormatError } from '../errors.js';
import { accuracyVsWidthPlot, type WidthAccuracyRow } from '../plot/accuracy.js';
import { VEGA_LITE_SCHEMA } from '../plot/line.js';
import { logScaleFits } from '../plot/loss.js';
import type { VegaLiteSpec } from '../plot/render.js';

/** A run folder found under the report's root. */
export interface FoundRun {
  /** Path relative to the root ('.' for the root itself). */
  name: string;
  dir: string;
  /** metrics.json (train, rnn, multitask) or sweep.json, parsed. */
  metrics: Record<string, unknown>;
  /** The folder's SVG figures (file names). */
  figures: string[];
}

/** Every folder under `root` (depth <= 3) holding a metrics.json or sweep.json. */
export function findRuns(root: string): FoundRun[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new FileFormatError('E_IO', root, 'no such runs folder');
  const runs: FoundRun[] = [];
  const visit = (dir: string, depth: number): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    for (const file of ['metrics.json', 'sweep.json']) {
      if (!entries.some((e) => e.isFile() && e.name === file)) continue;
      let metrics: Record<string, unknown>;
      try {
        metrics = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new FileFormatError('E_FORMAT', join(dir, file), `not valid JSON: ${(err as Error).message}`);
      }
      const figures = entries
        .filter((e) => e.isFile() && e.name.endsWith('.svg'))
        .map((e) => e.name)
        .sort();
      runs.push({ name: relative(root, dir) || '.', dir, metrics, figures });
    }
    if (depth < 3) for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) visit(join(dir, e.name), depth + 1);
  };
  visit(root, 0);
  return runs.sort((a, b) => a.name.localeCompare(b.name));
}

type RunHistory = { epoch?: number[]; history?: Record<string, number[]>; perTask?: Record<string, Record<string, number[]>> };

function lossComparison(runs: FoundRun[]): VegaLiteSpec | undefined {
  const rows: { run: string; epoch: number; split: string; loss: number }[] = [];
  for (const r of runs) {
    const h = r.metrics.history as RunHistory | undefined;
    for (const [key, split] of [
      ['loss', 'train'],
      ['val_loss', 'validation'],
    ] as const) {
      (h?.history?.[key] ?? []).forEach((v, i) => {
        if (Number.isFinite(v)) rows.push({ run: r.name, epoch: (h?.epoch?.[i] ?? i) + 1, split, loss: v });
      });
    }
  }
  if (!rows.length) return undefined;
  const log = logScaleFits(rows.map((r) => r.loss));
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: `Loss per epoch${log ? ' (log scale)' : ''}`,
    data: { values: rows },
    width: 640,
    height: 320,
    mark: { type: 'line', point: rows.length < 400, tooltip: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { format: 'd' } },
      y: { field: 'loss', type: 'quantitative', scale: { type: log ? 'log' : 'linear', zero: false } },
      color: { field: 'run', type: 'nominal' },
      strokeDash: { field: 'split', type: 'nominal' },
    },
  } as VegaLiteSpec;
}

function sweepCharts(runs: FoundRun[]): VegaLiteSpec[] {
  return runs
    .filter((r) => Array.isArray(r.metrics.rows))
    .map((r) => accuracyVsWidthPlot(r.metrics.rows as WidthAccuracyRow[], { title: `Test accuracy vs width (${r.name})` }));
}

function perTaskChart(runs: FoundRun[]): VegaLiteSpec | undefined {
  const rows: { run: string; task: string; accuracy: number }[] = [];
  for (const r of runs) {
    const perTask = (r.metrics.history as RunHistory | undefined)?.perTask;
    for (const [task, h] of Object.entries(perTask ?? {})) {
      const v = h.val_accuracy ?? h.val_acc ?? h.accuracy ?? h.acc ?? [];
      const last = [...v].reverse().find(Number.isFinite);
      if (last !== undefined) rows.push({ run: r.name, task, accuracy: last });
    }
  }
  if (!rows.length) return undefined;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: 'Per-task accuracy (last epoch; validation when recorded)',
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      column: { field: 'task', type: 'nominal' },
      x: { field: 'run', type: 'nominal', axis: null },
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] } },
      color: { field: 'run', type: 'nominal' },
    },
  } as VegaLiteSpec;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** The inlined scripts: vega, vega-lite and vega-embed UMD builds from node_modules. */
function libraries(): string {
  const require = createRequire(import.meta.url);
  // The package folder from its main entry (vega's exports hide package.json): the nearest folder named `pkg`.
  const file = (pkg: string, build: string): string => {
    let dir = dirname(require.resolve(pkg));
    while (basename(dir) !== pkg && dirname(dir) !== dir) dir = dirname(dir);
    return join(dir, 'build', build);
  };
  return [file('vega', 'vega.min.js'), file('vega-lite', 'vega-lite.min.js'), file('vega-embed', 'vega-embed.min.js')]
    .map((p) => `<script>${readFileSync(p, 'utf8').replace(/<\/script/gi, '<\\/script')}</script>`)
    .join('\n');
}

/** The report page of the runs under `root` (see the module comment). */
export function buildReport(root: string, runs: FoundRun[] = findRuns(root)): { html: string; charts: number; runs: number } {
  const specs = [lossComparison(runs), ...sweepCharts(runs), perTaskChart(runs)].filter(
    (s): s is VegaLiteSpec => s !== undefined,
  );
  const table = runs
    .map((r) => {
      const m = r.metrics;
      const acc = typeof m.testAccuracy === 'number' ? m.testAccuracy.toFixed(4) : '';
      return `<tr><td>${escapeHtml(r.name)}</td><td>${escapeHtml(String(m.command ?? ''))}</td><td>${acc}</td><td>${m.interrupted ? 'interrupted' : ''}</td></tr>`;
    })
    .join('\n');
  const figures = runs
    .flatMap((r) =>
      r.figures.map(
        (f) =>
          `<figure><figcaption>${escapeHtml(r.name)}/${escapeHtml(f)}</figcaption>${readFileSync(join(r.dir, f), 'utf8').replace(/<\?xml[^>]*>/, '')}</figure>`,
      ),
    )
    .join('\n');
  const script = `
const status = { charts: ${specs.length}, rendered: 0, errors: [] };
window.addEventListener('error', (e) => status.errors.push(String(e.message)));
const origError = console.error;
console.error = (...a) => { status.errors.push(a.map(String).join(' ')); origError(...a); };
const specs = ${JSON.stringify(specs).replace(/</g, '\\u003c')};
Promise.all(specs.map((s, i) => vegaEmbed('#chart-' + i, s, { actions: false, renderer: 'svg' }).then(() => { status.rendered++; }).catch((e) => status.errors.push(String(e)))))
  .then(() => { document.getElementById('report-status').textContent = JSON.stringify(status); });`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>biaslearn report: ${escapeHtml(basename(root))}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}figure{display:inline-block;margin:1em}figure svg{max-width:100%;height:auto}</style>
${libraries()}
</head><body>
<h1>biaslearn report</h1>
<p>${runs.length} run${runs.length === 1 ? '' : 's'} under ${escapeHtml(root)}</p>
<table><tr><th>run</th><th>command</th><th>test accuracy</th><th></th></tr>
${table}
</table>
${specs.map((_, i) => `<div class="chart" id="chart-${i}"></div>`).join('\n')}
<h2>Figures of the runs</h2>
${figures}
<pre id="report-status">pending</pre>
<script>${script}</script>
</body></html>
`;
  return { html, charts: specs.length, runs: runs.length };
}
