// Builds the CommonJS copy of the library into dist/cjs (the ESM build in dist/ is the source of
// truth; `require('biaslearn')` resolves here through package.json "exports").
//
// src/ is ESM: the few `import.meta.url` uses are rewritten to their CommonJS equivalent in a
// temporary copy (.cjs-src/, removed afterwards), which tsc then compiles with module node16 in a
// folder whose package.json says "type": "commonjs" (module node20: ESM-only dependencies such as
// ml-kmeans load through require(esm), unflagged since Node 20.19 / 22.12; `import()` stays a real
// dynamic import, so vega and vega-lite still load on demand). The CLI (src/cli, top-level await)
// is ESM only: the `biaslearn` bin runs dist/cli/main.js.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = join(root, '.cjs-src');
const out = join(root, 'dist', 'cjs');

/** ESM-only constructs and their CommonJS equivalents (applied to every .ts file). */
const REWRITES = [
  // The module wrapper already provides `require`; redeclaring it is a SyntaxError in CommonJS.
  // (Any `const|let require = createRequire(import.meta.url)` at the start of a line.)
  [/^\s*(?:const|let) require = createRequire\(import\.meta\.url\);?[ \t]*$/gm, ''],
  [/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href"],
];

function copyRewritten(from, to) {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      if (src !== join(root, 'src', 'cli')) copyRewritten(src, dst);
    } else if (e.name.endsWith('.ts')) {
      let text = readFileSync(src, 'utf8');
      for (const [re, by] of REWRITES) text = text.replace(re, by);
      writeFileSync(dst, text);
    } else cpSync(src, dst);
  }
}

rmSync(tmp, { recursive: true, force: true });
rmSync(out, { recursive: true, force: true });
copyRewritten(join(root, 'src'), tmp);
writeFileSync(join(tmp, 'package.json'), '{ "type": "commonjs" }\n');
writeFileSync(
  join(tmp, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: '../tsconfig.json',
      compilerOptions: {
        module: 'Node20',
        moduleResolution: 'Node16',
        rootDir: '.',
        outDir: '../dist/cjs',
        noEmit: false,
        sourceMap: false,
      },
      include: ['**/*.ts'],
    },
    null,
    2,
  ),
);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(tmp, 'tsconfig.json')], { stdio: 'inherit' });
rmSync(tmp, { recursive: true, force: true });
if (r.status !== 0) process.exit(r.status ?? 1);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
