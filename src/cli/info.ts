/** `biaslearn info`: runtime facts (backends, matrix-product path, threads) and data availability. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FASHION_MNIST_DEFAULT_DIR, defaultSharedDataDir } from '../data/images.js';
import { environmentInfo, type CliContext } from './context.js';
import { println } from './io.js';

export function registerInfo(program: Command, ctx: CliContext): Command {
  return program
    .command('info')
    .description('show the runtime: version, backends, matrix-product path, threads, datasets found')
    .option('--json', 'print one JSON object instead of text')
    .action((flags: { json?: boolean }) => {
      const env = environmentInfo();
      const dirs: Record<string, string> = {
        'fashion-mnist': FASHION_MNIST_DEFAULT_DIR,
        mnist: join(defaultSharedDataDir(), 'mnist'),
        kmnist: join(defaultSharedDataDir(), 'kmnist'),
      };
      const datasets = Object.fromEntries(
        Object.entries(dirs).map(([name, dir]) => {
          const has = (p: string): boolean => existsSync(join(dir, `${p}.gz`)) || existsSync(join(dir, p));
          const splits = [has('train-images-idx3-ubyte') ? 'train' : '', has('t10k-images-idx3-ubyte') ? 'test' : ''].filter(Boolean);
          return [name, { dir, splits }];
        }),
      );
      if (flags.json) {
        println(ctx.io.stdout, JSON.stringify({ ...env, datasets }));
        return;
      }
      const out = ctx.io.stdout;
      println(out, `biaslearn ${String(env.biaslearn)} (node ${String(env.node)}, ${String(env.platform)}-${String(env.arch)})`);
      println(out, `backends: ${(env.backends as string[]).join(', ')}${(env.backends as string[]).includes('cuda') ? '' : ' (cuda not built: npm run build:cuda)'}`);
      println(out, `gemm:     ${String(env.gemm)}`);
      println(out, `threads:  ${String(env.threads)} (of ${String(env.cpuCount)} CPUs, ${String(env.cpuModel)})`);
      println(out, 'datasets:');
      for (const [name, d] of Object.entries(datasets)) {
        println(out, `  ${name.padEnd(14)} ${d.splits.length ? d.splits.join('+') : 'not found'}  ${d.dir}`);
      }
      println(out, '  spirals        embedded (generated, no files)');
    });
}
