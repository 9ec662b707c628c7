/** What `fit` returns (Keras-style): one array per metric, one entry per completed epoch. */
export class History {
  readonly epoch: number[] = [];
  readonly history: Record<string, number[]> = {};

  record(epoch: number, logs: Record<string, number>): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }

  /** The last value of a metric, if recorded. */
  last(metric: string): number | undefined {
    const arr = this.history[metric];
    return arr && arr.length ? arr[arr.length - 1] : undefined;
  }

  toJSON(): { epoch: number[]; history: Record<string, number[]> } {
    return { epoch: this.epoch, history: this.history };
  }
}
