/**
 * The MPI module, build/Release/biaslearn_mpi.node (native/mpi/): built by `npm install` where an
 * MPI implementation is installed, absent elsewhere. Loaded lazily; nothing else in the package
 * needs it, so the package loads and trains in one process without MPI.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BiasLearnError } from '../errors.js';
import { packageRoot } from '../util/package_root.js';

/** What biaslearn_mpi.node exports (native/mpi/mpi_module.cpp). */
export interface MpiModule {
  init(): { rank: number; size: number; threadLevel: string };
  library(): { engine: string; library: string; standard: string };
  allreduce(values: Float64Array, op?: 'sum' | 'min' | 'max'): Float64Array;
  gatherStrings(text: string): string[];
  broadcastString(text: string, root: number): string;
  barrier(): void;
  abort(code: number): void;
  finalize(): void;
  commStats(reset?: boolean): { calls: number; bytes: number; seconds: number };
}

const FILE = 'biaslearn_mpi.node';
/** The apt-get line of the README (Debian/Ubuntu). */
export const MPI_INSTALL_HINT =
  'apt-get install libopenmpi-dev openmpi-bin (or libmpich-dev mpich), then node node_modules/biaslearn/scripts/build-mpi.mjs (`npm run build:mpi` in a clone)';

let loaded: { mod: MpiModule; path: string } | undefined;

function candidates(): string[] {
  const root = packageRoot();
  const fromEnv = process.env.BIASLEARN_BUILD_DIR;
  return [...(fromEnv ? [join(fromEnv, FILE)] : []), join(root, 'build', 'Release', FILE), join(root, 'build', 'Debug', FILE)];
}

/** The loaded MPI module and its path; E_MPI_UNAVAILABLE saying why when it is not built or does not load. */
export function mpiModule(): { mod: MpiModule; path: string } {
  loaded ??= loadMpiModule(candidates());
  return loaded;
}

/** The first of `paths` that exists, loaded; E_MPI_UNAVAILABLE saying why not. */
export function loadMpiModule(paths: string[]): { mod: MpiModule; path: string } {
  const path = paths.find((p) => existsSync(p));
  if (!path)
    throw new BiasLearnError(
      'E_MPI_UNAVAILABLE',
      `distributed training needs the MPI module, which is not built (no MPI was found when biaslearn was built; looked for ${paths.join(', ')}): ${MPI_INSTALL_HINT}`,
    );
  try {
    return { mod: createRequire(import.meta.url)(path) as MpiModule, path };
  } catch (err) {
    throw new BiasLearnError(
      'E_MPI_UNAVAILABLE',
      `the MPI module ${path} failed to load (is the MPI library it was built with still installed?): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** The MPI engine for `biaslearn info`, or why there is none (never throws). */
export function mpiInfo():
  | { available: true; engine: string; library: string; standard: string }
  | { available: false; reason: string } {
  try {
    return { available: true, ...mpiModule().mod.library() };
  } catch (err) {
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** True when this process was started by an MPI launcher (mpirun / mpiexec, or srun with PMI/PMIx). */
export function launchedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OMPI_COMM_WORLD_SIZE !== undefined || env.PMI_SIZE !== undefined || env.PMIX_RANK !== undefined;
}
