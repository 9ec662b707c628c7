/**
 * ONNX export of feed-forward inference graphs (MLP; one task of a multi-task MLP): input `x`
 * float32 [batch, I] (symbolic batch), one Gemm (transB = 1: y = x W^T + b) per layer with the
 * layer's activation after it, output `logits` [batch, O] and `probabilities` (Softmax, axis 1);
 * and of an RNN unrolled over a fixed number of steps ({@link rnnOnnxModel}).
 * The protobuf is encoded by onnx-proto (the ONNX schema compiled by protobufjs). Opset 13.
 *
 * Activation ops: relu Relu, tanh Tanh, tanh-rational Tanh (the rational form is within a few
 * ulp of tanh), sigmoid Sigmoid, hard-sigmoid HardSigmoid(alpha 1, beta 0) = clip(z, 0, 1),
 * softplus Softplus, leaky-relu LeakyRelu(alpha 0.01), identity none.
 */
import onnxProto from 'onnx-proto';
import { ValidationError } from '../errors.js';
import { LEAKY_RELU_SLOPE, type Activation } from '../model/activation.js';
import { writeFileAtomic } from '../model/checkpoint.js';
import { libraryVersion } from '../util/package_root.js';

const { onnx } = onnxProto;

/** One dense layer: W row-major [out, in], b [out], then the activation. */
export interface DenseLayer {
  weight: Float32Array;
  bias: Float32Array;
  in: number;
  out: number;
  activation: Activation;
}

const OPSET = 13;

function tensor(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function floatAttr(name: string, f: number): onnxProto.onnx.IAttributeProto {
  return { name, f, type: onnx.AttributeProto.AttributeType.FLOAT };
}

function activationNode(a: Activation, input: string, output: string): onnxProto.onnx.INodeProto | null {
  const op: Record<Activation, [string, onnxProto.onnx.IAttributeProto[]] | null> = {
    relu: ['Relu', []],
    tanh: ['Tanh', []],
    'tanh-rational': ['Tanh', []],
    sigmoid: ['Sigmoid', []],
    'hard-sigmoid': ['HardSigmoid', [floatAttr('alpha', 1), floatAttr('beta', 0)]],
    softplus: ['Softplus', []],
    'leaky-relu': ['LeakyRelu', [floatAttr('alpha', LEAKY_RELU_SLOPE)]],
    identity: null,
  };
  const entry = op[a];
  if (entry === undefined) throw new ValidationError('E_INVALID_ARG', `no ONNX op for activation '${a}'`);
  return (
    entry && {
      opType: entry[0],
      input: [input],
      output: [output],
      attribute: entry[1],
      name: `${entry[0].toLowerCase()}_${output}`,
    }
  );
}

/** The ONNX ModelProto bytes of a stack of dense layers (see the module comment). */
export function denseOnnxModel(layers: DenseLayer[], options: { graphName?: string; docString?: string } = {}): Uint8Array {
  if (layers.length === 0) throw new ValidationError('E_INVALID_ARG', 'expected at least one layer');
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let h = 'x';
  layers.forEach((l, i) => {
    inits.push(tensor(`layers.${i}.weight`, [l.out, l.in], l.weight), tensor(`layers.${i}.bias`, [l.out], l.bias));
    const z = i === layers.length - 1 && l.activation === 'identity' ? 'logits' : `z${i}`;
    nodes.push({
      opType: 'Gemm',
      input: [h, `layers.${i}.weight`, `layers.${i}.bias`],
      output: [z],
      attribute: [{ name: 'transB', i: 1, type: onnx.AttributeProto.AttributeType.INT }],
      name: `gemm_${i}`,
    });
    const out = i === layers.length - 1 ? 'logits' : `h${i}`;
    const act = z === 'logits' ? null : activationNode(l.activation, z, out);
    if (act) nodes.push(act);
    h = out;
  });
  nodes.push({
    opType: 'Softmax',
    input: ['logits'],
    output: ['probabilities'],
    attribute: [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }],
    name: 'softmax',
  });
  const O = layers[layers.length - 1]!.out;
  const graph = { name: options.graphName ?? 'biaslearn', node: nodes, initializer: inits };
  const io = {
    input: [valueInfo('x', ['batch', layers[0]!.in])],
    output: [valueInfo('logits', ['batch', O]), valueInfo('probabilities', ['batch', O])],
  };
  return encodeModel({ ...graph, ...io }, options.docString);
}

