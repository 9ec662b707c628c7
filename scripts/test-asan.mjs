#!/usr/bin/env node
// npm run test:asan [-- <vitest args>]: builds the addon with AddressSanitizer and
// UndefinedBehaviorSanitizer in build-asan/ (-DBIASLEARN_SANITIZE=ON: -fsanitize=address,undefined
// -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O3 -g, the numerics of the default build), points the loader at it
// (BIASLEARN_BUILD_DIR) and runs vitest with the sanitizer runtimes preloaded (node itself is
// not instrumented). Any finding aborts the test process, so "zero findings" is "every test
// file passed and no sanitizer report in the output"; the script checks both.
//
// ASAN_OPTIONS: detect_leaks=0 (V8 and Node keep allocations alive until exit by design, so
// LeakSanitizer reports are noise there), abort_on_error=1, halt_on_error=1. UBSan reports abort
// (halt_on_error=1, print_stacktrace=1).
//
// Which tests: the suite without the files that spawn other processes or build packages
// (cli.*, package.*, build.*, native.prebuilt, data.fetch: their child processes would need the
// preload too, and they exercise the CLI and packaging, not native memory) and the CUDA files
// (no device here). BIASLEARN_ASAN_ALL=1 runs everything. Extra arguments go to vitest.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cmakeJs, root } from './cmake_js.mjs';

const out = join(root, 'build-asan');
const build = cmakeJs('compile', ['--out', out, '--CDBIASLEARN_SANITIZE=ON']);
if (build.status !== 0) process.exit(build.status ?? 1);

/** The compiler's own copy of a runtime library (libasan.so, libubsan.so). */
function runtime(name) {
  const path = execFileSync(process.env.CXX ?? 'g++', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
  if (!existsSync(path) || path === name)
    throw new Error(`test:asan: ${name} not found (install the compiler's sanitizer runtimes)`);
  return path;
}

const EXCLUDE = ['cli.', 'package.', 'build.', 'native.prebuilt', 'data.fetch', 'cuda.'];
const args = process.argv.slice(2);
const files = process.env.BIASLEARN_ASAN_ALL
  ? []
  : execFileSync('git', ['ls-files', 'test/*.test.ts'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !EXCLUDE.some((p) => f.slice('test/'.length).startsWith(p)));

const env = {
  ...process.env,
  BIASLEARN_BUILD_DIR: join(out, 'Release'),
  LD_PRELOAD: [runtime('libasan.so'), runtime('libubsan.so')].join(' '),
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
console.log(`test:asan: ${files.length ? `${files.length} test files` : 'every test file'} against ${env.BIASLEARN_BUILD_DIR}`);
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
// Streamed through (CI shows progress) and kept to count the sanitizer reports.
const child = spawn(process.execPath, [vitest, 'run', ...files, ...args], { cwd: root, env });
let text = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  text += d;
});
child.stderr.on('data', (d) => {
  process.stderr.write(d);
  text += d;
});
const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
const findings = (
  text.match(/ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: UndefinedBehaviorSanitizer/g) ?? []
).length;
console.log(`test:asan: ${findings} sanitizer findings, vitest exit ${status}`);
process.exit(findings > 0 ? 1 : typeof status === 'number' ? status : 1);
