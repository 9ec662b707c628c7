// What the build scripts share: the repository root, `--name value` options, and running one
// cmake-js step (configure, build, compile) in the root with inherited output.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CMAKE_JS = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');

/** The value after `--name` on the command line, or undefined. */
export function option(name, args = process.argv.slice(2)) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs `cmake-js <step> --log-level warn ...extra` in the root; returns spawnSync's result. */
export function cmakeJs(step, extra = []) {
  return spawnSync(process.execPath, [CMAKE_JS, step, '--log-level', 'warn', ...extra], { cwd: root, stdio: 'inherit' });
}
