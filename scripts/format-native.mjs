#!/usr/bin/env node
// clang-format over every C++/CUDA source under native/ (style: .clang-format; the binary comes
// pinned from the clang-format-node dev dependency, so every machine formats alike).
//   node scripts/format-native.mjs --check   list unformatted files, exit 1 if any (npm run lint)
//   node scripts/format-native.mjs           rewrite them in place (npm run format)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const SOURCE = /\.(cpp|h|cu|cuh)$/;

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return SOURCE.test(e.name) ? [p] : [];
  });
}

const { clangFormatPath: binary } = await import('clang-format-node');
const files = sources(join(root, 'native')).sort();
const args = check ? ['--dry-run', '-Werror', ...files] : ['-i', ...files];
const r = spawnSync(binary, args, { cwd: root, encoding: 'utf8' });
if (r.error) {
  console.error(`format-native: cannot run clang-format (${r.error.message}); run npm install first`);
  process.exit(2);
}
if (r.status !== 0) {
  const bad = [...new Set([...r.stderr.matchAll(/^(\S+?):\d+:\d+: error/gm)].map((m) => relative(root, m[1])))];
  console.error(`${bad.length} C++/CUDA file(s) not formatted (run \`npm run format\`):\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`${files.length} C++/CUDA files ${check ? 'formatted' : 'formatted in place'}`);
