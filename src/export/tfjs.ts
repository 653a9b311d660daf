/**
 * Export of a mapped network as a TF.js graph model (model.json + weights.bin, the
 * format tf.loadGraphModel reads). Each layer's weights are the mixed, dequantized
 * weights the fine-tuned network computes with (every channel quantized by its CU's
 * quantizer); activation quantizers are explicit Minimum → Relu → Mul → Floor → RealDiv
 * nodes, so the graph computes exactly what the run's forward pass computes.
 * (The layers format cannot express the floor-based PACT quantizer without custom
 * layers, hence a graph model.)
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { explicitPads, nodeShape, walkModel, windowOut, type Activation, type ConvLayerSpec, type PoolSpec } from '../models/spec.js';
import { pactConstants } from '../quant/quantizers.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import type { LoadedRun } from './load.js';

type Attr = Record<string, unknown>;
interface GraphNode { name: string; op: string; input: string[]; attr: Attr }
interface WeightEntry { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const T_FLOAT = { type: 'DT_FLOAT' };
const ints = (v: number[]) => ({ list: { i: v.map(String) } });

class Graph {
  readonly nodes: GraphNode[] = [];
  readonly weights: WeightEntry[] = [];

  constant(name: string, data: Float32Array | Int32Array, shape: number[]): string {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } });
    this.weights.push({ name, shape, dtype, data });
    return name;
  }

  scalar(name: string, v: number): string { return this.constant(name, Float32Array.of(v), []); }

  op(name: string, op: string, input: string[], attr: Attr = {}): string {
    this.nodes.push({ name, op, input, attr: { T: T_FLOAT, ...attr } });
    return name;
  }
}

function actQuant(g: Graph, prefix: string, x: string, clip: tf.Tensor, bits: number): string {
  const { scale: s, clipEffective: aEff } = pactConstants(clip, bits);
  const a = g.op(`${prefix}/min`, 'Minimum', [x, g.scalar(`${prefix}/clip`, aEff)]);
  const r = g.op(`${prefix}/relu`, 'Relu', [a]);
  const sc = g.scalar(`${prefix}/scale`, s);
  const f = g.op(`${prefix}/floor`, 'Floor', [g.op(`${prefix}/mul`, 'Mul', [r, sc])]);
  return g.op(`${prefix}/q`, 'RealDiv', [f, sc]);
}

function conv(g: Graph, name: string, l: ConvLayerSpec, x: string, w: tf.Tensor, b: tf.Tensor, depthwise: boolean): string {
  return act(g, l.act, convPre(g, name, l, x, w, b, depthwise), name);
}

/** A per-channel layer (conv, depthwise or fc) before its activation, as NHWC. */
function preActivation(g: Graph, name: string, l: ConvLayerSpec, x: string, w: tf.Tensor, b: tf.Tensor): string {
  if (l.kind !== 'fc') return convPre(g, name, l, x, w, b, l.kind === 'depthwise');
  const flat = g.op(`${name}/flatten`, 'Reshape', [x, g.constant(`${name}/flat_shape`, Int32Array.of(-1, l.cin), [2])]);
  const wn = g.constant(`${name}/weights`, w.dataSync() as Float32Array, [l.cin, l.cout]);
  const y = g.op(`${name}/matmul`, 'MatMul', [flat, wn], { transpose_a: { b: false }, transpose_b: { b: false } });
  const yb = g.op(`${name}/add`, 'AddV2', [y, g.constant(`${name}/bias`, b.dataSync() as Float32Array, [l.cout])]);
  return g.op(`${name}/to4d`, 'Reshape', [yb, g.constant(`${name}/out_shape`, Int32Array.of(-1, 1, 1, l.cout), [4])]);
}

