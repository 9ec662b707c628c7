#!/usr/bin/env node
// `npm run build:prebuilds` (also run by `npm pack`): the portable binaries `npm pack` ships, in the prebuildify layout
//   prebuilds/<platform>-<arch>/biaslearn.<variant>.node
// On x86-64 one build per instruction-set level, chosen at load time from the CPU's features
// (src/native/prebuilt.ts): x86-64-v2 (the baseline: any x86-64 CPU since ~2009), x86-64-v3 (AVX2,
// FMA) and x86-64-v4 (AVX-512). Each is compiled with -DBIASLEARN_PORTABLE=ON: no -march=native,
// OpenBLAS linked statically with its own run-time CPU dispatch, nothing needed beyond glibc and
// libstdc++. Other platforms get one `generic` build.
//
// Options: --variants v2,v3,v4 (a subset), --out-root <dir> (build folders, default build-prebuild).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cmakeJs, option, root } from './cmake_js.mjs';

const outRoot = option('--out-root') ?? join(root, 'build-prebuild');
const x64 = process.arch === 'x64';
const levels = (option('--variants') ?? 'v2,v3,v4').split(',').map((v) => `x86-64-${v.trim()}`);
const variants = x64 ? levels.map((l) => ({ name: l, arch: l })) : [{ name: 'generic', arch: '' }];
const dest = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dest, { recursive: true });

for (const v of variants) {
  const out = join(outRoot, v.name);
  const defs = ['--CDBIASLEARN_PORTABLE=ON', '--CDBIASLEARN_CUDA=OFF', `--CDBIASLEARN_ARCH=${v.arch}`];
  console.log(`biaslearn prebuild: ${v.name} (-march=${v.arch || '<compiler default>'}) in ${out}`);
  // configure, then build: `cmake-js compile` would reuse an existing folder's configuration.
  for (const step of ['configure', 'build']) {
    const r = cmakeJs(step, ['--out', out, ...defs]);
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  copyFileSync(join(out, 'Release', 'biaslearn.node'), join(dest, `biaslearn.${v.name}.node`));
}
console.log(`biaslearn prebuild: ${variants.map((v) => `biaslearn.${v.name}.node`).join(', ')} in ${dest}`);
