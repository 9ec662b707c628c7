/**
 * ONNX export of feed-forward inference graphs (MLP; one task of a multi-task MLP): input `x`
 * float32 [batch, I] (symbolic batch), one Gemm (transB = 1: y = x W^T + b) per layer with the
 * layer's activation after it, output `logits` [batch, O] and `probabilities` (Softmax, axis 1).
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
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'biaslearn',
    producerVersion: libraryVersion(),
    opsetImport: [{ domain: '', version: OPSET }],
    ...(options.docString ? { docString: options.docString } : {}),
    graph: {
      name: options.graphName ?? 'biaslearn',
      node: nodes,
      initializer: inits,
      input: [valueInfo('x', ['batch', layers[0]!.in])],
      output: [valueInfo('logits', ['batch', O]), valueInfo('probabilities', ['batch', O])],
    },
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