/** The convolution plus bias, before the layer's activation. */
function convPre(g: Graph, name: string, l: ConvLayerSpec, x: string, w: tf.Tensor, b: tf.Tensor, depthwise: boolean): string {
  const wn = g.constant(`${name}/weights`, w.dataSync() as Float32Array, w.shape);
  const bn = g.constant(`${name}/bias`, b.dataSync() as Float32Array, b.shape);
  const d = l.dilation ?? 1;
  const [t, b2, left, r] = explicitPads(l);
  const padding = Array.isArray(l.pad)
    ? { padding: { s: b64('EXPLICIT') }, explicit_paddings: ints([0, 0, t, b2, left, r, 0, 0]) }
    : { padding: { s: b64(l.pad.toUpperCase()) } };
  const attr = {
    strides: ints([1, l.stride, l.stride, 1]), ...padding, data_format: { s: b64('NHWC') }, dilations: ints([1, d, d, 1]),
  };
  const y = g.op(`${name}/conv`, depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', [x, wn], attr);
  return g.op(`${name}/add`, 'AddV2', [y, bn]);
}

function act(g: Graph, a: Activation, y: string, name: string): string {
  return a === 'relu' ? g.op(`${name}/relu`, 'Relu', [y]) : a === 'relu6' ? g.op(`${name}/relu6`, 'Relu6', [y]) : y;
}

/** Pools as the graph model computes them: padded windows explicitly, as models/forward.ts does. */
function poolOp(g: Graph, p: PoolSpec, x: string, inH: number, inW: number): string {
  if (p.kind === 'global') return g.op(p.name, 'Mean', [x, g.constant(`${p.name}/axes`, Int32Array.of(1, 2), [2])], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } });
  const [t, b, l, r] = p.pad ?? [0, 0, 0, 0];
  const padded = t + b + l + r > 0;
  const attr = { ksize: ints([1, ...p.k!, 1]), strides: ints([1, ...p.stride!, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } };
  const pads = (name: string) => g.constant(name, Int32Array.of(0, 0, t, b, l, r, 0, 0), [4, 2]);
  if (p.kind === 'max') {
    const xin = padded ? g.op(`${p.name}/pad`, 'PadV2', [x, pads(`${p.name}/pads`), g.scalar(`${p.name}/ninf`, -3.4e38)], { Tpaddings: { type: 'DT_INT32' } }) : x;
    return g.op(p.name, 'MaxPool', [xin], attr);
  }
  if (!padded) return g.op(p.name, 'AvgPool', [x], attr);
  const sum = g.op(`${p.name}/avg`, 'AvgPool', [g.op(`${p.name}/pad`, 'Pad', [x, pads(`${p.name}/pads`)], { Tpaddings: { type: 'DT_INT32' } })], attr);
  if (p.countIncludePad) return sum;
  // Average over real positions only: divide by the fraction of each window inside the input.
  const [kh, kw] = p.k!, [sh, sw] = p.stride!;
  const oh = windowOut(inH, kh, sh, t, b), ow = windowOut(inW, kw, sw, l, r);
  const frac = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const rows = Math.min(i * sh - t + kh, inH) - Math.max(i * sh - t, 0);
      const cols = Math.min(j * sw - l + kw, inW) - Math.max(j * sw - l, 0);
      frac[i * ow + j] = (rows * cols) / (kh * kw);
    }
  }
  return g.op(p.name, 'RealDiv', [sum, g.constant(`${p.name}/fraction`, frac, [1, oh, ow, 1])]);
}

export interface TfjsExport { modelJson: string; weightsBin: string; nodes: number }

