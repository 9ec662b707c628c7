/**
 * The published package as a user gets it: `npm pack`, then `npm install <tarball>` into a fresh
 * app with cmake and every C/C++ compiler hidden from PATH (and no network: `npm ci --offline`
 * with a lockfile built from the repository's, so dependencies come from the npm cache that the
 * repository's own install filled). The install must take the prebuilt binary (no
 * source build), and the app must import, require and train with it.
 *
 * The prebuilt is the repository's prebuilds/ when `npm run build:prebuilds` made them, else the
 * already-built build/Release/biaslearn.node reused as prebuilds/<platform>-<arch>/biaslearn.x86-64-v2.node
 * (it runs on this machine; the variant name only sets its rank for the loader), so the test
 * stays fast.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from './helpers/dist.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'biaslearn-pack-'));
const platformDir = `${process.platform}-${process.arch}`;
const haveBinary =
  existsSync(join(root, 'prebuilds', platformDir)) || existsSync(join(root, 'build', 'Release', 'biaslearn.node'));

/** Tools a source build needs; none of them may be reachable from the app's install. */
const HIDDEN =
  /^(cmake|ctest|cpack|ccmake|c\+\+|g\+\+|gcc|cc|c89|c99|clang|clang\+\+|make|gmake|ninja|nvcc|cpp)(-[\d.]+)?$|^[\w-]+-linux-gnu-(g\+\+|gcc|c\+\+|cpp)(-[\d.]+)?$/;

/** A PATH of one folder that links every program of this PATH except the hidden build tools. */
function toolFreePath(): string {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name) || HIDDEN.test(name)) continue;
      seen.add(name);
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  if (!seen.has('node')) symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; timeout?: number }) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeout ?? 240_000,
  });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * The app's package.json (depending on the tarball) and a lockfile whose entries for biaslearn's
 * dependencies are the repository's own (same versions, tarball URLs and integrity), so that
 * `npm ci --offline` installs them from the npm cache without asking the registry anything.
 */
function writeAppWithLock(dir: string, tgz: string): void {
  const spec = `file:${relative(dir, tgz)}`;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    engines: unknown;
  };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const deps = Object.fromEntries(Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.dev));
  const app = { name: 'app', version: '1.0.0', private: true, type: 'module', dependencies: { biaslearn: spec } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(app, null, 2));
  const packages = {
    '': { name: 'app', version: '1.0.0', dependencies: { biaslearn: spec } },
    'node_modules/biaslearn': {
      version: pkg.version,
      resolved: spec,
      hasInstallScript: true,
      license: 'MIT',
      dependencies: pkg.dependencies,
      bin: { biaslearn: 'dist/cli/main.js' },
      engines: pkg.engines,
    },
    ...deps,
  };
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

let tarball = '';
let app = '';
let path = '';
let install = { status: null as number | null, out: '' };

