/**
 * `npm run build:cuda` / `npx biaslearn build-cuda` (scripts/build-cuda.mjs), configure step only,
 * no GPU needed: it reconfigures a folder first configured for the CPU build (BIASLEARN_CUDA=ON in
 * the cache, a biaslearn_cuda target), and without a CUDA compiler (nvcc hidden from PATH, or
 * CUDACXX naming nothing) it stops at the CUDA toolkit check with a message naming the command an
 * app runs. Needs cmake and a C++ compiler (as `npm install` from source does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'biaslearn-cuda-cfg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const pathDirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
const hasCmake = pathDirs.some((d) => existsSync(join(d, 'cmake')));
/** An nvcc to name with CUDACXX: on PATH or in the usual toolkit folder. */
const nvcc = [...pathDirs.map((d) => join(d, 'nvcc')), '/usr/local/cuda/bin/nvcc'].find((p) => existsSync(p));
const cublasRoot = ['/opt/cublas/nvidia/cu13', '/opt/cublas/nvidia/cublas'].find((d) =>
  existsSync(join(d, 'include', 'cublas_v2.h')),
);

/** PATH without any folder holding nvcc, plus a folder with `node` (it may have shared one). */
function pathWithoutNvcc(): string {
  const nodeDir = join(work, 'node-bin');
  if (!existsSync(nodeDir)) {
    spawnSync('mkdir', ['-p', nodeDir]);
    symlinkSync(process.execPath, join(nodeDir, 'node'));
  }
  return [nodeDir, ...pathDirs.filter((d) => !existsSync(join(d, 'nvcc')))].join(delimiter);
}

function buildCuda(
  out: string,
  env: Record<string, string | undefined>,
  extra: string[] = [],
): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cuda.mjs'), '--out', out, '--configure-only', ...extra], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, CUDACXX: undefined, ...env },
  });
  // CMake wraps its messages: compare with runs of whitespace collapsed.
  return { status: r.status, output: (r.stdout + r.stderr).replace(/\s+/g, ' ') };
}

describe.skipIf(!hasCmake)('build:cuda configure step (no GPU)', () => {
  it('without nvcc on PATH it stops at the CUDA toolkit check, exit 1, naming `npx biaslearn build-cuda`', () => {
    const r = buildCuda(join(work, 'no-nvcc'), { PATH: pathWithoutNvcc() });
    expect(r.status, r.output).toBe(1);
    expect(r.output).toContain('Looking for a CUDA compiler');
    expect(r.output).toContain('no CUDA compiler (nvcc) was found');
    expect(r.output).toContain('npx biaslearn build-cuda');
    expect(r.output).not.toContain('no work to do');
  });

  it('CUDACXX naming a missing compiler fails the same way', () => {
    const r = buildCuda(join(work, 'bad-cudacxx'), { PATH: pathWithoutNvcc(), CUDACXX: join(work, 'no', 'nvcc') });
    expect(r.status, r.output).toBe(1);
    expect(r.output).toMatch(/no CUDA compiler \(nvcc\) was found|CMAKE_CUDA_COMPILER/);
    expect(r.output).toContain('npx biaslearn build-cuda');
  });

  it.skipIf(!nvcc)(`with CUDACXX=${nvcc ?? '<none>'} (not on PATH) it reconfigures a CPU-configured folder for CUDA`, () => {
    const out = join(work, 'reconfigure');
    const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
    const cpu = spawnSync(process.execPath, [cmakeJs, 'configure', '--log-level', 'warn', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(cpu.status, cpu.stdout + cpu.stderr).toBe(0);
    expect(readFileSync(join(out, 'CMakeCache.txt'), 'utf8')).toMatch(/^BIASLEARN_CUDA:BOOL=OFF$/m);
    const r = buildCuda(out, { PATH: pathWithoutNvcc(), CUDACXX: nvcc }, [
      '--arch',
      '90',
      ...(cublasRoot ? ['--cublas-root', cublasRoot] : []),
    ]);
    expect(r.output).not.toContain('no CUDA compiler');
    expect(r.output).toMatch(/biaslearn: CUDA \d+\.\d+/);
    if (cublasRoot) {
      expect(r.status, r.output).toBe(0);
      expect(readFileSync(join(out, 'CMakeCache.txt'), 'utf8')).toMatch(/^BIASLEARN_CUDA:BOOL=ON$/m);
      expect(readFileSync(join(out, 'build.ninja'), 'utf8')).toMatch(/cuda_backend\.cu\.o/);
    }
  });
});