/** The bytes of a model holding `graph` (opset OPSET, producer biaslearn). */
function encodeModel(graph: onnxProto.onnx.IGraphProto, docString?: string): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'biaslearn',
    producerVersion: libraryVersion(),
    opsetImport: [{ domain: '', version: OPSET }],
    ...(docString ? { docString } : {}),
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Writes {@link denseOnnxModel} atomically. */
export async function writeDenseOnnx(
  path: string,
  layers: DenseLayer[],
  options: { graphName?: string; docString?: string } = {},
): Promise<void> {
  await writeFileAtomic(path, Buffer.from(denseOnnxModel(layers, options)));
}

/** The tensors and constants of an RNN's unrolled graph (shapes: H hidden, I in, O out). */
export interface RnnGraph {
  /** W row-major [H, H]. */
  recurrent: Float32Array;
  /** B row-major [H, I]; absent when I = 0. */
  input?: Float32Array;
  /** A row-major [O, H]. */
  readout: Float32Array;
  /** b [H]. */
  recurrentBias: Float32Array;
  /** c [O]. */
  readoutBias: Float32Array;
  /** The initial state r0 [H] (condition 0's row), a constant of the graph unless `initialStateInput`. */
  initialState: Float32Array;
  /** Make `initial_state` [batch, H] a graph input instead (r0 of any condition, or any state). */
  initialStateInput: boolean;
  hidden: number;
  inputSize: number;
  outputSize: number;
  /** Unrolled steps T. */
  steps: number;
  decay: number;
  gain: number;
  activation: Activation;
}

/** Numerator (p) and denominator (q) coefficients of native/common/rational_tanh.h, highest power first, and its clamp. */
const RATIONAL_TANH = {
  clamp: 7.905311107635498, // 7.90531110763549805f in the header (the same double)
  p: [
    -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5,
    6.37261928875436e-4, 4.89352455891786e-3,
  ],
  q: [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3],
};

const RATIONAL_TANH_CONSTANTS: onnxProto.onnx.ITensorProto[] = [
  tensor('rtanh.lo', [], Float32Array.of(-RATIONAL_TANH.clamp)),
  tensor('rtanh.hi', [], Float32Array.of(RATIONAL_TANH.clamp)),
  ...RATIONAL_TANH.p.map((v, i) => tensor(`rtanh.p${i}`, [], Float32Array.of(v))),
  ...RATIONAL_TANH.q.map((v, i) => tensor(`rtanh.q${i}`, [], Float32Array.of(v))),
];

/**
 * 'tanh-rational' as native/common/rational_tanh.h evaluates it (ONNX has no such op):
 * x = clip(z, -c, c), p and q by Horner's rule in x^2, out = (x p) / q.
 */
function rationalTanhNodes(input: string, output: string, node: (opType: string, input: string[], output: string) => void): void {
  const x = `${input}_clip`;
  const x2 = `${input}_sq`;
  node('Clip', [input, 'rtanh.lo', 'rtanh.hi'], x);
  node('Mul', [x, x], x2);
  const horner = (name: 'p' | 'q', count: number): string => {
    let acc = `rtanh.${name}0`;
    for (let i = 1; i < count; i++) {
      node('Mul', [acc, x2], `${input}_${name}m${i}`);
      node('Add', [`${input}_${name}m${i}`, `rtanh.${name}${i}`], `${input}_${name}${i}`);
      acc = `${input}_${name}${i}`;
    }
    return acc;
  };
  const p = horner('p', RATIONAL_TANH.p.length);
  const q = horner('q', RATIONAL_TANH.q.length);
  node('Mul', [x, p], `${input}_xp`);
  node('Div', [`${input}_xp`, q], output);
}

/** Row-major [rows, cols] -> row-major [cols, rows]. */
function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

function int64Tensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

/**
 * The ONNX ModelProto bytes of an RNN unrolled over `steps` steps (open loop, as `predict`):
 *   r[t+1] = decay r[t] + gain act(W r[t] + B x[t] + b),   y[t] = A r[t+1] + c,   t = 0 .. T-1.
 * Activations as for the dense graph, except 'tanh-rational', built from Clip, Mul, Add and Div
 * exactly as the native step evaluates it. Inputs: `x` float32 [batch, T, I] (absent when I = 0) and, with `initialStateInput`,
 * `initial_state` [batch, H]; otherwise r[0] is the constant r0 of condition 0 ([1, H], broadcast
 * over the batch). Outputs: `y` [batch, T, O] and `final_state` r[T] [batch, H] (batch 1 when
 * I = 0 and r[0] is the constant).
 */
