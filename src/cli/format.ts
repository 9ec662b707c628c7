/** Number and table formatting for terminal output. */

export function fixed(v: number | undefined, digits = 4): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** 12345 -> "12.3k", 2.5e6 -> "2.50M". */
export function rate(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)}k`;
  return v.toFixed(0);
}

/** Seconds as "0.42s", "12.3s", "2m05s". */
export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 10) return `${s.toFixed(2)}s`;
  if (s < 120) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

/** Short learning rate: 0.01 -> "1e-2", 0.003 -> "3e-3", 0.5 -> "0.5". */
export function lr(v: number): string {
  if (v >= 0.1) return String(Number(v.toPrecision(3)));
  const [m, e] = v.toExponential(2).split('e') as [string, string];
  return `${Number(m)}e${Number(e)}`;
}

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
