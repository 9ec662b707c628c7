#!/usr/bin/env node
// Builds the MPI module build/Release/biaslearn_mpi.node (`npm run build:mpi` in a clone, `node
// node_modules/biaslearn/scripts/build-mpi.mjs` in an app whose biaslearn came prebuilt; a source
// build of `npm install` builds it anyway when MPI is found). Needs an MPI implementation:
// apt-get install libopenmpi-dev openmpi-bin (or libmpich-dev mpich). Option: --out <dir>.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { cmakeJs, option, root } from './cmake_js.mjs';

const out = option('--out') ?? 'build';
const run = (step) =>
  cmakeJs(step, ['--out', out, '--CDBIASLEARN_MPI=ON', ...(step === 'build' ? ['--target', 'biaslearn_mpi'] : [])]);
const built = resolve(root, out, 'Release', 'biaslearn_mpi.node');
if (run('configure').status !== 0 || run('build').status !== 0 || !existsSync(built)) {
  console.error('\nbiaslearn: the MPI module was not built: no MPI found (see above).');
  console.error('  apt-get install libopenmpi-dev openmpi-bin (or libmpich-dev mpich), then rerun.');
  process.exit(1);
}
console.log(`biaslearn: built ${built}; mpirun -np N now trains data-parallel (docs/distributed.md)`);
