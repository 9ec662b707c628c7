/**
 * The ranks of an MPI job (MPI_COMM_WORLD) as biaslearn uses them. `initDistributed()` once per
 * process (the CLI calls it when started by mpirun); afterwards every `fit` is data-parallel over
 * the world (src/train/fit.ts), checkpoints and progress come from rank 0, and a process that
 * exits with an error takes the whole job down (MPI_Abort) instead of leaving the others waiting
 * in a collective.
 */
import { BiasLearnError } from '../errors.js';
import { mpiModule, type MpiModule } from './mpi_module.js';

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
    const first = this.broadcast(this.isRoot ? String(all.findIndex((t) => t !== all[0])) : '');
    const rootText = this.broadcast(text);
    throw new BiasLearnError(
      'E_DISTRIBUTED',
      `the ranks disagree on ${what}: rank 0 has ${clip(rootText)}, rank ${first} has another value` +
        (this.rank !== 0 && text !== rootText ? ` (this rank ${this.rank}: ${clip(text)})` : '') +
        '; every rank must start with the same seeds, configuration and data',
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
  process.on('exit', (code) => {
    const failed = code !== 0 || (process.exitCode !== undefined && process.exitCode !== 0);
    if (failed && (world?.size ?? 1) > 1) mod.abort(typeof code === 'number' && code !== 0 ? code : 1);
    else mod.finalize();
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
