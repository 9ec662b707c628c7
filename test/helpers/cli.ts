/** Runs the CLI with its output captured: in this process (runCli) or as the compiled command. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliIO, runCli } from '../../src/cli/main.js';

/** The repository root and the compiled command (node dist/cli/main.js; see ensureDist in ./dist.ts). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliMain = join(repoRoot, 'dist', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `biaslearn ...argv` in process: the exit code and everything written to stdout and stderr. */
export async function runCliCaptured(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** `node dist/cli/main.js ...args` as a child process in `cwd`; the exit code is 1 when it dies without one. */
export function runCliProcess(args: string[], cwd: string, timeout = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliMain, ...args],
      { cwd, timeout, env: { ...process.env, BIASLEARN_DEBUG: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
