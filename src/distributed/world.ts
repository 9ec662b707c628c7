/**
 * The ranks of an MPI job (MPI_COMM_WORLD) as biaslearn uses them. `initDistributed()` once per
 * process (the CLI calls it when started by mpirun); afterwards every `fit` is data-parallel over
 * the world (src/train/fit.ts), checkpoints and progress come from rank 0, and a process that
 * exits with an error takes the whole job down (MPI_Abort) instead of leaving the others waiting
 * in a collective.
 */
import { writeSync } from 'node:fs';
import { BiasLearnError } from '../errors.js';
import { mpiModule, type MpiModule } from './mpi_module.js';

/** The ranks of MPI_COMM_WORLD: this process's rank, the rank count and the collectives biaslearn uses. */
export class World {
  /** @internal */
  constructor(
    private readonly mod: MpiModule,
    /** The MPI module's file (the model modules find the collective through it). */
    readonly modulePath: string,
    readonly rank: number,
    readonly size: number,
    /** The thread level MPI provides ('serialized' or 'multiple'). */
    readonly threadLevel: string,
  ) {}

  /** The MPI engine: engine name, MPI_Get_library_version's first line, standard version. */
  get library(): { engine: string; library: string; standard: string } {
    return this.mod.library();
  }

  get isRoot(): boolean {
    return this.rank === 0;
  }

  /** Element-wise reduction over every rank (same result on every rank). Collective. */
  allreduce(values: ArrayLike<number>, op: 'sum' | 'min' | 'max' = 'sum'): Float64Array {
    return this.mod.allreduce(Float64Array.from(values), op);
  }

  /** Rank 0 gets every rank's text in rank order; the others get []. Collective. */
  gather(text: string): string[] {
    return this.mod.gatherStrings(text);
  }

  /** Root's text on every rank. Collective. */
  broadcast(text: string, root = 0): string {
    return this.mod.broadcastString(text, root);
  }

  /** Waits until every rank got here (MPI_Barrier). Collective. */
  barrier(): void {
    this.mod.barrier();
  }

  /**
   * Refuses to go on unless every rank passes the same `value` (JSON): seeds, configurations, data
   * sizes. E_DISTRIBUTED on every rank (they all take part), naming the first rank that differs.
   */
  agree(what: string, value: unknown): void {
    const text = JSON.stringify(value) ?? 'undefined';
    const mine = fingerprint(text);
    const lo = this.allreduce(mine, 'min');
    const hi = this.allreduce(mine, 'max');
    if (lo.every((v, i) => v === hi[i])) return;
    const all = this.gather(text);
    const other = Number(this.broadcast(this.isRoot ? String(all.findIndex((t) => t !== all[0])) : ''));
    const rootText = this.broadcast(text);
    const otherText = this.broadcast(this.rank === other ? text : '', other);
    const where = firstDifference(JSON.parse(rootText), JSON.parse(otherText), '') ?? { path: '', a: '?', b: '?' };
    throw new BiasLearnError(
      'E_DISTRIBUTED',
      `the ranks disagree on ${what}: ${where.path || 'the value'} is ${where.a} on rank 0 and ${where.b} on rank ${other}; ` +
        'every rank must start with the same seeds, configuration and data',
    );
  }

  /** The model modules' gradient and logit allreduces so far: calls, bytes sent per rank, seconds in MPI. */
  commStats(reset = false): { calls: number; bytes: number; seconds: number } {
    return this.mod.commStats(reset);
  }

  /** Ends the whole job now (MPI_Abort). */
  abort(code = 1): void {
    this.mod.abort(code);
  }
}

/** The first path (a.b[2].c) where two JSON values differ, with both sides (clipped). */
function firstDifference(a: unknown, b: unknown, path: string): { path: string; a: string; b: string } | undefined {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const sub = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], sub);
      if (d) return d;
    }
    return undefined;
  }
  const ta = JSON.stringify(a) ?? 'undefined';
  const tb = JSON.stringify(b) ?? 'undefined';
  return ta === tb ? undefined : { path, a: clip(ta), b: clip(tb) };
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/** Two 32-bit FNV-1a hashes (different offsets) of `text`, exact in a double. */
function fingerprint(text: string): number[] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 2) >>> 0;
  }
  return [a, b, text.length];
}

let world: World | undefined;
/** How long a failing rank waits for its error output to reach the launcher before MPI_Abort. */
const ABORT_GRACE_MS = 300;

/**
 * Starts MPI (MPI_Init_thread, MPI_THREAD_SERIALIZED) and returns the world; later calls return
 * the same world. E_MPI_UNAVAILABLE where the MPI module is not built. Installs the exit hook: a
 * clean exit finalizes MPI, an exit with an error (uncaught exception, non-zero exit code) calls
 * MPI_Abort so the other ranks stop too.
 */
export function initDistributed(): World {
  if (world) return world;
  const { mod, path } = mpiModule();
  const w = mod.init();
  world = new World(mod, path, w.rank, w.size, w.threadLevel);
  if (w.size > 1) {
    // Print a failing rank's error ourselves, before MPI_Abort can cut its output off.
    const fatal = (err: unknown): void => {
      const text =
        err instanceof BiasLearnError
          ? `error [${err.code}]: ${err.message}`
          : `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      writeSync(2, `[rank ${w.rank}] ${text}\n`);
      process.exit(1);
    };
    process.on('uncaughtException', fatal);
    process.on('unhandledRejection', fatal);
  }
  process.on('exit', (code) => {
    const failed = code !== 0 || (process.exitCode !== undefined && process.exitCode !== 0);
    if (failed && (world?.size ?? 1) > 1) {
      // Let the launcher forward this rank's error message before MPI_Abort kills the job.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ABORT_GRACE_MS);
      mod.abort(typeof code === 'number' && code !== 0 ? code : 1);
    } else mod.finalize();
  });
  return world;
}

/** The world `initDistributed()` started, if any. */
export function currentWorld(): World | undefined {
  return world;
}

/** True unless this process is a rank other than 0 of a started world (what writes files and prints). */
export function isRootRank(): boolean {
  return world === undefined || world.rank === 0;
}
