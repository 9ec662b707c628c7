/**
 * `model.export(path, { format })` and `importSafetensors` for the three model kinds.
 *
 * safetensors names (what an equivalent PyTorch module calls its parameters):
 * - MLP: `nn.Sequential(nn.Linear(I, H0), act, nn.Linear(H0, H1), act, ..., nn.Linear(Hk, O))`,
 *   so layer l is `{2l}.weight` [out, in] and `{2l}.bias` [out] (the activation modules sit at
 *   the odd indices and hold no tensors). Activations: relu nn.ReLU, tanh and tanh-rational
 *   nn.Tanh, sigmoid nn.Sigmoid, hard-sigmoid nn.Hardtanh(0, 1), softplus nn.Softplus,
 *   leaky-relu nn.LeakyReLU(0.01), identity nn.Identity.
 * - RNN: its own tensor names, `recurrent.weight` W [m, m], `input.weight` B [m, I],
 *   `readout.weight` A [O, m], `recurrent.bias` b [m], `readout.bias` c [O], `initial_state`
 *   r0 [C, m], `feedback.weight` F [m, O] (RFLO's); r' = decay r + gain act(W r + B x + b), y = A r' + c.
 * - Multi-task MLP: `layers.{l}.weight` [H_l, H_{l-1}], `layers.{l}.bias` [K, H_l] (one row per task),
 *   `readout.weight` [R, H], `readout.bias` [K, R], `layers.{l}.gate` (mask mode) [K, H_l]; task k's
 *   logits are the readout rows of its classes (per-task readout: offsets in task order).
 * Metadata (`__metadata__`): `format` 'biaslearn', `kind`, `config` (the resolved configuration, JSON).
 *
 * ONNX: the inference graph (src/io/onnx.ts) of an MLP, or of one task of a multi-task MLP
 * (`task` option; 'bias' and 'full' modes), or of an RNN unrolled over `steps` steps (open loop,
 * as `predict`; input `x` [batch, T, I] (none when I = 0); r[0] is condition 0's r0, or with
 * `initialStateInput` the input `initial_state` [batch, H]; outputs `y` [batch, T, O] and
 * `final_state` [batch, H]). Activation ops as for the MLP (src/io/onnx.ts).
 */
import { ValidationError } from '../errors.js';
import type { MLP } from '../model/mlp.js';
import type { MultitaskModel } from '../multitask/model.js';
import type { RNN } from '../rnn/rnn.js';
import { describe, expectInt, expectOneOf, expectModel } from '../util/validate.js';
import { writeDenseOnnx, writeRnnOnnx, type DenseLayer, type RnnGraph } from './onnx.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from './safetensors.js';

