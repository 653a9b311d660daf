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

/** One CU's part of a layer: its integer weights (OIHW) and bias, dequantized in the graph. */
function partConv(g: OnnxGraph, run: LoadedRun, l: ConvLayerSpec, cu: ComputeUnit, prefix: string, channels: number[],
  x: string, depthwise: boolean, tag: string): string {
  const t = partTensors(run, l, cu, prefix, channels, depthwise, tag);
  const { name, weights: w, weightScale: scale, bias: b, biasScale: bScale, dims: wDims } = t;
  const scaleDims = scale.length > 1 ? [scale.length] : [];
  let W: string, B: string;
  if (cu.weights === 'float') {
    W = g.init(`${name}.weight`, w, wDims);
    B = g.init(`${name}.bias`, b, [channels.length]);
  } else {
    // Integer storage wide enough for the CU's format: int8 up to 8 bits (and ternary),
    // int32 beyond (opset 13's DequantizeLinear takes int8, uint8 and int32; never wrapped).
    const wide = typeof cu.weights === 'number' && cu.weights > 8;
    const wi = g.init(`${name}.weight_int`, wide ? Int32Array.from(w) : Int8Array.from(w), wDims);
    const ws = g.init(`${name}.weight_scale`, scale, scaleDims);
    const wz = g.init(`${name}.weight_zero`, wide ? new Int32Array(scale.length) : new Int8Array(scale.length), scaleDims);
    W = g.node('DequantizeLinear', [wi, ws, wz], scale.length > 1 ? [int('axis', 0)] : [], `${name}.weight`);
    const bi = g.init(`${name}.bias_int`, Int32Array.from(b), [channels.length]);
    B = g.node('DequantizeLinear', [bi, g.init(`${name}.bias_scale`, Float32Array.of(bScale), []), g.init(`${name}.bias_zero`, Int32Array.of(0), [])], [], `${name}.bias`);
  }
  let input = x;
  if (depthwise) input = g.node('Gather', [x, g.init(`${name}.in_channels`, BigInt64Array.from(channels.map(BigInt)), [channels.length])], [int('axis', 1)]);
  return g.node('Conv', [input, W, B], convAttrs(l, depthwise, channels.length), name);
}

export async function exportOnnx(run: LoadedRun, file: string): Promise<{ nodes: number; initializers: number }> {
  const { spec, platform, model, assignment, plans } = run;
  const g = new OnnxGraph();
  const nchw = g.node('Transpose', ['input'], [ints('perm', [0, 3, 1, 2])], 'input_nchw');
  const last = walkModel<string>(spec, nchw, {
    layer: (l, k, input) => {
      // Per input group (activation format) of the layer's CUs, its quantized input.
      const groups = model.inputGroups(k);
      const inputs = groups.map((grp) => {
        let x = input;
        if (grp.param !== null) x = actQuant(g, grp.param, x, model.params.get(grp.param), grp.bits!);
        if (l.kind === 'fc' && l.inH * l.inW > 1) {
          // Our FC flattens NHWC (h, w, c order); ONNX tensors are NCHW.
          const hwc = g.node('Transpose', [x], [ints('perm', [0, 2, 3, 1])], `${grp.param ?? l.name}.nhwc`);
          x = g.node('Reshape', [hwc, g.init(`${grp.param ?? l.name}.flat_shape`, BigInt64Array.of(-1n, BigInt(l.cin), 1n, 1n), [4])], [], `${grp.param ?? l.name}.flatten`);
        }
        return x;
      });
      const inputOf = (cu: number) => inputs[groups.findIndex((grp) => grp.cus.includes(cu))]!;
      const plan = plans[k]!;
      const split = plan.mode === 'conv-vs-depthwise' && plan.searchable && platform.split.style === 'conv-vs-depthwise' ? platform.split : null;
      const parts: string[] = [];
      const order: number[] = [];
      for (const cu of platform.cus) {
        const channels = assignment[k]!.flatMap((c, ch) => (c === cu.index ? [ch] : []));
        if (channels.length === 0) continue;
        const convBranch = split?.conv === cu.index;
        parts.push(partConv(g, run, l, cu, convBranch ? `${l.name}.conv` : l.name, channels, inputOf(cu.index),
          l.kind === 'depthwise' && !convBranch, cu.name));
        order.push(...channels);
      }
      let y = parts.length === 1 ? parts[0]! : g.node('Concat', parts, [int('axis', 1)], `${l.name}.concat`);
      if (order.some((c, i) => c !== i)) {
        const inverse = new Array<number>(order.length);
        order.forEach((c, i) => { inverse[c] = i; });
        y = g.node('Gather', [y, g.init(`${l.name}.channel_order`, BigInt64Array.from(inverse.map(BigInt)), [inverse.length])], [int('axis', 1)], `${l.name}.ordered`);
      }
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
