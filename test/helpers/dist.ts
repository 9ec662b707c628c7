/** Rebuilds dist/ (ESM) and dist/cjs/ (`npm run build:ts`) when a source file is newer than its output. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function distStale(root: string): boolean {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  return walk(join(root, 'src')).some((src) => {
    const rel = relative(join(root, 'src'), src).replace(/\.ts$/, '.js');
    // src/cli is ESM only (the bin); everything else has a CommonJS twin.
    const outs = [join(root, 'dist', rel), ...(rel.startsWith('cli') ? [] : [join(root, 'dist', 'cjs', rel)])];
    return outs.some((out) => !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs);
  });
}

export function ensureDist(root: string): void {
  if (distStale(root)) execFileSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'pipe' });
}
