/** Running scripts under mpirun for the distributed tests (2 ranks, 1 thread each, never a hang). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** Why the multi-process tests cannot run here, or undefined when they can. */
export function mpiSkipReason(): string | undefined {
  if (!existsSync(join(root, 'build', 'Release', 'biaslearn_mpi.node')))
    return 'biaslearn_mpi.node is not built (no MPI at build time: apt-get install libopenmpi-dev openmpi-bin, then npm run build)';
  const probe = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'mpirun is not on PATH';
  return undefined;
}

export interface MpiRun {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * `mpirun -np <ranks> <command...>` from the repository root, killed after `timeoutMs`.
 * Oversubscribed and unbound (other jobs share the cores); root allowed (CI containers).
 */
export function mpirun(ranks: number, command: string[], timeoutMs = 60_000, extraEnv: Record<string, string> = {}): MpiRun {
  const r = spawnSync(
    'mpirun',
    ['-np', String(ranks), '--oversubscribe', '--bind-to', 'none', '--mca', 'orte_base_help_aggregate', '0', ...command],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: {
        ...process.env,
        OMPI_ALLOW_RUN_AS_ROOT: '1',
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
        OMPI_MCA_btl_vader_single_copy_mechanism: 'none',
        OMPI_MCA_rmaps_base_oversubscribe: '1',
        BIASLEARN_THREADS: '1',
        OPENBLAS_NUM_THREADS: '1',
        ...extraEnv,
      },
    },
  );
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    timedOut: r.error !== undefined && r.status === null,
  };
}