/** The formats of `model.export`. */
export const EXPORT_FORMATS = ['safetensors', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Options of `model.export`. */
export interface ExportOptions {
  format: ExportFormat;
  /** Multi-task ONNX: the task whose graph is exported (name). */
  task?: string;
  /** RNN ONNX (required there): the number of steps T the graph is unrolled over (x is [batch, T, I]). */
  steps?: number;
  /** RNN ONNX: make `initial_state` [batch, H] a graph input (default false: r[0] is condition 0's r0, a constant). */
  initialStateInput?: boolean;
}

export type AnyModel = MLP | RNN | MultitaskModel;

function kindOf(m: AnyModel): 'mlp' | 'rnn' | 'multitask-mlp' {
  return m.config.kind;
}

/** The MLP's tensors under PyTorch nn.Sequential names. */
export async function mlpTorchTensors(m: MLP): Promise<Record<string, NamedTensor>> {
  const out: Record<string, NamedTensor> = {};
  for (let l = 0; l < m.config.layers.length; l++) {
    const c = m.config.layers[l]!;
    out[`${2 * l}.weight`] = { data: await m.weights(l), shape: [c.out, c.in] };
    out[`${2 * l}.bias`] = { data: await m.biases(l), shape: [c.out] };
  }
  return out;
}

async function rnnTensors(m: RNN): Promise<Record<string, NamedTensor>> {
  const out: Record<string, NamedTensor> = {};
  for (const t of m.tensors())
    out[t.name] = {
      data: await m.tensor(t.name),
      shape: t.rows === 1 && !t.name.includes('weight') && t.name !== 'initial_state' ? [t.cols] : [t.rows, t.cols],
    };
  return out;
}

function multitaskNames(m: MultitaskModel): string[] {
  const names = m.config.hidden.flatMap((_, l) => [`layers.${l}.weight`, `layers.${l}.bias`]);
  names.push('readout.weight', 'readout.bias');
  for (const t of m.learnedTensors()) if (!names.includes(t.name)) names.push(t.name);
  return names;
}

function multitaskShape(m: MultitaskModel, name: string, size: number): number[] {
  const c = m.config;
  const K = c.tasks.length;
  const sizes = [c.inputSize, ...c.hidden];
  const w = /^layers\.(\d+)\.weight$/.exec(name);
  if (w) return [sizes[Number(w[1]) + 1]!, sizes[Number(w[1])]!];
  if (name === 'readout.weight') return [size / c.hidden[c.hidden.length - 1]!, c.hidden[c.hidden.length - 1]!];
  return size % K === 0 ? [K, size / K] : [size];
}

async function multitaskTensors(m: MultitaskModel): Promise<Record<string, NamedTensor>> {
  const out: Record<string, NamedTensor> = {};
  for (const name of multitaskNames(m)) {
    const data = await m.tensor(name);
    out[name] = { data, shape: multitaskShape(m, name, data.length) };
  }
  return out;
}

/** Every tensor of a model under its safetensors name (see the module comment). */
export async function exportTensors(m: AnyModel): Promise<Record<string, NamedTensor>> {
  expectModel('model', m, ['mlp', 'rnn', 'multitask-mlp']);
  const kind = kindOf(m);
  if (kind === 'mlp') return mlpTorchTensors(m as MLP);
  if (kind === 'rnn') return rnnTensors(m as RNN);
  return multitaskTensors(m as MultitaskModel);
}

/** The learned tensor's native name for a safetensors name (MLP: `{2l}.bias` -> `layers.{l}.bias`). */
function nativeName(kind: string, name: string): string {
  if (kind !== 'mlp') return name;
  const m = /^(\d+)\.(weight|bias)$/.exec(name);
  return m && Number(m[1]) % 2 === 0 ? `layers.${Number(m[1]) / 2}.${m[2]}` : name;
}

/** The dense layers of task `task` of a multi-task MLP ('bias' or 'full' mode). */
async function multitaskLayers(m: MultitaskModel, task: string | undefined): Promise<DenseLayer[]> {
  const c = m.config;
  if (c.train === 'mask')
    throw new ValidationError(
      'E_CONFIG',
      'ONNX export of mask-mode multi-task models is not supported (export safetensors instead)',
    );
  if (typeof task !== 'string')
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected options.task (one of ${m.taskNames.join(', ')}) for the ONNX export of a multi-task model`,
    );
  const k = m.taskNames.indexOf(task);
  if (k < 0) throw new ValidationError('E_INVALID_ARG', `unknown task '${task}'; tasks: ${m.taskNames.join(', ')}`);
  const sizes = [c.inputSize, ...c.hidden];
  const layers: DenseLayer[] = [];
  for (let l = 0; l < c.hidden.length; l++) {
    const H = sizes[l + 1]!;
    const bias = await m.tensor(`layers.${l}.bias`);
    const row = bias.length === H ? bias : bias.slice(k * H, (k + 1) * H);
    layers.push({ weight: await m.tensor(`layers.${l}.weight`), bias: row, in: sizes[l]!, out: H, activation: c.activation });
  }
  const H = c.hidden[c.hidden.length - 1]!;
  const W = await m.tensor('readout.weight');
  const R = W.length / H;
  const classes = c.tasks.map((t) => t.classes);
  const off = c.readout === 'shared' ? 0 : classes.slice(0, k).reduce((a, b) => a + b, 0);
  const C = classes[k]!;
  const rb = await m.tensor('readout.bias');
  const rbRow = rb.length === R ? rb : rb.subarray(k * R, (k + 1) * R);
  layers.push({
    weight: W.slice(off * H, (off + C) * H),
    bias: rbRow.slice(off, off + C),
    in: H,
    out: C,
    activation: 'identity',
  });
  return layers;
}

async function mlpLayers(m: MLP): Promise<DenseLayer[]> {
  const layers: DenseLayer[] = [];
  for (let l = 0; l < m.config.layers.length; l++) {
    const c = m.config.layers[l]!;
    layers.push({ weight: await m.weights(l), bias: await m.biases(l), in: c.in, out: c.out, activation: c.activation });
  }
  return layers;
}

/** The RNN's tensors and constants for an unrolled ONNX graph of `steps` steps. */
async function rnnGraph(m: RNN, steps: number | undefined, initialStateInput: boolean): Promise<RnnGraph> {
  if (steps === undefined)
    throw new ValidationError(
      'E_CONFIG',
      'ONNX export of an RNN unrolls it over a fixed number of steps: pass options.steps (e.g. { format: "onnx", steps: 50 })',
    );
  const T = expectInt('steps', steps, 1);
  const c = m.config;
  const H = c.hidden;
  const r0 = await m.tensor('initial_state');
  return {
    recurrent: await m.tensor('recurrent.weight'),
    ...(c.inputSize > 0 ? { input: await m.tensor('input.weight') } : {}),
    readout: await m.tensor('readout.weight'),
    recurrentBias: await m.tensor('recurrent.bias'),
    readoutBias: await m.tensor('readout.bias'),
    initialState: r0.slice(0, H),
    initialStateInput,
    hidden: H,
    inputSize: c.inputSize,
    outputSize: c.outputSize,
    steps: T,
    decay: c.decay,
    gain: c.gain,
    activation: c.activation,
  };
}

/** `model.export(path, options)` of every model kind. */
export async function exportModel(m: AnyModel, path: string, options: ExportOptions): Promise<void> {
  if (typeof path !== 'string' || path === '')
    throw new ValidationError('E_INVALID_ARG', `expected a file path, got ${describe(path)}`);
  const format = expectOneOf('format', options?.format, EXPORT_FORMATS);
  const kind = kindOf(m);
  if (format === 'safetensors') {
    await writeSafetensors(path, await exportTensors(m), { format: 'biaslearn', kind, config: JSON.stringify(m.config) });
    return;
  }
  if (kind === 'rnn') {
    await writeRnnOnnx(path, await rnnGraph(m as RNN, options.steps, options.initialStateInput ?? false), {
      graphName: 'rnn',
      docString: `biaslearn rnn, seed ${m.config.seed}`,
    });
    return;
  }
  const layers = kind === 'mlp' ? await mlpLayers(m as MLP) : await multitaskLayers(m as MultitaskModel, options.task);
  await writeDenseOnnx(path, layers, {
    graphName: kind === 'mlp' ? 'mlp' : `multitask-${options.task}`,
    docString: `biaslearn ${kind}, seed ${m.config.seed}`,
  });
}

/**
 * Sets a model's learned tensors from a safetensors file written by `export` (or by PyTorch under
 * the same names). Every learned tensor must be present with the right size; the file's frozen
 * tensors, when present, must equal the model's bit for bit (else E_CONFIG: another seed or
 * configuration). Names the model does not know are E_FORMAT.
 */
export async function importSafetensors(m: AnyModel, path: string): Promise<void> {
  const { tensors } = await readSafetensors(path);
  const kind = kindOf(m);
  const learned = new Map(m.learnedTensors().map((t) => [t.name, t.size]));
  const mine = await exportTensors(m);
  const values: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.data instanceof Float32Array))
      throw new ValidationError('E_DTYPE', `tensor ${name} of ${path} is ${t.dtype}, expected F32`);
    const native = nativeName(kind, name);
    if (learned.has(native)) {
      values[native] = t.data;
      continue;
    }
    const own = mine[name];
    if (!own) throw new ValidationError('E_FORMAT', `tensor ${name} of ${path} is not a tensor of this ${kind} model`);
    const same =
      own.data.length === t.data.length &&
      Buffer.from(own.data.buffer, own.data.byteOffset, own.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      );
    if (!same)
      throw new ValidationError(
        'E_CONFIG',
        `frozen tensor ${name} of ${path} differs from this model's (another seed or configuration?)`,
      );
  }
  const missing = [...learned.keys()].filter((n) => !(n in values));
  if (missing.length) throw new ValidationError('E_FORMAT', `${path} lacks the learned tensors ${missing.join(', ')}`);
  await m.setLearned(values);
}
