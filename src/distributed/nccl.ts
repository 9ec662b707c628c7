/**
 * NCCL for data- and width-parallel training on the `cuda` backend: the CUDA module built with
 * NCCL (native/backend/cuda/nccl_collective.cpp) holds the communicator, bootstrapped over MPI
 * (rank 0's ncclGetUniqueId, broadcast with MPI_Bcast, ncclCommInitRank on every rank). Models on
 * the `cuda` backend then sum their device buffers with ncclAllReduce instead of through host
 * memory and MPI. One GPU per rank (CUDA_VISIBLE_DEVICES): NCCL refuses two ranks on one GPU.
 */
import { BackendUnavailableError } from '../errors.js';
import { nativeFor, nativeModulePath } from '../native/binding.js';
import type { World } from './world.js';

interface NcclModule {
  ncclUniqueId?: () => string;
  ncclInit?: (id: string, rank: number, size: number) => void;
  ncclVersion?: () => string;
}

let ncclPath: string | undefined;

/** The NCCL version of the CUDA module, or undefined when it was built without NCCL (or is absent). */
export function ncclVersion(): string | undefined {
  try {
    return (nativeFor('cuda') as unknown as NcclModule).ncclVersion?.();
  } catch {
    return undefined;
  }
}

/**
 * Starts NCCL over `world` (collective: every rank calls it). Afterwards `fit` of models on the
 * `cuda` backend uses NCCL. E_BACKEND_UNAVAILABLE when the CUDA module lacks NCCL.
 */
export function enableNccl(world: World): void {
  if (ncclPath) return;
  const mod = nativeFor('cuda') as unknown as NcclModule;
  if (!mod.ncclUniqueId || !mod.ncclInit)
    throw new BackendUnavailableError(
      'the CUDA module was built without NCCL: install NCCL (or pass -DBIASLEARN_NCCL_ROOT=<nvidia-nccl wheel>/nvidia/nccl) and rebuild it',
    );
  const id = world.broadcast(world.isRoot ? mod.ncclUniqueId() : '');
  mod.ncclInit(id, world.rank, world.size);
  ncclPath = nativeModulePath('cuda');
}

/** The module whose collective a model on `backend` attaches: the CUDA module once NCCL is on, else the MPI module. */
export function collectivePathFor(backend: string | undefined, world: World): string {
  return backend === 'cuda' && ncclPath ? ncclPath : world.modulePath;
}
