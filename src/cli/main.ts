#!/usr/bin/env node
/**
 * The `biaslearn` command: parse, dispatch to a subcommand, map errors to exit codes
 * (0 ok, 1 runtime error, 2 usage error, 130 interrupted). Subcommands live one per file.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { BiasLearnError } from '../errors.js';
import { libraryVersion } from '../util/package_root.js';
import type { CliContext } from './context.js';
import { registerEval } from './eval.js';
import { registerInfo } from './info.js';
import { EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, InterruptedError, UsageError, processIO, type CliIO } from './io.js';
import { registerSweep } from './sweep.js';
import { registerTrain } from './train.js';
import { registerMultitask } from './multitask.js';
import { registerAnalyze } from './analyze.js';
import { registerRnn } from './rnn.js';
import { registerContrastive } from './contrastive.js';
import { registerData } from './data_command.js';
import { registerBuildCuda } from './build_cuda.js';
import { registerReport } from './report.js';
import { registerDynamics } from './dynamics.js';
import { distributedIO } from './distributed.js';

export { EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';

/** Commander's multi-line errors ("error: unknown option '--x'\n(Did you mean --y?)") as one line with a help hint. */
function configureErrors(cmd: Command, io: CliIO): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: (s, write) => {
      const name = cmd.parent ? `biaslearn ${cmd.name()}` : 'biaslearn';
      write(`${s.trim().replace(/\s*\n\s*/g, ' ')} (see '${name} --help')\n`);
    },
  });
}

export function buildProgram(io: CliIO): Command {
  const ctx: CliContext = { io };
  const program = new Command('biaslearn')
    .description(
      'Bias learning: neural networks with random frozen weights where only the biases learn (Williams et al., ICLR 2025).',
    )
    .version(libraryVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 runtime error ("error [CODE]: ..."), 2 usage error, 130 interrupted.
Run 'biaslearn <command> --help' for a command's flags.`,
    );
  configureErrors(program, io);
  for (const register of [
    registerTrain,
    registerEval,
    registerSweep,
    registerInfo,
    registerMultitask,
    registerAnalyze,
    registerRnn,
    registerContrastive,
    registerData,
    registerBuildCuda,
    registerReport,
    registerDynamics,
  ]) {
    const sub = register(program, ctx);
    configureErrors(sub, io);
  }
  return program;
}

/**
 * Runs the CLI on `argv` (the user's arguments, without node and the script) and resolves to the
 * exit code. Never throws for user errors: they are printed to io.stderr as one line.
 */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end with exit code 0; everything else commander reports is a usage error.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof InterruptedError) {
      io.stderr.write('interrupted (SIGINT)\n');
      return EXIT_INTERRUPTED;
    }
    if (err instanceof BiasLearnError) {
      io.stderr.write(`error [${err.code}]: ${err.message}\n`);
      return EXIT_ERROR;
    }
    // An unexpected failure: still one line, with the stack only when asked for.
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`error: ${message}\n`);
    if (process.env.BIASLEARN_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return EXIT_ERROR;
  }
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // `biaslearn ... | head`: a closed pipe ends the program quietly instead of with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
      throw err;
    });
  }
  process.exitCode = await runCli(process.argv.slice(2), await distributedIO());
}