export function rnnOnnxModel(g: RnnGraph, options: { graphName?: string; docString?: string } = {}): Uint8Array {
  const { hidden: H, inputSize: I, outputSize: O, steps: T } = g;
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [
    tensor('recurrent.weight_t', [H, H], transposed(g.recurrent, H, H)),
    tensor('readout.weight_t', [H, O], transposed(g.readout, O, H)),
    tensor('recurrent.bias', [H], g.recurrentBias),
    tensor('readout.bias', [O], g.readoutBias),
    tensor('decay', [], Float32Array.of(g.decay)),
    tensor('gain', [], Float32Array.of(g.gain)),
    int64Tensor('axis_1', [1], [1]),
  ];
  const node = (opType: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []): void => {
    nodes.push({ opType, input, output: [output], attribute, name: `${opType.toLowerCase()}_${output}` });
  };
  if (!g.initialStateInput) inits.push(tensor('initial_state', [1, H], g.initialState));
  // drive [batch, T, H] = x B^T + b (once for all steps); step t gathers drive[:, t, :].
  if (I > 0) {
    if (!g.input) throw new ValidationError('E_INVALID_ARG', 'expected the input weights B for inputSize > 0');
    inits.push(tensor('input.weight_t', [I, H], transposed(g.input, H, I)));
    node('MatMul', ['x', 'input.weight_t'], 'xb');
    node('Add', ['xb', 'recurrent.bias'], 'drive');
  }
  let r = 'initial_state';
  const ys: string[] = [];
  for (let t = 0; t < T; t++) {
    let driveT = 'recurrent.bias';
    if (I > 0) {
      inits.push(int64Tensor(`t${t}`, [], [t]));
      node('Gather', ['drive', `t${t}`], `drive_${t}`, [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }]);
      driveT = `drive_${t}`;
    }
    node('MatMul', [r, 'recurrent.weight_t'], `wr_${t}`);
    node('Add', [`wr_${t}`, driveT], `z_${t}`);
    let act: boolean;
    if (g.activation === 'tanh-rational') {
      if (t === 0) inits.push(...RATIONAL_TANH_CONSTANTS);
      rationalTanhNodes(`z_${t}`, `a_${t}`, node);
      act = true;
    } else {
      const a = activationNode(g.activation, `z_${t}`, `a_${t}`);
      if (a) nodes.push(a);
      act = a !== null;
    }
    node('Mul', [r, 'decay'], `dr_${t}`);
    node('Mul', [act ? `a_${t}` : `z_${t}`, 'gain'], `ga_${t}`);
    const next = t === T - 1 ? 'final_state' : `r_${t + 1}`;
    node('Add', [`dr_${t}`, `ga_${t}`], next);
    node('MatMul', [next, 'readout.weight_t'], `ar_${t}`);
    node('Add', [`ar_${t}`, 'readout.bias'], `y_${t}`);
    node('Unsqueeze', [`y_${t}`, 'axis_1'], `y3_${t}`);
    ys.push(`y3_${t}`);
    r = next;
  }
  if (ys.length === 1) node('Identity', ys, 'y');
  else node('Concat', ys, 'y', [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }]);
  const batch = I > 0 || g.initialStateInput ? 'batch' : 1;
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  if (I > 0) inputs.push(valueInfo('x', ['batch', T, I]));
  if (g.initialStateInput) inputs.push(valueInfo('initial_state', ['batch', H]));
  const output = [valueInfo('y', [batch, T, O]), valueInfo('final_state', [batch, H])];
  return encodeModel(
    { name: options.graphName ?? 'rnn', node: nodes, initializer: inits, input: inputs, output },
    options.docString,
  );
}

/** Writes {@link rnnOnnxModel} atomically. */
export async function writeRnnOnnx(
  path: string,
  graph: RnnGraph,
  options: { graphName?: string; docString?: string } = {},
): Promise<void> {
  await writeFileAtomic(path, Buffer.from(rnnOnnxModel(graph, options)));
}
