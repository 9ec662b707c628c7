#!/usr/bin/env node
// `npm install` of biaslearn: use the prebuilt binary when one loads on this machine, else build
// from source with cmake-js. Nothing is downloaded.
//
//   prebuilds/<platform>-<arch>/biaslearn.<variant>.node   shipped in the package (`npm run prebuild`)
//
// A source build happens when no prebuilt exists for this platform, when it fails to load (tested
// in a child process, so a crash cannot take npm down), in a git checkout (development), or when
// forced: `npm install biaslearn --build-from-source` (npm_config_build_from_source) or
// BIASLEARN_BUILD_FROM_SOURCE=1. A source build installed as a dependency is portable
// (-march=x86-64-v2 on x86-64) unless `--biaslearn-native` / BIASLEARN_NATIVE=1 asks for
// -march=native; in a git checkout it keeps the CMake default (-march=native). `--biaslearn-cuda`
// / BIASLEARN_CUDA=1 also builds the CUDA module (scripts/build-cuda.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cmakeJs, root } from './cmake_js.mjs';

const env = process.env;
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v !== 'false';
const forced = truthy(env.BIASLEARN_BUILD_FROM_SOURCE) || truthy(env.npm_config_build_from_source);
const wantNative = truthy(env.BIASLEARN_NATIVE) || truthy(env.npm_config_biaslearn_native);
const wantCuda = truthy(env.BIASLEARN_CUDA) || truthy(env.npm_config_biaslearn_cuda);
const checkout = existsSync(join(root, '.git'));
const log = (msg) => console.log(`biaslearn: ${msg}`);

/** Prebuilt binaries this CPU can run, best first (the loader's own order, from dist/ when built). */
function prebuilt() {
  const compiled = join(root, 'dist', 'cjs', 'native', 'prebuilt.js');
  if (existsSync(compiled)) return createRequire(import.meta.url)(compiled).prebuiltCandidates(root, env);
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.node'))
        .map((f) => join(dir, f))
    : [];
}

/** Loads `path` in a child process and calls buildInfo(); returns the reason when it fails. */
function loadError(path) {
  const code = `const m = require(${JSON.stringify(path)}); if (typeof m.info !== 'function') throw new Error('not the biaslearn module'); m.info();`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return undefined;
  return (
    (r.stderr || `exit ${r.status ?? r.signal}`)
      .trim()
      .split('\n')
      .find((l) => /Error|error/.test(l)) ?? `exit ${r.status ?? r.signal}`
  );
}

function sourceBuild(why) {
  log(`building from source (${why}); needs CMake and a C++17 compiler`);
  const defs = [];
  if (!checkout) {
    defs.push(`--CDBIASLEARN_NATIVE_ARCH=${wantNative ? 'ON' : 'OFF'}`);
    if (!wantNative && process.arch === 'x64') defs.push('--CDBIASLEARN_ARCH=x86-64-v2');
  } else if (wantNative) defs.push('--CDBIASLEARN_NATIVE_ARCH=ON');
  const r = cmakeJs('compile', defs);
  if (r.status !== 0) {
    console.error(
      'biaslearn: the source build failed. Install CMake, a C++17 compiler and Python 3 ' +
        '(Debian/Ubuntu: apt-get install -y cmake g++ make python3 libopenblas-dev), then `npm rebuild biaslearn`.',
    );
    process.exit(r.status ?? 1);
  }
}

function main() {
  if (forced) sourceBuild('forced by --build-from-source / BIASLEARN_BUILD_FROM_SOURCE');
  else if (checkout) sourceBuild('a git checkout');
  else {
    const candidates = prebuilt();
    const reasons = [];
    const ok = candidates.find((p) => {
      const err = loadError(p);
      if (err) reasons.push(`${p}: ${err}`);
      return !err;
    });
    if (ok) log(`using the prebuilt binary ${ok.slice(root.length + 1)}`);
    else
      sourceBuild(
        candidates.length
          ? `no prebuilt binary loads: ${reasons.join('; ')}`
          : `no prebuilt binary for ${process.platform}-${process.arch}`,
      );
  }
  if (wantCuda) {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cuda.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}

main();
