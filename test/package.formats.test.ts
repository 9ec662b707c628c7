/**
 * `require('biaslearn')` and `import 'biaslearn'` both work (package self-reference from the repo
 * root, the same "exports" map an app sees), and both have types under moduleResolution node16,
 * nodenext and bundler (tsc on a tiny consumer in a temporary folder that links the package).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from './helpers/dist.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'biaslearn-formats-'));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

beforeAll(() => ensureDist(root), 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Trains a few steps on the embedded spirals task and prints a JSON summary. */
const TRAIN = `
  const data = spiralClassification({ n: 200, classes: 3, embed: 8, seed: 1 });
  const model = await MLP.create({ inputSize: 8, hidden: [32], outputSize: 3, train: 'bias', seed: 1 });
  const history = await model.fit(data, { epochs: 2, batchSize: 32 });
  const loss = history.last('loss');
  let typed = false;
  try { await MLP.create({ inputSize: 0, hidden: [4], outputSize: 2 }); } catch (e) { typed = e instanceof BiasLearnError && typeof e.code === 'string'; }
  console.log(JSON.stringify({ loss, typed, version: libraryVersion() }));
`;

function runNode(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CommonJS and ESM entry points', () => {
  it("require('biaslearn') loads the CommonJS build and trains", () => {
    const code = `const { MLP, BiasLearnError, spiralClassification, libraryVersion } = require('biaslearn');
      if (!require.resolve('biaslearn').includes('dist/cjs')) throw new Error('not the cjs build: ' + require.resolve('biaslearn'));
      (async () => { ${TRAIN} })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = runNode(['-e', code]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { loss: number; typed: boolean; version: string };
    expect(Number.isFinite(out.loss)).toBe(true);
    expect(out.typed).toBe(true);
    expect(out.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("import 'biaslearn' loads the ESM build and trains", () => {
    const code = `import { MLP, BiasLearnError, spiralClassification, libraryVersion } from 'biaslearn';
      if (!import.meta.resolve('biaslearn').endsWith('/dist/index.js')) throw new Error('not the esm build');
      ${TRAIN}`;
    const r = runNode(['--input-type=module', '-e', code]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { loss: number; typed: boolean };
    expect(Number.isFinite(out.loss)).toBe(true);
    expect(out.typed).toBe(true);
  });

  it('loading the library does not load the plotting stack (vega, vega-lite are imported on first render)', () => {
    const code = `require('biaslearn');
      const heavy = Object.keys(require.cache).filter((k) => /node_modules[\\/](vega|vega-lite)[\\/]|plot[\\/]render/.test(k));
      console.log(JSON.stringify(heavy));`;
    const r = runNode(['-e', code]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("require('biaslearn/plot') and require('biaslearn/package.json') resolve", () => {
    const r = runNode([
      '-e',
      "const p = require('biaslearn/plot'); console.log(typeof p.lossCurvePlot, require('biaslearn/package.json').name)",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('function biaslearn');
  });
});

describe('types for both formats', () => {
  const CONSUMER_BODY = `
  export async function run(): Promise<number> {
    const data: Dataset = spiralClassification({ n: 20, classes: 2, embed: 4, seed: 1 });
    const model: MLP = await MLP.create({ inputSize: 4, hidden: [8], outputSize: 2, train: 'bias', seed: 1 });
    const e: BiasLearnError = new BiasLearnError('E_INVALID_ARG', 'x');
    const code: string = e.code;
    return ((await model.evaluate(data)).accuracy ?? 0) + code.length;
  }
  // @ts-expect-error: no such export
  export { NoSuchThing } from 'biaslearn';
`;
  const IMPORTS = "import { MLP, BiasLearnError, spiralClassification, type Dataset } from 'biaslearn';";

  function consumer(name: string, resolution: string, files: Record<string, string>): string {
    const dir = join(work, name);
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(root, join(dir, 'node_modules', 'biaslearn'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }));
    const module = resolution === 'Bundler' ? 'ESNext' : resolution;
    const compilerOptions = {
      module,
      moduleResolution: resolution,
      target: 'ES2022',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: Object.keys(files) }));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    return dir;
  }

  for (const resolution of ['Node16', 'NodeNext', 'Bundler']) {
    it(`tsc accepts a consumer under moduleResolution ${resolution}`, () => {
      const files: Record<string, string> =
        resolution === 'Bundler'
          ? { 'app.ts': IMPORTS + CONSUMER_BODY }
          : { 'esm.mts': IMPORTS + CONSUMER_BODY, 'cjs.cts': IMPORTS + CONSUMER_BODY };
      const dir = consumer(resolution.toLowerCase(), resolution, files);
      const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    });
  }

  it('the CommonJS consumer really resolves the CommonJS declarations (a wrong call is a type error)', () => {
    const dir = consumer('wrong', 'Node16', {
      'bad.cts': `${IMPORTS}\nexport const m: Promise<MLP> = MLP.create({ inputSize: 'x' });\n`,
    });
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--traceResolution'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("'biaslearn' was successfully resolved to");
    expect(r.stdout).toMatch(/dist\/cjs\/index\.d\.ts/);
    expect(r.stdout).toMatch(/bad\.cts\(\d+,\d+\): error TS2322/);
  });
});
