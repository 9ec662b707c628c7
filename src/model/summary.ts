/**
 * `summary()` and `toString()` of every model kind (Keras's model.summary): one row per tensor
 * (name, shape, learned or frozen, values), the totals of learned and frozen values, the seed
 * the frozen weights come from, and the backend.
 */
import { expectFunction } from '../util/validate.js';

/** One tensor of a model as a summary lists it; shape is [rows, cols] ([n] for vectors). */
export interface SummaryTensor {
  name: string;
  shape: number[];
  learned: boolean;
  /** e.g. the layer's activation, "per task". */
  note?: string;
}

/** What a summary shows about a model. */
export interface SummaryParts {
  /** e.g. "MLP 784-4096-10". */
  title: string;
  tensors: SummaryTensor[];
  seed: number;
  backend: string;
  /** Extra "key: value" lines (loss, optimizer, training rule...). */
  details?: [string, string][];
}

/** Counts of a model's values: learned (trained by fit) and frozen (regenerated from the seed). */
export interface ValueCounts {
  learned: number;
  frozen: number;
}

/** Learned and frozen value counts of a tensor list. */
export function countValues(tensors: readonly SummaryTensor[]): ValueCounts {
  let learned = 0;
  let frozen = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.learned) learned += n;
    else frozen += n;
  }
  return { learned, frozen };
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

/** The multi-line summary table of a model. */
export function formatSummary(p: SummaryParts): string {
  const head = ['Tensor', 'Shape', 'Values', 'Kind', 'Note'];
  const rows = p.tensors.map((t) => [
    t.name,
    `[${t.shape.join(', ')}]`,
    t.shape.reduce((a, b) => a * b, 1).toLocaleString('en-US'),
    t.learned ? 'learned' : 'frozen',
    t.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => pad(c, widths[i]!, i === 2))
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const { learned, frozen } = countValues(p.tensors);
  const out = [
    p.title,
    rule,
    line(head),
    rule,
    ...rows.map(line),
    rule,
    `Learned values: ${learned.toLocaleString('en-US')}`,
    `Frozen values: ${frozen.toLocaleString('en-US')} (regenerated from the seed, never stored)`,
    `Seed: ${p.seed}`,
    `Backend: ${p.backend}`,
    ...(p.details ?? []).map(([k, v]) => `${k}: ${v}`),
  ];
  return out.join('\n');
}

/** Writes `text` line by line through `printFn` when given; returns `text` (summary()'s contract). */
export function printSummary(text: string, printFn?: (line: string) => void): string {
  if (printFn !== undefined) expectFunction('printFn', printFn);
  if (printFn) for (const l of text.split('\n')) printFn(l);
  return text;
}
