/** Streams, exit codes and the error types the CLI maps to them. */

/** The part of a writable stream the CLI uses (a TTY stream also has isTTY / columns). */
export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
}

export const EXIT_OK = 0;
/** Runtime failures (a BiasLearnError: missing file, diverged training, ...). */
export const EXIT_ERROR = 1;
/** Bad command line: unknown flag or command, invalid value, conflicting flags. */
export const EXIT_USAGE = 2;
/** Stopped by SIGINT (Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

/** A usage problem found after parsing (conflicting or missing flags): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Training was interrupted by the user. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr };
}

/** Writes one line (a newline is appended). */
export function println(out: OutStream, line = ''): void {
  out.write(`${line}\n`);
}

/**
 * Runs `work` with an AbortSignal that fires on SIGINT, so a Ctrl-C stops training between native
 * chunks (and the progress bar is cleaned up) instead of killing the process mid-write.
 */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = (): void => ac.abort(new InterruptedError());
  process.once('SIGINT', onSigint);
  try {
    return await work(ac.signal);
  } catch (err) {
    if (ac.signal.aborted) throw new InterruptedError();
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
