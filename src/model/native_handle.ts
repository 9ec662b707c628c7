/**
 * The native half of a model (MLP, RNN, multi-task): native calls run one at a time in call
 * order (the native model owns one workspace), native errors become typed errors, and a
 * disposed handle answers E_DISPOSED. Internal.
 */
import { BiasLearnError, fromNativeError } from '../errors.js';

/** Awaits a native call and turns what it throws or rejects with into a BiasLearnError. */
export async function callNative<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (err) {
    throw fromNativeError(err);
  }
}

export class NativeHandle<H extends { dispose(): void }> {
  private handle: H | null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(handle: H) {
    this.handle = handle;
  }

  get disposed(): boolean {
    return this.handle === null;
  }

  /** The handle, or E_DISPOSED. */
  live(): H {
    if (!this.handle) throw new BiasLearnError('E_DISPOSED', 'this model was disposed');
    return this.handle;
  }

  /** Queues `fn` after every earlier call on this handle; concurrent callers wait instead of failing. */
  exclusive<T>(fn: (h: H) => Promise<T>): Promise<T> {
    const run = this.tail.then(() => callNative(() => fn(this.live())));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Frees native memory now (E_CONCURRENT while a call is running). */
  dispose(): void {
    if (!this.handle) return;
    try {
      this.handle.dispose();
    } catch (err) {
      throw fromNativeError(err);
    }
    this.handle = null;
  }
}
