// The machine a benchmark ran on, as every result JSON records it.
import os from 'node:os';

/** CPU count and model, memory, Node version and the load average at the time of the call. */
export function machineInfo() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    totalMemGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    loadavg: os.loadavg(),
  };
}
