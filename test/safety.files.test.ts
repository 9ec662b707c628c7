/**
 * Files (issue 14, points 7 and 9): temporary files of interrupted saves are removed by the next
 * save to the same path, a save onto a symbolic link writes its target, the CLI refuses an --out
 * folder that holds files (unless --overwrite) and fails at once on an unwritable one, and `eval`
 * never opens a path or builds a size that a checkpoint's metadata names.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MLP, readCheckpoint } from '../src/index.js';
import { writeTextAtomic } from '../src/util/atomic_write.js';
import { runCliCaptured } from './helpers/cli.js';
import { joinCheckpoint, splitCheckpoint } from './helpers/checkpoint_surgery.js';

const work = mkdtempSync(join(tmpdir(), 'bl-files-safety-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The pid of a process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const smallModel = (): Promise<MLP> => MLP.create({ inputSize: 3, hidden: [4], outputSize: 2, seed: 9 });

describe('temporary files of interrupted saves', () => {
  it('the next save to the same path removes those of dead processes and its own stale ones, keeps a live process’s', async () => {
    const dir = join(work, 'temps');
    mkdirSync(dir);
    const path = join(dir, 'model.blck');
    const dead = join(dir, `.model.blck.${deadPid()}.abc123.tmp`);
    const ownStale = join(dir, `.model.blck.${process.pid}.zz9.tmp`);
    const live = join(dir, `.model.blck.${process.ppid}.live1.tmp`);
    const other = join(dir, `.other.blck.${deadPid()}.abc.tmp`);
    for (const f of [dead, ownStale, live, other]) writeFileSync(f, 'half a checkpoint');
    const model = await smallModel();
    try {
      await model.save(path);
    } finally {
      model.dispose();
    }
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(ownStale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    // What is left is never taken for a checkpoint: hidden, and not a .blck name.
    expect(readdirSync(dir).filter((f) => f.endsWith('.blck'))).toEqual(['model.blck']);
    // Text files (metrics.json) clean up the same way.
    const stale = join(dir, `.metrics.json.${deadPid()}.q1.tmp`);
    writeFileSync(stale, '{');
    await writeTextAtomic(join(dir, 'metrics.json'), '{}\n');
    expect(existsSync(stale)).toBe(false);
  });
});

describe('save onto a symbolic link', () => {
  it('writes the link’s target and keeps the link (checkpoints and text files)', async () => {
    const dir = join(work, 'links');
    mkdirSync(join(dir, 'store'), { recursive: true });
    const target = join(dir, 'store', 'real.blck');
    writeFileSync(target, 'old');
    const link = join(dir, 'model.blck');
    symlinkSync(join('store', 'real.blck'), link);
    const model = await smallModel();
    try {
      await model.save(link, { metadata: { v: 2 } });
    } finally {
      model.dispose();
    }
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(join('store', 'real.blck'));
    expect((await readCheckpoint(target)).header.metadata).toEqual({ v: 2 });
    // A dangling link: the file it names is created.
    const dangling = join(dir, 'dangling.json');
    symlinkSync(join('store', 'new.json'), dangling);
    await writeTextAtomic(dangling, '{"a":1}\n');
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'store', 'new.json'), 'utf8')).toBe('{"a":1}\n');
  });
});

describe('CLI --out', () => {
  const train = (out: string, ...more: string[]) =>
    runCliCaptured('train', '--samples', '120', '--hidden', '8', '--epochs', '1', '--quiet', '--out', out, ...more);

  it('refuses a folder that already holds files unless --overwrite; an empty or new one is fine', async () => {
    const out = join(work, 'run');
    const first = await train(out);
    expect(first.code, first.stderr).toBe(0);
    const before = readFileSync(join(out, 'model.blck'));
    const again = await train(out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[E_IO\]: .*already holds files \(.*model\.blck.*\); pass --overwrite/m);
    expect(readFileSync(join(out, 'model.blck')).equals(before)).toBe(true);
    const over = await train(out, '--overwrite', '--seed', '5');
    expect(over.code, over.stderr).toBe(0);
    expect(readFileSync(join(out, 'model.blck')).equals(before)).toBe(false);
    const empty = join(work, 'empty');
    mkdirSync(empty);
    expect((await train(empty)).code).toBe(0);
  });

  it('fails at once with E_IO on a path that cannot be written (under a file, under /proc)', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    for (const out of [join(file, 'run'), '/proc/biaslearn-no/run']) {
      const t0 = performance.now();
      const r = await train(out);
      expect(r.code, out).toBe(1);
      expect(r.stderr, out).toMatch(/^error \[E_IO\]: /m);
      expect(performance.now() - t0, out).toBeLessThan(3000);
    }
  });
});

describe('eval treats the checkpoint as data', () => {
  async function hostile(name: string, data: Record<string, unknown>): Promise<string> {
    const model = await MLP.create({ inputSize: 64, hidden: [8], outputSize: 3, seed: 2 });
    const path = join(work, `${name}.blck`);
    await model.save(path);
    model.dispose();
    const { header, data: bytes } = splitCheckpoint(readFileSync(path));
    writeFileSync(path, joinCheckpoint({ ...header, metadata: { data } }, bytes));
    return path;
  }

  it('never opens a path the metadata names: /dev/zero, a FIFO, another file', async () => {
    const secret = join(work, 'secret.txt');
    writeFileSync(secret, 'SECRET-BYTES');
    const fifo = join(work, 'fifo');
    spawnSync('mkfifo', [fifo]);
    for (const p of ['/dev/zero', fifo, secret]) {
      const path = await hostile('idx', { name: 'idx', seed: 0, testFraction: 0.2, images: p, labels: p, split: 'holdout' });
      const t0 = performance.now();
      const r = await runCliCaptured('eval', path);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/pass --images and --labels \(paths recorded in a checkpoint are never opened\)/);
      expect(r.stderr).not.toContain('SECRET');
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    // An image set's recorded folder is ignored: the data locations are searched instead.
    const path = await hostile('dir', { name: 'mnist', seed: 0, testFraction: 0.2, dir: secret, split: 'official' });
    const r = await runCliCaptured('eval', path, '--data-dir', work);
    expect(r.stderr).not.toContain(secret);
  });

  it('refuses recorded sizes out of range (2e9 samples, 1e9 features) with E_FORMAT, at once', async () => {
    for (const [samples, embed] of [
      [2e9, 64],
      [100, 1e9],
      [-5, 64],
    ]) {
      const path = await hostile('sizes', { name: 'spirals', seed: 0, testFraction: 0.2, samples, classes: 3, embed });
      const t0 = performance.now();
      const r = await runCliCaptured('eval', path);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error \[E_FORMAT\]: .*the recorded data has an invalid/m);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
  });

  it('a data file the user names must be a regular file', async () => {
    const fifo = join(work, 'fifo2');
    spawnSync('mkfifo', [fifo]);
    const path = await hostile('user', { name: 'spirals', seed: 0, testFraction: 0.2, samples: 100, classes: 3, embed: 64 });
    const r = await runCliCaptured('eval', path, '--data', 'idx', '--images', fifo, '--labels', fifo);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \[E_IO\]: .*not a regular file/m);
  });
});
