// binding.gyp (the node-gyp build of the same CPU sources) must keep compiling. It is built in
// a temporary copy of the sources so the main cmake-js build in build/ is left alone.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');

function findNodeGyp(): string | null {
  const candidates: string[] = [];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not a direct dependency */
  }
  const npmCli = process.env.npm_execpath;
  if (npmCli) candidates.push(join(dirname(dirname(npmCli)), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  return candidates.find((c) => existsSync(c)) ?? null;
}

const nodeGyp = findNodeGyp();

describe.skipIf(!nodeGyp)(
  `binding.gyp builds with node-gyp${nodeGyp ? '' : ' (skipped: node-gyp not found next to npm)'}`,
  () => {
    it('compiles and the module loads and trains a step', { timeout: 600_000 }, () => {
      const dir = mkdtempSync(join(tmpdir(), 'biaslearn-gyp-'));
      try {
        for (const p of ['binding.gyp', 'native', 'scripts']) cpSync(join(root, p), join(dir, p), { recursive: true });
        symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
        const r = spawnSync(process.execPath, [nodeGyp!, 'rebuild', '--jobs', '2'], { cwd: dir, encoding: 'utf8' });
        expect(r.status, `node-gyp failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
        const mod = join(dir, 'build', 'Release', 'biaslearn.node');
        const check = spawnSync(
          process.execPath,
          [
            '-e',
            `const b = require(${JSON.stringify(mod)});
           b.fillWeights('cpu', 2, 3, 1, 0, 'uniform', 1).then((w) => { if (w.length !== 6) process.exit(3); console.log(b.info().gemm); });`,
          ],
          { encoding: 'utf8' },
        );
        expect(check.status, check.stderr).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