beforeAll(() => {
  if (!haveBinary) return;
  ensureDist(root);
  // 1. Pack the repository (scripts off: prepack would rebuild every prebuilt variant).
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  const pack = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], { cwd: root });
  expect(pack.status, pack.out).toBe(0);
  let first = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
  // 2. Without prebuilds/ in the repository, add the already-built binary as the prebuilt and repack.
  if (!existsSync(join(root, 'prebuilds', platformDir))) {
    const stage = join(work, 'stage');
    mkdirSync(stage);
    expect(run('tar', ['xzf', first, '-C', stage], { cwd: work }).status).toBe(0);
    const pkg = join(stage, 'package');
    mkdirSync(join(pkg, 'prebuilds', platformDir), { recursive: true });
    copyFileSync(
      join(root, 'build', 'Release', 'biaslearn.node'),
      join(pkg, 'prebuilds', platformDir, 'biaslearn.x86-64-v2.node'),
    );
    const repack = join(work, 'repack');
    mkdirSync(repack);
    const r = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', repack], { cwd: pkg });
    expect(r.status, r.out).toBe(0);
    first = join(repack, readdirSync(repack).find((f) => f.endsWith('.tgz'))!);
  }
  tarball = first;
  // 3. A fresh app; install the tarball offline with no cmake and no compiler on PATH.
  app = join(work, 'app');
  mkdirSync(app);
  writeAppWithLock(app, tarball);
  path = toolFreePath();
  install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: app,
    env: { PATH: path, BIASLEARN_BUILD_FROM_SOURCE: '', npm_config_build_from_source: '', BIASLEARN_BUILD_DIR: '' },
  });
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!haveBinary)('npm install of the packed package, no cmake, no compiler', () => {
  it('the tarball carries the package and no test, bench or build leftovers', () => {
    const list = run('tar', ['tzf', tarball], { cwd: work }).out.split('\n').filter(Boolean);
    for (const f of [
      'package/LICENSE',
      'package/README.md',
      'package/dist/index.js',
      'package/dist/cjs/index.js',
      'package/dist/cjs/package.json',
    ]) {
      expect(list).toContain(f);
    }
    expect(list.some((f) => f.startsWith(`package/prebuilds/${platformDir}/biaslearn.`) && f.endsWith('.node'))).toBe(true);
    const leftovers = list.filter(
      (f) => /^package\/(test|bench|build|build-[^/]+|\.cjs-src|tmp|runs)\//.test(f) || /\.map$|\.tsbuildinfo$|\.blck$/.test(f),
    );
    expect(leftovers).toEqual([]);
  });

  it('the tool-free PATH really has no cmake or C++ compiler', () => {
    for (const tool of ['cmake', 'c++', 'g++', 'gcc', 'cc', 'make']) {
      expect(run('sh', ['-c', `command -v ${tool}`], { cwd: app, env: { PATH: path } }).status, tool).not.toBe(0);
    }
  });

  it('installs from the prebuilt binary (no source build)', () => {
    expect(install.status, install.out).toBe(0);
    expect(install.out).toContain('biaslearn: using the prebuilt binary prebuilds/');
    expect(existsSync(join(app, 'node_modules', 'biaslearn', 'build'))).toBe(false);
  });

  it('a forced source build without cmake or a compiler fails with a message saying what to install', () => {
    const r = run(process.execPath, [join(app, 'node_modules', 'biaslearn', 'scripts', 'install.mjs')], {
      cwd: app,
      env: { PATH: path, BIASLEARN_BUILD_FROM_SOURCE: '1' },
    });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('building from source (forced');
    expect(r.out).toContain('the source build failed. Install CMake, a C++17 compiler and Python 3');
    expect(existsSync(join(app, 'node_modules', 'biaslearn', 'build', 'Release', 'biaslearn.node'))).toBe(false);
  });

  it('when no prebuilt fits this machine the install falls back to a source build', () => {
    const r = run(process.execPath, [join(app, 'node_modules', 'biaslearn', 'scripts', 'install.mjs')], {
      cwd: app,
      env: { PATH: path, BIASLEARN_CPU_VARIANT: 'no-such-variant' },
    });
    expect(r.out).toContain('building from source (no prebuilt binary');
    expect(r.status).not.toBe(0);
  });

  const TRAIN = `
    const data = spiralClassification({ n: 300, classes: 3, embed: 16, seed: 1 });
    const model = await MLP.create({ inputSize: 16, hidden: [64], outputSize: 3, train: 'bias', seed: 1 });
    const history = await model.fit(data, { epochs: 3, batchSize: 32 });
    const info = runtimeInfo();
    console.log(JSON.stringify({ last: history.last('loss'), kind: info.binary.kind, kernels: info.kernels }));
  `;

  it('an ESM app imports it and trains a few steps on the prebuilt', () => {
    writeFileSync(join(app, 'train.mjs'), `import { MLP, spiralClassification, runtimeInfo } from 'biaslearn';\n${TRAIN}`);
    const r = run(process.execPath, ['train.mjs'], { cwd: app, env: { PATH: path } });
    expect(r.status, r.out).toBe(0);
    const out = JSON.parse(r.out.trim().split('\n').pop()!) as { last: number; kind: string; kernels: string };
    expect(Number.isFinite(out.last)).toBe(true);
    expect(out.kind).toMatch(/^prebuilt x86-64-v\d|^prebuilt /);
  });

  it('a CommonJS app requires it and trains', () => {
    writeFileSync(
      join(app, 'train.cjs'),
      `const { MLP, spiralClassification, runtimeInfo } = require('biaslearn');\n(async () => {${TRAIN}})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const r = run(process.execPath, ['train.cjs'], { cwd: app, env: { PATH: path } });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('"kind":"prebuilt');
  });

  it('`npx biaslearn info` names the prebuilt binary, its kernels and the gemm path', () => {
    const r = run(join(app, 'node_modules', '.bin', 'biaslearn'), ['info'], { cwd: app, env: { PATH: path } });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/^binary: +prebuilt \S+ \(.*prebuilds\/.*\.node\)$/m);
    expect(r.out).toMatch(/^kernels: +\S+/m);
    expect(r.out).toMatch(/^gemm: +(cblas|builtin)/m);
  });
});
