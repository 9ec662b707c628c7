/** Number formatting for progress lines and logs (the CLI's and the library's ProgressBar). */

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
