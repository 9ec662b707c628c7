// Event-loop lag while an async call runs: a 10 ms timer records how late each tick fires.
// Returns the call's result, its wall time and the lag distribution (ms).

/** Awaits `run()` under a 10 ms timer; lag = delay of each tick beyond its 10 ms. */
export async function withLagMonitor(run) {
  const lags = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(now - last - 10);
    last = now;
  }, 10);
  const t0 = performance.now();
  let result;
  try {
    result = await run();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - t0) / 1000;
  lags.sort((x, y) => x - y);
  return {
    result,
    seconds,
    ticks: lags.length,
    maxLagMs: lags[lags.length - 1] ?? 0,
    p99LagMs: lags[Math.floor(lags.length * 0.99)] ?? 0,
    medianLagMs: lags[Math.floor(lags.length / 2)] ?? 0,
  };
}
