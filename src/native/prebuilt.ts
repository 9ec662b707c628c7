/**
 * Which compiled CPU module to load. In order:
 *   1. $BIASLEARN_BUILD_DIR/biaslearn.node (a build folder named explicitly);
 *   2. build/Release (then build/Debug): a source build (`npm install` in a clone, or an install
 *      where the prebuilt did not load or a source build was forced);
 *   3. the prebuilt binaries shipped in the package, prebuildify layout:
 *      prebuilds/<platform>-<arch>/biaslearn.<variant>.node. On x86-64 the variants are
 *      x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and x86-64-v2; the best one this CPU supports
 *      comes first, so the kernels use AVX-512 where present (run-time dispatch by module), and
 *      OpenBLAS, linked into each, dispatches its own gemm kernels. BIASLEARN_CPU_VARIANT=<variant>
 *      forces one (benchmarks, tests).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** x86-64 micro-architecture levels (psABI), best first, with the /proc/cpuinfo flags each needs. */
const X86_LEVELS: { name: string; flags: string[] }[] = [
  { name: 'x86-64-v4', flags: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'] },
  { name: 'x86-64-v3', flags: ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'] },
  { name: 'x86-64-v2', flags: ['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3'] },
];

let cpuFlags: Set<string> | undefined;

/** The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere). */
function readCpuFlags(): Set<string> {
  if (cpuFlags) return cpuFlags;
  cpuFlags = new Set();
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    for (const f of (line?.split(':')[1] ?? '').trim().split(/\s+/)) if (f) cpuFlags.add(f);
  } catch {
    // not Linux, or no /proc: only the baseline variant is tried
  }
  return cpuFlags;
}

/** The x86-64 levels this CPU runs, best first (the baseline x86-64-v2 is always tried last). */
export function supportedX86Levels(flags: Set<string> = readCpuFlags()): string[] {
  const ok = X86_LEVELS.filter((l) => l.flags.every((f) => flags.has(f))).map((l) => l.name);
  return ok.includes('x86-64-v2') ? ok : [...ok, 'x86-64-v2'];
}

/** Prebuilt binaries for this platform that this CPU can run, best first. */
export function prebuiltCandidates(root: string, env: Record<string, string | undefined> = process.env): string[] {
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => /^biaslearn\.[\w.-]+\.node$/.test(f));
  const variantOf = (f: string): string => f.slice('biaslearn.'.length, -'.node'.length);
  if (env.BIASLEARN_CPU_VARIANT) return files.filter((f) => variantOf(f) === env.BIASLEARN_CPU_VARIANT).map((f) => join(dir, f));
  const order = process.arch === 'x64' ? supportedX86Levels() : [];
  const ranked = order.flatMap((level) => files.filter((f) => variantOf(f) === level));
  const generic = files.filter((f) => !variantOf(f).startsWith('x86-64-'));
  return [...ranked, ...generic].map((f) => join(dir, f));
}

/** Every place the CPU module may be, in the order the loader tries them (see the module comment). */
export function cpuModuleCandidates(root: string, env: Record<string, string | undefined> = process.env): string[] {
  const fromEnv = env.BIASLEARN_BUILD_DIR;
  return [
    ...(fromEnv ? [join(fromEnv, 'biaslearn.node')] : []),
    join(root, 'build', 'Release', 'biaslearn.node'),
    join(root, 'build', 'Debug', 'biaslearn.node'),
    ...prebuiltCandidates(root, env),
  ];
}

/** The variant name of a prebuilt path ('x86-64-v3'), or undefined for a source build. */
export function prebuiltVariant(path: string): string | undefined {
  const m = /[/\\]prebuilds[/\\][^/\\]+[/\\]biaslearn\.([\w.-]+)\.node$/.exec(path);
  return m ? m[1] : undefined;
}
