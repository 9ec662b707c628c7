/**
 * `biaslearn build-cuda`: builds the CUDA module inside the installed package (the same script as
 * `npm run build:cuda` in a clone: scripts/build-cuda.mjs), so an app that depends on biaslearn
 * can add the GPU backend with `npx biaslearn build-cuda`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BiasLearnError } from '../errors.js';
import { packageRoot } from '../util/package_root.js';
import type { CliContext } from './context.js';

export function registerBuildCuda(program: Command, _ctx: CliContext): Command {
  return program
    .command('build-cuda')
    .description(
      "build the CUDA backend (build/Release/biaslearn_cuda.node) from the package's sources; needs the CUDA toolkit and cuBLAS",
    )
    .option('--arch <list>', 'GPU architectures, CMAKE_CUDA_ARCHITECTURES (default "80;90")')
    .option('--cublas-root <dir>', 'take cuBLAS from <dir>/include and <dir>/lib (e.g. a pip wheel) instead of the toolkit')
    .action(async (flags: { arch?: string; cublasRoot?: string }) => {
      const root = packageRoot();
      const args = [join(root, 'scripts', 'build-cuda.mjs')];
      if (flags.arch) args.push('--arch', flags.arch);
      if (flags.cublasRoot) args.push('--cublas-root', flags.cublasRoot);
      const code = await new Promise<number>((resolve) => {
        spawn(process.execPath, args, { cwd: root, stdio: 'inherit' }).on('close', (c) => resolve(c ?? 1));
      });
      if (code !== 0) throw new BiasLearnError('E_BACKEND_UNAVAILABLE', 'the CUDA module was not built (see the messages above)');
    });
}
