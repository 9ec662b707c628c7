/**
 * Typed errors. Every failure the library reports is a {@link BiasLearnError} (or a subclass)
 * with a stable string `code`, so callers can branch on `err.code` instead of parsing messages.
 */

/** Stable error codes. Native failures use the same codes (see native/common/error.h). */
export type ErrorCode =
  | 'E_INVALID_ARG' // an argument has the wrong type, range or value
  | 'E_SHAPE' // a tensor or array has the wrong length or dimensions
  | 'E_DTYPE' // a typed array of the wrong element type
  | 'E_NONFINITE' // NaN or Inf in an input
  | 'E_LABEL_RANGE' // a class label outside [0, classes)
  | 'E_EMPTY' // an empty batch or dataset
  | 'E_CONFIG' // an invalid model or training configuration
  | 'E_IO' // a file could not be read or written
  | 'E_FORMAT' // a file exists but its contents are not what was expected (bad magic, truncation, corruption)
  | 'E_CONCURRENT' // a second fit (or other exclusive call) while one is running
  | 'E_BACKEND_UNAVAILABLE' // the requested backend is not built or has no device
  | 'E_DIVERGED' // training produced a non-finite loss
  | 'E_NOT_CONVERGED' // a relaxation (energy network) did not reach its tolerance
  | 'E_DISPOSED' // the model was disposed
  | 'E_DOWNLOAD' // a dataset download failed (HTTP error, interrupted transfer, wrong size or SHA-256)
  | 'E_OOM' // an allocation failed or would exceed the machine's memory (the message names the bytes)
  | 'E_MPI_UNAVAILABLE' // distributed training asked for where the MPI module is not built or MPI cannot load
  | 'E_DISTRIBUTED' // ranks disagree (seeds, configs, data) or a collective failed
  | 'E_NATIVE'; // an unexpected failure inside native code

/** The error every biaslearn failure throws: `code` is stable (see {@link ErrorCode}), the message says what was expected. */
export class BiasLearnError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BiasLearnError';
  }
}

/** Bad arguments: shape, dtype, range, non-finite values, empty inputs, bad configuration. */
export class ValidationError extends BiasLearnError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'ValidationError';
  }
}

/** A file could not be read, written or parsed. `path` names the file. */
export class FileFormatError extends BiasLearnError {
  readonly path: string;
  constructor(code: 'E_IO' | 'E_FORMAT', path: string, message: string, options?: { cause?: unknown }) {
    super(code, `${path}: ${message}`, options);
    this.path = path;
    this.name = 'FileFormatError';
  }
}

/** The backend asked for cannot run here (not built, no device, no driver). */
export class BackendUnavailableError extends BiasLearnError {
  constructor(message: string) {
    super('E_BACKEND_UNAVAILABLE', message);
    this.name = 'BackendUnavailableError';
  }
}

/** Turns an error thrown by the native addon (which carries `code`) into the typed class. */
export function fromNativeError(err: unknown): BiasLearnError {
  if (err instanceof BiasLearnError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' && e.code.startsWith('E_') ? (e.code as ErrorCode) : 'E_NATIVE';
  if (code === 'E_BACKEND_UNAVAILABLE') return new BackendUnavailableError(message);
  if (
    code === 'E_SHAPE' ||
    code === 'E_DTYPE' ||
    code === 'E_NONFINITE' ||
    code === 'E_LABEL_RANGE' ||
    code === 'E_EMPTY' ||
    code === 'E_INVALID_ARG' ||
    code === 'E_CONFIG'
  ) {
    return new ValidationError(code, message);
  }
  return new BiasLearnError(code, message, { cause: err });
}
