/**
 * Choosing the CPU module: the x86-64 level from CPU flags, the order of prebuilt variants, the
 * BIASLEARN_CPU_VARIANT override, source builds before prebuilts. With prebuilds/ present (after
 * `npm run build:prebuilds`) also: each variant needs no shared library beyond glibc / libstdc++,
 * and the variant this CPU gets loads and reports its kernels.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuModuleCandidates, prebuiltCandidates, prebuiltVariant, supportedX86Levels } from '../src/native/prebuilt.js';
import { runtimeInfo } from '../src/runtime.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'biaslearn-prebuilt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const V2 = ['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3'];
const V3 = [...V2, 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'];
const V4 = [...V3, 'avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];

describe('x86-64 levels from CPU flags', () => {
  it('orders the levels a CPU runs best first; the baseline is always last', () => {
    expect(supportedX86Levels(new Set(V4))).toEqual(['x86-64-v4', 'x86-64-v3', 'x86-64-v2']);
    expect(supportedX86Levels(new Set(V3))).toEqual(['x86-64-v3', 'x86-64-v2']);
    expect(supportedX86Levels(new Set(V2))).toEqual(['x86-64-v2']);
    expect(supportedX86Levels(new Set())).toEqual(['x86-64-v2']);
    // AVX-512F alone (no BW/VL) is not v4; AVX2 without FMA is not v3
    expect(supportedX86Levels(new Set([...V3, 'avx512f']))).toEqual(['x86-64-v3', 'x86-64-v2']);
    expect(supportedX86Levels(new Set(V3.filter((f) => f !== 'fma')))).toEqual(['x86-64-v2']);
  });
});

describe('module candidates', () => {
  const fake = join(work, 'pkg');
  const dir = join(fake, 'prebuilds', `${process.platform}-${process.arch}`);
  mkdirSync(dir, { recursive: true });
  for (const v of ['x86-64-v2', 'x86-64-v3', 'x86-64-v4']) writeFileSync(join(dir, `biaslearn.${v}.node`), '');

  it('source builds come before prebuilts, $BIASLEARN_BUILD_DIR first', () => {
    const c = cpuModuleCandidates(fake, { BIASLEARN_BUILD_DIR: '/b' });
    expect(c.slice(0, 3)).toEqual([
      join('/b', 'biaslearn.node'),
      join(fake, 'build', 'Release', 'biaslearn.node'),
      join(fake, 'build', 'Debug', 'biaslearn.node'),
    ]);
    expect(c.slice(3).every((p) => prebuiltVariant(p) !== undefined)).toBe(true);
  });

  it.skipIf(process.arch !== 'x64')('prebuilts follow this CPU: best supported level first, never one it lacks', () => {
    const levels = supportedX86Levels();
    expect(prebuiltCandidates(fake, {}).map((p) => prebuiltVariant(p))).toEqual(levels);
  });

  it('BIASLEARN_CPU_VARIANT forces one variant (none when it does not exist)', () => {
    expect(prebuiltCandidates(fake, { BIASLEARN_CPU_VARIANT: 'x86-64-v2' }).map(prebuiltVariant)).toEqual(['x86-64-v2']);
    expect(prebuiltCandidates(fake, { BIASLEARN_CPU_VARIANT: 'x86-64-v9' })).toEqual([]);
  });

  it('no prebuilds folder: no prebuilt candidates; variant names parse only under prebuilds/', () => {
    expect(prebuiltCandidates(join(work, 'nothing'), {})).toEqual([]);
    expect(prebuiltVariant('/x/prebuilds/linux-x64/biaslearn.x86-64-v3.node')).toBe('x86-64-v3');
    expect(prebuiltVariant('/x/build/Release/biaslearn.node')).toBeUndefined();
  });

  it('runtimeInfo names the loaded binary, its kernels and the gemm detail', () => {
    const info = runtimeInfo();
    expect(info.binary.path).toMatch(/biaslearn(\.[\w.-]+)?\.node$/);
    expect(info.binary.kind).toMatch(/^(source build|prebuilt \S+)$/);
    expect(info.kernels).toMatch(/^(avx512|avx2\+fma|avx|sse4\.2|sse2|neon|generic)$/);
    expect(info.gemmDetail.length).toBeGreaterThan(0);
  });
});

const prebuiltDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const prebuilts = existsSync(prebuiltDir) ? readdirSync(prebuiltDir).filter((f) => f.endsWith('.node')) : [];
const objdump = spawnSync('sh', ['-c', 'command -v objdump']).status === 0;

describe.skipIf(!prebuilts.length || process.platform !== 'linux' || !objdump)('the prebuilt binaries in prebuilds/', () => {
  it('need no shared library beyond glibc and libstdc++ (objdump -p NEEDED)', () => {
    for (const f of prebuilts) {
      const out = spawnSync('objdump', ['-p', join(prebuiltDir, f)], { encoding: 'utf8' }).stdout;
      const needed = [...out.matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]!);
      expect(
        needed.filter(
          (n) => !/^(libstdc\+\+\.so\.6|libm\.so\.6|libc\.so\.6|libpthread\.so\.0|libdl\.so\.2|ld-linux-x86-64\.so\.2)$/.test(n),
        ),
        f,
      ).toEqual([]);
    }
  });

  it('the variant chosen for this CPU loads and reports kernels matching its level', () => {
    const best = prebuiltCandidates(root)[0]!;
    const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(best)}).buildInfo()))`], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { kernelIsa: string; blas: string };
    const want = { 'x86-64-v4': 'avx512', 'x86-64-v3': 'avx2+fma', 'x86-64-v2': 'sse4.2' }[prebuiltVariant(best)!];
    if (want) expect(info.kernelIsa).toBe(want);
  });
});
