import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The development checkout's shared MNIST / KMNIST test sets (../shared/data/{mnist,kmnist}) are
// found through BIASLEARN_DATA, the documented data folder, unless the caller set it already.
const sharedData = resolve(import.meta.dirname, '..', 'shared', 'data');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: process.env.BIASLEARN_DATA || !existsSync(sharedData) ? {} : { BIASLEARN_DATA: sharedData },
  },
});
