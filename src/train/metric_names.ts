/**
 * Metric names, the same in History, evaluate() and the CLI (Keras 2's): `loss`, `accuracy`,
 * `val_loss`, `val_accuracy`. The names of earlier releases, `acc` and `val_acc`, stay readable
 * as aliases: `logs.acc`, `history.history.acc`, `history.last('val_acc')` and a callback's
 * `monitor: 'val_acc'` all reach the `accuracy` values. Aliases are non-enumerable, so they appear
 * in no JSON, CSV or `Object.keys` output.
 */

/** Old metric name -> current name. */
export const METRIC_ALIASES: Readonly<Record<string, string>> = Object.freeze({ acc: 'accuracy', val_acc: 'val_accuracy' });

/** The current name of a metric (`val_acc` -> `val_accuracy`); other names unchanged. */
export function canonicalMetric(name: string): string {
  return METRIC_ALIASES[name] ?? name;
}

/**
 * Defines the old names on `record` as non-enumerable accessors of the current ones (for the
 * names present, or all when `always`). Returns `record`.
 */
export function withMetricAliases<T extends object>(record: T, always = false): T {
  for (const [old, current] of Object.entries(METRIC_ALIASES)) {
    if (Object.hasOwn(record, old)) continue;
    if (!always && !(current in record)) continue;
    Object.defineProperty(record, old, {
      enumerable: false,
      configurable: true,
      get: () => (record as Record<string, unknown>)[current],
      set: (v: unknown) => {
        (record as Record<string, unknown>)[current] = v;
      },
    });
  }
  return record;
}
