/** `biaslearn info`: runtime facts (backends, matrix-product path, threads) and data availability. */
import type { Command } from 'commander';
import { DATASET_NAMES, datasetDir, fetchCommand, splitsIn } from '../data/locations.js';
import { environmentInfo, type CliContext } from './context.js';
import { println } from './io.js';
import { MPI_INSTALL_HINT, mpiInfo } from '../distributed/mpi_module.js';

export function registerInfo(program: Command, ctx: CliContext): Command {
  return program
    .command('info')
    .description('show the runtime: version, backends, matrix-product path, threads, datasets found')
    .option('--json', 'print one JSON object instead of text')
    .action((flags: { json?: boolean }) => {
      const env = environmentInfo();
      const mpi = mpiInfo();
      const datasets = Object.fromEntries(
        DATASET_NAMES.map((name) => {
          const dir = datasetDir(name);
          return [name, { dir, splits: splitsIn(dir) as string[] }];
        }),
      );
      if (flags.json) {
        println(ctx.io.stdout, JSON.stringify({ ...env, mpi, datasets }));
        return;
      }
      const out = ctx.io.stdout;
      println(out, `biaslearn ${String(env.biaslearn)} (node ${String(env.node)}, ${String(env.platform)}-${String(env.arch)})`);
      println(
        out,
        `backends: ${(env.backends as string[]).join(', ')}${(env.backends as string[]).includes('cuda') ? '' : ' (cuda not built: npx biaslearn build-cuda)'}`,
      );
      const binary = env.binary as { path: string; kind: string };
      println(out, `binary:   ${binary.kind} (${binary.path})`);
      println(out, `kernels:  ${String(env.kernels)}`);
      println(out, `gemm:     ${String(env.gemm)}: ${String(env.gemmDetail)}`);
      println(out, `threads:  ${String(env.threads)} (of ${String(env.cpuCount)} CPUs, ${String(env.cpuModel)})`);
      println(
        out,
        `mpi:      ${mpi.available ? `${mpi.library} (MPI ${mpi.standard})` : `not built (mpirun -np N biaslearn ... needs it: ${MPI_INSTALL_HINT})`}`,
      );
      println(out, 'datasets:');
      for (const [name, d] of Object.entries(datasets)) {
        println(
          out,
          `  ${name.padEnd(14)} ${d.splits.length ? `${d.splits.join('+')}  ${d.dir}` : `not found (${fetchCommand(name as (typeof DATASET_NAMES)[number])})`}`,
        );
      }
      println(out, '  spirals        embedded (generated, no files)');
    });
}
