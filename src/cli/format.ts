/** Number and table formatting for terminal output. */

export { fixed, rate, seconds, lr } from '../util/format.js';

/** Left-aligned text columns, right-aligned when every cell of a column looks numeric. */
export function table(header: string[], rows: string[][]): string {
  const cols = header.length;
  const width = Array.from({ length: cols }, (_, c) => Math.max(header[c]!.length, ...rows.map((r) => (r[c] ?? '').length)));
  const numeric = Array.from({ length: cols }, (_, c) => rows.length > 0 && rows.every((r) => /^[-+\d.,±e ]*$/.test(r[c] ?? '')));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (numeric[c] ? cell.padStart(width[c]!) : cell.padEnd(width[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A filesystem-safe local timestamp, e.g. "2025-11-22T09-40-06". */
export function timestamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}
