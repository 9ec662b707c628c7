#!/usr/bin/env node
// Builds the CUDA module build/Release/biaslearn_cuda.node (`npm run build:cuda` in a clone,
// `npx biaslearn build-cuda` in an app that depends on biaslearn). Always reconfigures the build
// folder with -DBIASLEARN_CUDA=ON (cmake-js's `compile` reuses an existing configuration, so a
// plain install followed by `compile --CDBIASLEARN_CUDA=ON` used to build nothing), then builds
// the biaslearn_cuda target only. Without a CUDA compiler the configure step stops with a message
// saying how to get one; this script then exits 1.
//
// Options: --out <dir> (build folder, default build), --arch <list> (CMAKE_CUDA_ARCHITECTURES,
// e.g. "80;90"), --cublas-root <dir> (BIASLEARN_CUBLAS_ROOT), --configure-only.
// Environment: CUDACXX (nvcc to use), BIASLEARN_CUDA_ARCHITECTURES, BIASLEARN_CUBLAS_ROOT.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { cmakeJs, option, root } from './cmake_js.mjs';

const args = process.argv.slice(2);
const out = option('--out') ?? 'build';
const arch = option('--arch') ?? process.env.BIASLEARN_CUDA_ARCHITECTURES;
const cublas = option('--cublas-root') ?? process.env.BIASLEARN_CUBLAS_ROOT;

const defs = [
  '--CDBIASLEARN_CUDA=ON',
  ...(arch ? [`--CDCMAKE_CUDA_ARCHITECTURES=${arch}`] : []),
  ...(cublas ? [`--CDBIASLEARN_CUBLAS_ROOT=${cublas}`] : []),
];
const run = (step) => cmakeJs(step, ['--out', out, ...defs, ...(step === 'build' ? ['--target', 'biaslearn_cuda'] : [])]);

function fail(what) {
  console.error(`\nbiaslearn: the CUDA module was not built (${what} failed; see the message above).`);
  console.error('  Needs the CUDA toolkit (nvcc) and cuBLAS: put nvcc on PATH or set CUDACXX=/path/to/nvcc, then rerun');
  console.error('  `npx biaslearn build-cuda` in your app (or `npm run build:cuda` in a clone of biaslearn).');
  process.exit(1);
}

if (run('configure').status !== 0) fail('configure');
if (args.includes('--configure-only')) process.exit(0);
if (run('build').status !== 0) fail('build');
const built = resolve(root, out, 'Release', 'biaslearn_cuda.node');
if (!existsSync(built)) fail(`build (no ${built})`);
console.log(`biaslearn: built ${built}; models now accept backend: 'cuda'`);