export async function exportTfjs(run: LoadedRun, outDir: string): Promise<TfjsExport> {
  const { spec, model } = run;
  const g = new Graph();
  const [h, w, c] = spec.inputShape;
  g.nodes.push({
    name: 'input', op: 'Placeholder', input: [],
    attr: { dtype: T_FLOAT, shape: { shape: { dim: [{ size: '-1' }, { size: String(h) }, { size: String(w) }, { size: String(c) }] } } },
  });
  const last = walkModel<string>(spec, 'input', {
    layer: (l, k, input) => {
      const groups = model.inputGroups(k);
      const quantized = (gi: number) => {
        const grp = groups[gi]!;
        return grp.param === null ? input : actQuant(g, grp.param.replace(/\./g, '/'), input, model.params.get(grp.param), grp.bits!);
      };
      if (groups.length > 1) {
        // CUs with different input formats: per format, its quantized input through its
        // CUs' weights (the other channels' weights are zero), summed, then the activation.
        const pre = groups.map((_, gi) => {
          const m = model.materialise(k, gi);
          try {
            return preActivation(g, `${l.name}/in${gi}`, l, quantized(gi), m.w, m.b);
          } finally {
            tf.dispose([m.w, m.b]);
          }
        });
        const sum = pre.slice(1).reduce((acc, y, i) => g.op(`${l.name}/sum${i}`, 'AddV2', [acc, y]), pre[0]!);
        return act(g, l.act, sum, l.name);
      }
      const x = quantized(0);
      const m = model.materialise(k);
      try {
        if (l.kind === 'fc') return act(g, l.act, preActivation(g, l.name, l, x, m.w, m.b), l.name);
        if (m.conv) {
          const yd = conv(g, `${l.name}/dw`, l, x, m.w, m.b, true);
          const yc = conv(g, `${l.name}/conv`, l, x, m.conv.w, m.conv.b, false);
          const mask = m.conv.mask.dataSync() as Float32Array;
          const inv = Float32Array.from(mask, (v) => 1 - v);
          const a = g.op(`${l.name}/mix_conv`, 'Mul', [yc, g.constant(`${l.name}/mask`, Float32Array.from(mask), [l.cout])]);
          const bb = g.op(`${l.name}/mix_dw`, 'Mul', [yd, g.constant(`${l.name}/mask_dw`, inv, [l.cout])]);
          return g.op(`${l.name}/mix`, 'AddV2', [a, bb]);
        }
        return conv(g, l.name, l, x, m.w, m.b, l.kind === 'depthwise');
      } finally {
        tf.dispose([m.w, m.b, ...(m.conv ? [m.conv.w, m.conv.b, m.conv.mask] : [])]);
      }
    },
    add: (a, u, v) => {
      const sum = g.op(`${a.name}/sum`, 'AddV2', [u, v]);
      if (!a.relu) return sum;
      return actQuant(g, `${a.name}/act`, g.op(`${a.name}/relu`, 'Relu', [sum]), model.params.get(`${a.name}.act`), model.options.addBits ?? 7);
    },
    pool: (p, x) => { const [ih, iw] = nodeShape(spec, p.input); return poolOp(g, p, x, ih, iw); },
  });
  g.op('logits', 'Reshape', [last, g.constant('logits/shape', Int32Array.of(-1, spec.numClasses), [2])]);

  const bytes = Buffer.concat(g.weights.map((e) => Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength)));
  const modelJson = {
    format: 'graph-model', generatedBy: 'hetsplit', convertedBy: 'hetsplit export',
    modelTopology: { node: g.nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: ['weights.bin'], weights: g.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
    userDefinedMetadata: {
      hetsplit: {
        platform: run.platform.name, model: spec.name, input: 'NHWC float32 image in [0, 1] (pixels / 255, not mean/std normalised)',
        output: 'logits', metrics: run.metrics,
      },
    },
  };
  const mj = path.join(outDir, 'model.json'), wb = path.join(outDir, 'weights.bin');
  await writeFileAtomic(wb, bytes);
  await writeJsonAtomic(mj, modelJson);
  return { modelJson: mj, weightsBin: wb, nodes: g.nodes.length };
}

/**
 * Loads an exported graph model from disk with the pure-JS runtime (tf.loadGraphModel's
 * file:// handler needs tfjs-node; this is the same artifacts through a file IOHandler).
 */
export async function loadExportedGraphModel(dir: string): Promise<tf.GraphModel> {
  const mj = path.join(dir, 'model.json');
  if (!existsSync(mj)) throw new UserError(`${mj}: not found`);
  const json = JSON.parse(await fs.readFile(mj, 'utf8')) as {
    modelTopology: object; format: string; generatedBy: string; convertedBy: string;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; userDefinedMetadata?: object;
  };
  const buffers = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(dir, p))));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData,
      userDefinedMetadata: json.userDefinedMetadata as { [key: string]: {} } | undefined,
    }),
  });
}
