/** Training curves from a fit History: loss (and accuracy, for classifiers) per epoch, train vs validation. */
import { concatPlots, linePanel, type PlotRow, type VegaLitePanel } from './line.js';
import type { VegaLiteSpec } from './render.js';

/** What `History.toJSON()` returns (a History itself is accepted too). */
export interface HistoryLike {
  epoch: number[];
  history: Record<string, number[]>;
}

function curveRows(h: HistoryLike, trainKey: string, valKey: string): PlotRow[] {
  const rows: PlotRow[] = [];
  const add = (key: string, split: string): void => {
    const values = h.history[key];
    if (!values) return;
    values.forEach((value, i) => {
      if (Number.isFinite(value)) rows.push({ epoch: (h.epoch[i] ?? i) + 1, split, value });
    });
  };
  add(trainKey, 'train');
  add(valKey, 'validation');
  return rows;
}

/** Loss values spanning more than two decades (all positive) are plotted on a log scale. */
export function logScaleFits(values: number[]): boolean {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2 || finite.some((v) => v <= 0)) return false;
  return Math.max(...finite) / Math.min(...finite) > 100;
}

/**
 * Loss per epoch (log scale when it spans more than two decades) (train and, when recorded, validation); a second panel with accuracy when the
 * history has `accuracy` (or, from earlier releases, `acc`). Epochs are numbered from 1.
 */
export function lossCurvePlot(history: HistoryLike, opts: { title?: string } = {}): VegaLiteSpec {
  const h: HistoryLike = { epoch: history.epoch, history: history.history };
  // Integer ticks via format 'd' (Vega-Lite then sets tickMinStep 1; explicit tick values would be
  // filtered by it).
  const x = { field: 'epoch', title: 'epoch', format: 'd' };
  const series = { field: 'split', title: 'data', order: ['train', 'validation'] };
  const lossRows = curveRows(h, 'loss', 'val_loss');
  const scale = logScaleFits(lossRows.map((r) => r.value as number)) ? 'log' : 'linear';
  const y = { field: 'value', title: scale === 'log' ? 'loss (log scale)' : 'loss', scale } as const;
  const panels: VegaLitePanel[] = [linePanel({ data: lossRows, x, y, series, title: 'Loss' })];
  // Histories of earlier releases (JSON files) hold acc / val_acc; current ones accuracy / val_accuracy.
  const [acc, valAcc] = h.history.accuracy || h.history.val_accuracy ? ['accuracy', 'val_accuracy'] : ['acc', 'val_acc'];
  if (h.history[acc] || h.history[valAcc]) {
    panels.push(
      linePanel({ data: curveRows(h, acc, valAcc), x, y: { field: 'value', title: 'accuracy' }, series, title: 'Accuracy' }),
    );
  }
  return concatPlots(panels, opts.title ? { title: opts.title } : {});
}
