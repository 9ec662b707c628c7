/**
 * The CLI under an MPI launcher (`mpirun -np N biaslearn train ...`): MPI starts before the
 * command runs, so `train`, `rnn train` and `multitask` fit data-parallel and `sweep` splits its
 * grid. Rank 0 prints and writes the run; the other ranks print only their errors (prefixed with
 * the rank). A rank that ends with an error aborts the job (initDistributed's exit hook).
 */
import { launchedByMpi } from '../distributed/mpi_module.js';
import { initDistributed } from '../distributed/world.js';
import { BiasLearnError } from '../errors.js';
import { processIO, type CliIO, type OutStream } from './io.js';

/** Only the lines that start with `error`, prefixed with the rank. */
function errorsOnly(rank: number, out: OutStream): OutStream {
  return {
    write: (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.startsWith('error')) out.write(`[rank ${rank}] ${line}\n`);
      return true;
    },
  };
}

/** The process streams; under mpirun MPI is started first and ranks > 0 keep only their errors. */
export async function distributedIO(env: NodeJS.ProcessEnv = process.env): Promise<CliIO> {
  const io = processIO();
  if (!launchedByMpi(env)) return io;
  try {
    const world = initDistributed();
    if (world.rank === 0) return io;
    return { stdout: { write: () => true }, stderr: errorsOnly(world.rank, io.stderr) };
  } catch (err) {
    const e = err instanceof BiasLearnError ? err : new BiasLearnError('E_MPI_UNAVAILABLE', String(err));
    io.stderr.write(`error [${e.code}]: ${e.message}\n`);
    process.exit(1);
  }
}
