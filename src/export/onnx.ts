/**
 * ONNX export (opset 13) of a mapped network. Every layer is split into its per-CU
 * convolutions, concatenated and put back in channel order:
 *   x_q = Div(Floor(Mul(Relu(Min(x, clip)), s)), s)            the layer's PACT quantizer
 *   part_i = Conv(x_q[, its input channels for depthwise], DequantizeLinear(W_i:int8, scale_i), DequantizeLinear(b_i:int32, scale_b))
 *   y = Relu(Gather(Concat(part_0, part_1, ...), inverse channel order))
 * Integer weights and biases with their scales are initializers (int8 + power-of-two
 * scale for 8-bit CUs; {-1, 0, 1} + per-channel scale for ternary CUs; float for float
 * CUs). The input is NHWC in [0, 1] (transposed to NCHW inside), the output the logits.
 */
import onnxProto from 'onnx-proto';
import * as tf from '@tensorflow/tfjs-core';
import type { ComputeUnit } from '../hw/platform.js';
import { explicitPads, walkModel, type Activation, type ConvLayerSpec, type PoolSpec } from '../models/spec.js';
import { integerBias, integerWeights, pactConstants } from '../quant/quantizers.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { LoadedRun } from './load.js';

const { onnx } = onnxProto;
export type Attr = InstanceType<typeof onnx.AttributeProto>;

export class OnnxGraph {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private n = 0;

  init(name: string, data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array, dims: number[]): string {
    const dataType = data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT
      : data instanceof Int8Array ? onnx.TensorProto.DataType.INT8
        : data instanceof Uint8Array ? onnx.TensorProto.DataType.UINT8
        : data instanceof Int32Array ? onnx.TensorProto.DataType.INT32 : onnx.TensorProto.DataType.INT64;
    this.inits.push(onnx.TensorProto.create({
      name, dims, dataType, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    }));
    return name;
  }

  node(op: string, inputs: string[], attrs: Attr[] = [], name?: string): string {
    const out = name ?? `${op.toLowerCase()}_${this.n++}`;
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: [out], name: out, attribute: attrs }));
    return out;
  }
}

export const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
export const int = (name: string, v: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });

/** A layer's padding as ONNX pads [top, left, bottom, right]. */
function pads(l: ConvLayerSpec): number[] {
  const [t, b, left, r] = explicitPads(l);
  return [t, left, b, r];
}

export function act(g: OnnxGraph, a: Activation, y: string, name: string): string {
  if (a === 'relu') return g.node('Relu', [y], [], `${name}.relu`);
  if (a === 'relu6') return g.node('Clip', [y, g.init(`${name}.min`, Float32Array.of(0), []), g.init(`${name}.max`, Float32Array.of(6), [])], [], `${name}.relu6`);
  return y;
}

export function poolNode(g: OnnxGraph, p: PoolSpec, x: string): string {
  if (p.kind === 'global') return g.node('GlobalAveragePool', [x], [], p.name);
  const [t, b, l, r] = p.pad ?? [0, 0, 0, 0];
  const attrs = [ints('kernel_shape', p.k!), ints('strides', p.stride!), ints('pads', [t, l, b, r])];
  if (p.kind === 'avg') attrs.push(int('count_include_pad', p.countIncludePad ? 1 : 0));
  return g.node(p.kind === 'max' ? 'MaxPool' : 'AveragePool', [x], attrs, p.name);
}

export function actQuant(g: OnnxGraph, prefix: string, x: string, clip: tf.Tensor, bits: number): string {
  const { scale: s, clipEffective: aEff } = pactConstants(clip, bits);
  const clipN = g.init(`${prefix}.clip`, Float32Array.of(aEff), []);
  const scale = g.init(`${prefix}.scale`, Float32Array.of(s), []);
  const r = g.node('Relu', [g.node('Min', [x, clipN])]);
  return g.node('Div', [g.node('Floor', [g.node('Mul', [r, scale])]), scale], [], `${prefix}.q`);
}

/** One CU's part of a layer as integers: weights (OIHW) with their scale(s), bias with its scale. */
export interface PartTensors {
  name: string;
  format: ComputeUnit['weights'];
  dims: number[];
  /** Integer weight values (float values for a float CU). */
  weights: Float32Array;
  /** One scale, or one per output channel (ternary). */
  weightScale: Float32Array;
  /** Integer bias values at `biasScale` (float values with scale 1 for a float CU). */
  bias: Float32Array;
  biasScale: number;
}

