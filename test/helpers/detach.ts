// Ways JavaScript frees a typed array's memory while a native call may still be running:
// ArrayBuffer.prototype.transfer (on Node 20 behind --harmony-rab-gsab-transfer, taken from a fresh
// context after setting the flag) and structuredClone with transfer followed by a full GC. Both
// detach the caller's buffer and release its old backing store.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--harmony-rab-gsab-transfer');
setFlagsFromString('--expose-gc');
const transferFn =
  (ArrayBuffer.prototype as { transfer?: (n?: number) => ArrayBuffer }).transfer ??
  (runInNewContext('ArrayBuffer.prototype.transfer') as (n?: number) => ArrayBuffer);
const gc = runInNewContext('gc') as () => void;

export type Detach = (a: Float32Array | Int32Array | Float64Array) => void;

export const DETACHERS: Record<string, Detach> = {
  'ArrayBuffer.prototype.transfer': (a) => void transferFn.call(a.buffer, 1),
  'structuredClone with transfer': (a) => {
    structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
    gc();
  },
};
