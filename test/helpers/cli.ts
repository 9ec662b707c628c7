/** Runs the CLI in this process (runCli from src/cli/main.ts) with its output captured. */
import { type CliIO, runCli } from '../../src/cli/main.js';

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