export function partTensors(run: LoadedRun, l: ConvLayerSpec, cu: ComputeUnit, prefix: string, channels: number[],
  depthwise: boolean, tag: string): PartTensors {
  const p = run.model.params;
  let oihw!: tf.Tensor, bias!: tf.Tensor, param: tf.Tensor | null = null;
  tf.tidy(() => {
    const idx = tf.tensor1d(channels, 'int32');
    const raw = p.get(`${prefix}.w`); // HWIO, depthwise [k, k, C, 1], fc [1, 1, cin, cout]
    const hwio = depthwise ? tf.transpose(tf.gather(raw, idx, 2), [0, 1, 3, 2]) : tf.gather(tf.reshape(raw, [l.ky, l.kx, -1, l.cout]), idx, 3);
    oihw = tf.keep(tf.transpose(hwio, [3, 2, 0, 1]));
    bias = tf.keep(tf.gather(p.get(`${prefix}.b`), idx));
    if (cu.weights === 'ternary') param = tf.keep(tf.gather(p.get(`${prefix}.q.${cu.name}`), idx));
    else if (typeof cu.weights === 'number') param = tf.keep(tf.clone(p.get(`${prefix}.q.${cu.name}`)));
  });
  const dims = oihw.shape;
  const q = integerWeights(oihw, cu.weights, param, 0);
  const { values: b, scale: bScale } = cu.weights === 'float'
    ? { values: bias.dataSync() as Float32Array, scale: 1 } : integerBias(bias, p.get(`${prefix}.b`), 16);
  tf.dispose([oihw, bias, ...(param ? [param] : [])]);
  return { name: `${l.name}.${tag}`, format: cu.weights, dims, weights: q.values, weightScale: Float32Array.from(q.scale), bias: b, biasScale: bScale };
}

/** Conv attributes of a layer (a depthwise part: one group per channel). */
export function convAttrs(l: ConvLayerSpec, depthwise: boolean, channels: number): Attr[] {
  return [
    ints('kernel_shape', [l.ky, l.kx]), ints('strides', [l.stride, l.stride]), ints('pads', l.kind === 'fc' ? [0, 0, 0, 0] : pads(l)),
    ints('dilations', [l.dilation ?? 1, l.dilation ?? 1]), int('group', depthwise ? channels : 1),
  ];
}

/**
 * A part's weights as a graph input: float as they are, else the integers dequantized.
 * Integer storage is wide enough for the format: int8 up to 8 bits (and ternary), int32
 * beyond (opset 13's DequantizeLinear takes int8, uint8 and int32; never wrapped).
 */
export function weightInput(g: OnnxGraph, t: PartTensors): string {
  if (t.format === 'float') return g.init(`${t.name}.weight`, t.weights, t.dims);
  const n = t.weightScale.length, perChannel = n > 1, dims = perChannel ? [n] : [];
  const wide = typeof t.format === 'number' && t.format > 8;
  const wi = g.init(`${t.name}.weight_int`, wide ? Int32Array.from(t.weights) : Int8Array.from(t.weights), t.dims);
  const wz = g.init(`${t.name}.weight_zero`, wide ? new Int32Array(n) : new Int8Array(n), dims);
  return g.node('DequantizeLinear', [wi, g.init(`${t.name}.weight_scale`, t.weightScale, dims), wz], perChannel ? [int('axis', 0)] : [], `${t.name}.weight`);
}

/** A part's bias as the run keeps it: float, or int16 values at their own scale, dequantized. */
export function biasInput(g: OnnxGraph, t: PartTensors): string {
  const n = t.bias.length;
  if (t.format === 'float') return g.init(`${t.name}.bias`, t.bias, [n]);
  return g.node('DequantizeLinear', [g.init(`${t.name}.bias_int`, Int32Array.from(t.bias), [n]), g.init(`${t.name}.bias_scale`, Float32Array.of(t.biasScale), []),
    g.init(`${t.name}.bias_zero`, Int32Array.of(0), [])], [], `${t.name}.bias`);
}

/** A depthwise part's input: its own channels of x. */
export function depthwiseInput(g: OnnxGraph, name: string, x: string, channels: number[]): string {
  return g.node('Gather', [x, g.init(`${name}.in_channels`, BigInt64Array.from(channels.map(BigInt)), [channels.length])], [int('axis', 1)]);
}

/** An FC layer's input flattened as our FC flattens it: NHWC (h, w, c order), ONNX tensors being NCHW. */
export function flattenForFc(g: OnnxGraph, tag: string, x: string, cin: number): string {
  const hwc = g.node('Transpose', [x], [ints('perm', [0, 2, 3, 1])], `${tag}.nhwc`);
  return g.node('Reshape', [hwc, g.init(`${tag}.flat_shape`, BigInt64Array.of(-1n, BigInt(cin), 1n, 1n), [4])], [], `${tag}.flatten`);
}

/** One CU's share of layer k: its channels, the parameters' prefix, depthwise or not. */
export interface LayerPart { cu: ComputeUnit; channels: number[]; prefix: string; depthwise: boolean }

