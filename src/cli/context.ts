/** Things every subcommand shares: the streams, and environment facts for reports. */
import { cpus, platform, arch } from 'node:os';
import { relative } from 'node:path';
import { libraryVersion } from '../util/package_root.js';
import { runtimeInfo } from '../runtime.js';
import type { CliIO } from './io.js';

export interface CliContext {
  io: CliIO;
}

/** A path for messages: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !rel.startsWith('/') ? rel : p;
}

/** Runtime facts recorded in metrics.json and sweep.json. */
export function environmentInfo(): Record<string, unknown> {
  const cpuList = cpus();
  return {
    biaslearn: libraryVersion(),
    node: process.version,
    platform: platform(),
    arch: arch(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cpuCount: cpuList.length,
    ...runtimeInfo(),
  };
}

/** Seconds since `t0`, a performance.now() reading. */
export function elapsedSeconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}