/** The per-CU parts of layer k (CUs with channels, in platform order). */
export function layerParts(run: LoadedRun, l: ConvLayerSpec, k: number): LayerPart[] {
  const { platform, assignment, plans } = run;
  const plan = plans[k]!;
  const split = plan.mode === 'conv-vs-depthwise' && plan.searchable && platform.split.style === 'conv-vs-depthwise' ? platform.split : null;
  return platform.cus.flatMap((cu) => {
    const channels = assignment[k]!.flatMap((c, ch) => (c === cu.index ? [ch] : []));
    if (channels.length === 0) return [];
    const convBranch = split?.conv === cu.index;
    return [{ cu, channels, prefix: convBranch ? `${l.name}.conv` : l.name, depthwise: l.kind === 'depthwise' && !convBranch }];
  });
}

/** The parts' outputs concatenated on channels and put back in channel order. */
export function concatInOrder(g: OnnxGraph, l: ConvLayerSpec, outputs: string[], parts: LayerPart[]): string {
  const order = parts.flatMap((p) => p.channels);
  let y = outputs.length === 1 ? outputs[0]! : g.node('Concat', outputs, [int('axis', 1)], `${l.name}.concat`);
  if (order.some((c, i) => c !== i)) {
    const inverse = new Array<number>(order.length);
    order.forEach((c, i) => { inverse[c] = i; });
    y = g.node('Gather', [y, g.init(`${l.name}.channel_order`, BigInt64Array.from(inverse.map(BigInt)), [inverse.length])], [int('axis', 1)], `${l.name}.ordered`);
  }
  return y;
}

/** One CU's part of a layer: its integer weights (OIHW) and bias, dequantized in the graph. */
function partConv(g: OnnxGraph, run: LoadedRun, l: ConvLayerSpec, part: LayerPart, x: string): string {
  const t = partTensors(run, l, part.cu, part.prefix, part.channels, part.depthwise, part.cu.name);
  const input = part.depthwise ? depthwiseInput(g, t.name, x, part.channels) : x;
  return g.node('Conv', [input, weightInput(g, t), biasInput(g, t)], convAttrs(l, part.depthwise, part.channels.length), t.name);
}

export async function exportOnnx(run: LoadedRun, file: string): Promise<{ nodes: number; initializers: number }> {
  const { spec, model } = run;
  const g = new OnnxGraph();
  const nchw = g.node('Transpose', ['input'], [ints('perm', [0, 3, 1, 2])], 'input_nchw');
  const last = walkModel<string>(spec, nchw, {
    layer: (l, k, input) => {
      // Per input group (activation format) of the layer's CUs, its quantized input.
      const groups = model.inputGroups(k);
      const inputs = groups.map((grp) => {
        let x = input;
        if (grp.param !== null) x = actQuant(g, grp.param, x, model.params.get(grp.param), grp.bits!);
        return l.kind === 'fc' && l.inH * l.inW > 1 ? flattenForFc(g, grp.param ?? l.name, x, l.cin) : x;
      });
      const inputOf = (cu: number) => inputs[groups.findIndex((grp) => grp.cus.includes(cu))]!;
      const parts = layerParts(run, l, k);
      const y = concatInOrder(g, l, parts.map((part) => partConv(g, run, l, part, inputOf(part.cu.index))), parts);
      return act(g, l.act, y, l.name);
    },
    add: (a, u, v) => (a.relu
      ? actQuant(g, `${a.name}.act`, g.node('Relu', [g.node('Add', [u, v])]), model.params.get(`${a.name}.act`), model.options.addBits ?? 7)
      : g.node('Add', [u, v], [], a.name)),
    pool: (p, x) => poolNode(g, p, x),
  });
  g.node('Flatten', [last], [int('axis', 1)], 'logits');
  return writeOnnxModel(g, run, file, 'per-CU convolutions concatenated per layer');
}

/** Writes the graph as an opset-13 model: input NHWC float in [0, 1], output 'logits'. */
export async function writeOnnxModel(g: OnnxGraph, run: LoadedRun, file: string, doc: string): Promise<{ nodes: number; initializers: number }> {
  const { spec, platform } = run;
  const [h, w, c] = spec.inputShape;  const valueInfo = (name: string, dims: (number | string)[]) => onnx.ValueInfoProto.create({
    name, type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }),
      }),
    }),
  });
  const m = onnx.ModelProto.create({
    irVersion: 7, producerName: 'hetsplit', producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: 13 }],
    docString: `${spec.name} mapped on ${platform.name}; input NHWC float in [0, 1]; ${doc}`,
    metadataProps: [{ key: 'platform', value: platform.name }, { key: 'testAccuracy', value: String(run.metrics.testAccuracy) }],
    graph: onnx.GraphProto.create({
      name: `${spec.name}-${platform.name}`, node: g.nodes, initializer: g.inits,
      input: [valueInfo('input', ['batch', h, w, c])], output: [valueInfo('logits', ['batch', spec.numClasses])],
    }),
  });
  await writeFileAtomic(file, onnx.ModelProto.encode(m).finish());
  return { nodes: g.nodes.length, initializers: g.inits.length };
}
