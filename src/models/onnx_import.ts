/**
 * ONNX → ModelSpec + float weights. The graph is read into a small IR (conv, fc, bn,
 * relu/relu6, add, pools, pad, flatten), constant index arithmetic is folded on static
 * shapes (Shape/Gather/Unsqueeze/Concat/... as torch emits them), then canonicalised:
 * BatchNorm folded into its conv/FC, zero Pads merged into the conv/pool that follows,
 * ReLUs of non-negative values dropped, ReLUs moved into the conv/FC/add that produces
 * their input, a whole-map AveragePool read as a global pool and a 1x1 conv on a 1x1 map
 * as an FC layer. What is left must be a network our spec describes; anything else is a
 * one-line error naming the node. Weights come out in our layouts (HWIO; depthwise
 * [k, k, C, 1]; FC [1, 1, cin, cout] with rows in NHWC flatten order).
 */
import onnxProto from 'onnx-proto';
import { UserError } from '../util/errors.js';
import { buildModel, MODELS } from './zoo.js';
import {
  windowOut, type Activation, type AddSpec, type ConvLayerSpec, type ExplicitPads, type ModelSpec, type PoolSpec,
} from './spec.js';

const { onnx } = onnxProto;

/** The parts of ONNX messages the importer reads, as plain objects (protobufjs toObject with defaults). */
interface TensorProto {
  name: string; dims: number[]; dataType: number; rawData: Uint8Array; floatData: number[]; doubleData: number[];
  int64Data: number[]; int32Data: number[]; dataLocation: number; externalData: unknown[];
}
interface AttributeProto { name: string; i: number; f: number; s: Uint8Array; t: TensorProto | null; ints: number[]; floats: number[] }
interface NodeProto { name: string; opType: string; domain: string; input: string[]; output: string[]; attribute: AttributeProto[] }
interface ValueInfo { name: string; type?: { tensorType?: { elemType: number; shape?: { dim: { dimValue?: number; dimParam?: string }[] } } } }
interface ModelObject {
  producerName: string; producerVersion: string; opsetImport: { domain: string; version: number }[];
  graph?: { name: string; node: NodeProto[]; initializer: TensorProto[]; input: ValueInfo[]; output: ValueInfo[] };
}

export const SUPPORTED_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'Add', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'ReduceMean', 'Pad',
  'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Gemm', 'MatMul', 'Identity', 'Dropout',
  'Constant', 'Shape', 'Gather', 'Concat', 'Slice', 'Cast',
] as const;

export interface ImportedModel {
  spec: ModelSpec;
  /** Float parameters by name (`<layer>.w`, `<layer>.b`) in our layouts. */
  weights: Map<string, { data: Float32Array; shape: number[] }>;
  opset: number;
  producer: string;
  /** What canonicalisation did, for the user (folded BatchNorms, merged pads, ...). */
  notes: string[];
}

/** The batch dimension inside folded shape arithmetic. */
const BATCH = -7_777_777;

interface Const { kind: 'const'; dims: number[]; data: Float64Array }
/** An activation: the IR node producing it and its shape without the batch ([C, H, W] or [K]). */
interface Act { kind: 'act'; node: number; shape: number[] }
type Value = Const | Act;

type IrOp =
  | { op: 'input' }
  | { op: 'conv'; x: number; w: Float32Array; wDims: number[]; b: Float32Array; stride: number; pads: ExplicitPads; dilation: number; group: number; act: Activation }
  | { op: 'fc'; x: number; w: Float32Array; /** [K, M] */ k: number; m: number; b: Float32Array; act: Activation }
  | { op: 'bn'; x: number; scale: Float64Array; shift: Float64Array }
  | { op: 'relu' | 'relu6'; x: number }
  | { op: 'add'; a: number; b: number; relu: boolean }
  | { op: 'pool'; x: number; kind: 'max' | 'avg' | 'global'; k: [number, number]; stride: [number, number]; pads: ExplicitPads; countIncludePad: boolean }
  | { op: 'pad'; x: number; pads: ExplicitPads }
  | { op: 'flatten'; x: number }
  | { op: 'identity'; x: number };

interface IrNode { id: number; onnxName: string; opType: string; shape: number[]; op: IrOp; dead?: boolean }

const num = (v: unknown): number => Number(v);

function inputsOf(op: IrOp): number[] {
  switch (op.op) {
    case 'input': return [];
    case 'add': return [op.a, op.b];
    default: return [op.x];
  }
}

function setInputs(op: IrOp, from: number, to: number): void {
  if (op.op === 'input') return;
  if (op.op === 'add') { if (op.a === from) op.a = to; if (op.b === from) op.b = to; return; }
  if (op.x === from) op.x = to;
}

class Importer {
  readonly nodes: IrNode[] = [];
  readonly values = new Map<string, Value>();
  readonly notes: string[] = [];
  opset = 13;

  constructor(readonly file: string) {}

  fail(n: NodeProto | null, why: string): never {
    const where = n ? `node '${n.name || n.output[0] || '?'}' (${n.opType})` : 'graph';
    throw new UserError(`${this.file}: ${where}: ${why}`);
  }

  add(onnxName: string, opType: string, shape: number[], op: IrOp): Act {
    const id = this.nodes.length;
    this.nodes.push({ id, onnxName, opType, shape, op });
    return { kind: 'act', node: id, shape };
  }

  // ---- reading values ----------------------------------------------------------------

  tensor(t: TensorProto, n: NodeProto | null): Const {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
      this.fail(n, `tensor '${t.name}' is stored as external data; re-export with the weights inside the .onnx file`);
    }
    const dims = (t.dims ?? []).map(num);
    const count = dims.reduce((a, b) => a * b, 1);
    const T = onnx.TensorProto.DataType;
    const raw = t.rawData && t.rawData.byteLength > 0 ? t.rawData : null;
    const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
    const data = new Float64Array(count);
    const dt = t.dataType;
    for (let i = 0; i < count; i++) {
      if (view) {
        if (dt === T.FLOAT) data[i] = view.getFloat32(i * 4, true);
        else if (dt === T.DOUBLE) data[i] = view.getFloat64(i * 8, true);
        else if (dt === T.INT64) data[i] = Number(view.getBigInt64(i * 8, true));
        else if (dt === T.INT32) data[i] = view.getInt32(i * 4, true);
        else if (dt === T.INT8) data[i] = view.getInt8(i);
        else if (dt === T.UINT8 || dt === T.BOOL) data[i] = view.getUint8(i);
        else this.fail(n, `tensor '${t.name}' has data type ${dt}, which the importer does not read (float, double, int8/32/64, uint8, bool)`);
      } else if (dt === T.FLOAT) data[i] = t.floatData[i]!;
      else if (dt === T.DOUBLE) data[i] = t.doubleData[i]!;
      else if (dt === T.INT64) data[i] = num(t.int64Data[i]);
      else if (dt === T.INT32 || dt === T.INT8 || dt === T.UINT8 || dt === T.BOOL) data[i] = t.int32Data[i]!;
      else this.fail(n, `tensor '${t.name}' has data type ${dt}, which the importer does not read`);
    }
    return { kind: 'const', dims, data };
  }

  value(n: NodeProto, i: number): Value | null {
    const name = n.input[i];
    if (!name) return null;
    const v = this.values.get(name);
    if (!v) this.fail(n, `input '${name}' is not produced by any earlier node`);
    return v;
  }

  act(n: NodeProto, i: number): Act {
    const v = this.value(n, i);
    if (!v || v.kind !== 'act') this.fail(n, `input ${i} must be a computed tensor, not a constant`);
    return v;
  }

  konst(n: NodeProto, i: number, what: string): Const {
    const v = this.value(n, i);
    if (!v || v.kind !== 'const') this.fail(n, `${what} must be a constant (an initializer or a foldable expression)`);
    return v;
  }

  attr(n: NodeProto, name: string): AttributeProto | undefined { return n.attribute.find((a) => a.name === name); }
  int(n: NodeProto, name: string, dflt: number): number { const a = this.attr(n, name); return a ? num(a.i) : dflt; }
  float(n: NodeProto, name: string, dflt: number): number { const a = this.attr(n, name); return a ? a.f : dflt; }
  ints(n: NodeProto, name: string): number[] | null { const a = this.attr(n, name); return a ? a.ints.map(num) : null; }
  str(n: NodeProto, name: string, dflt: string): string {
    const a = this.attr(n, name);
    return a ? Buffer.from(a.s).toString('utf8') : dflt;
  }

  /** Axes from the attribute (old opsets) or the second input (new ones). */
  axesOf(n: NodeProto, inputIndex: number): number[] | null {
    const fromAttr = this.ints(n, 'axes');
    if (fromAttr) return fromAttr;
    const v = this.value(n, inputIndex);
    if (!v) return null;
    if (v.kind !== 'const') this.fail(n, 'axes must be constant');
    return [...v.data];
  }

  // ---- ops -----------------------------------------------------------------------------

  node(n: NodeProto): void {
    const out = (v: Value, k = 0) => { if (n.output[k]) this.values.set(n.output[k]!, v); };
    const allConst = n.input.filter(Boolean).every((name) => this.values.get(name)?.kind === 'const');
    switch (n.opType) {
      case 'Constant': {
        const a = n.attribute[0];
        if (!a) this.fail(n, 'no value');
        if (a.name === 'value') return out(this.tensor(a.t!, n));
        if (a.name === 'value_float') return out({ kind: 'const', dims: [], data: Float64Array.of(a.f) });
        if (a.name === 'value_int') return out({ kind: 'const', dims: [], data: Float64Array.of(num(a.i)) });
        if (a.name === 'value_floats') return out({ kind: 'const', dims: [a.floats.length], data: Float64Array.from(a.floats) });
        if (a.name === 'value_ints') return out({ kind: 'const', dims: [a.ints.length], data: Float64Array.from(a.ints.map(num)) });
        return this.fail(n, `constant of kind '${a.name}' is not supported`);
      }
      case 'Identity': case 'Dropout': case 'Cast': {
        if (n.opType === 'Dropout' && n.output[1]) this.fail(n, 'its mask output is used (only inference graphs are supported)');
        const v = this.value(n, 0)!;
        return out(v);
      }
      case 'Shape': {
        const x = this.act(n, 0);
        const full = [BATCH, ...x.shape];
        const start = this.int(n, 'start', 0), end = this.int(n, 'end', full.length);
        const s = full.slice(start < 0 ? full.length + start : start, end < 0 ? full.length + end : end);
        return out({ kind: 'const', dims: [s.length], data: Float64Array.from(s) });
      }
      case 'Gather': return out(this.gather(n, allConst));
      case 'Unsqueeze': case 'Squeeze': case 'Reshape': case 'Flatten':
        return out(this.reshape(n, allConst));
      case 'Concat': {
        if (!allConst) this.fail(n, 'concatenating computed tensors is not supported (only folded shape arithmetic)');
        const parts = n.input.map((_, i) => this.konst(n, i, 'input'));
        if (parts.some((p) => p.dims.length > 1)) this.fail(n, 'only 1-D constants can be concatenated');
        const data = Float64Array.from(parts.flatMap((p) => [...p.data]));
        return out({ kind: 'const', dims: [data.length], data });
      }
      case 'Slice': {
        if (!allConst) this.fail(n, 'slicing computed tensors is not supported (only folded shape arithmetic)');
        const d = this.konst(n, 0, 'data');
        if (d.dims.length !== 1) this.fail(n, 'only 1-D constants can be sliced');
        const st = this.konst(n, 1, 'starts').data[0]!, en = this.konst(n, 2, 'ends').data[0]!;
        const len = d.data.length;
        const clampI = (v: number) => Math.max(0, Math.min(len, v < 0 ? len + v : v));
        const data = d.data.slice(clampI(st), clampI(Math.min(en, len)));
        return out({ kind: 'const', dims: [data.length], data });
      }
      case 'Conv': return out(this.conv(n));
      case 'BatchNormalization': return out(this.batchNorm(n));
      case 'Relu': return out(this.add(n.name, n.opType, this.act(n, 0).shape, { op: 'relu', x: this.act(n, 0).node }));
      case 'Clip': return out(this.clip(n));
      case 'Add': return out(this.addOp(n));
      case 'MaxPool': case 'AveragePool': return out(this.pool(n));
      case 'GlobalAveragePool': {
        const x = this.act(n, 0);
        if (x.shape.length !== 3) this.fail(n, 'expects a 4-D input');
        return out(this.add(n.name, n.opType, [x.shape[0]!, 1, 1], { op: 'pool', x: x.node, kind: 'global', k: [x.shape[1]!, x.shape[2]!], stride: [1, 1], pads: [0, 0, 0, 0], countIncludePad: false }));
      }
      case 'ReduceMean': {
        // torch's x.mean((2, 3)): a global average pool (keepdims 0 also drops the 1x1 map).
        const x = this.act(n, 0);
        const axes = (this.axesOf(n, 1) ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
        if (x.shape.length !== 3 || axes.join() !== '2,3') this.fail(n, `only the mean over the spatial axes (2, 3) of a 4-D tensor is supported, got axes [${axes}]`);
        const g = this.add(n.name, 'GlobalAveragePool', [x.shape[0]!, 1, 1], { op: 'pool', x: x.node, kind: 'global', k: [x.shape[1]!, x.shape[2]!], stride: [1, 1], pads: [0, 0, 0, 0], countIncludePad: false });
        return out(this.int(n, 'keepdims', 1) ? g : this.add(n.name, n.opType, [x.shape[0]!], { op: 'identity', x: g.node }));
      }
      case 'Pad': return out(this.pad(n));
      case 'Gemm': case 'MatMul': return out(this.gemm(n));
      default:
        return this.fail(n, `operator ${n.opType} is not supported (supported: ${SUPPORTED_OPS.join(', ')})`);
    }
  }

  gather(n: NodeProto, allConst: boolean): Value {
    const axis = this.int(n, 'axis', 0);
    const idx = this.konst(n, 1, 'indices');
    if (allConst) {
      const d = this.konst(n, 0, 'data');
      if (d.dims.length !== 1 || axis !== 0) this.fail(n, 'only gathers from 1-D constants are folded');
      const data = Float64Array.from([...idx.data].map((i) => d.data[i < 0 ? d.data.length + i : i]!));
      return { kind: 'const', dims: idx.dims, data };
    }
    // Gathering index 0 on an axis of size 1 (torch's x[:, :, 0, 0]) removes that axis.
    const x = this.act(n, 0);
    const ax = axis < 0 ? x.shape.length + 1 + axis : axis;
    if (ax === 0) this.fail(n, 'gathering along the batch axis is not supported');
    if (idx.dims.length !== 0 || x.shape[ax - 1] !== 1 || (idx.data[0] !== 0 && idx.data[0] !== -1)) {
      this.fail(n, 'only a scalar index into an axis of size 1 (a squeeze) is supported on computed tensors');
    }
    return this.reshapeTo(n, x, x.shape.filter((_, i) => i !== ax - 1));
  }

  reshape(n: NodeProto, allConst: boolean): Value {
    const x = this.value(n, 0)!;
    if (allConst && x.kind === 'const') {
      if (n.opType === 'Unsqueeze' || n.opType === 'Squeeze' || n.opType === 'Reshape' || n.opType === 'Flatten') {
        // Shape arithmetic on constants: only the data's rank changes.
        const axes = n.opType === 'Unsqueeze' ? this.axesOf(n, 1) ?? [] : [];
        if (n.opType === 'Unsqueeze' && x.dims.length === 0 && axes.length === 1) return { kind: 'const', dims: [1], data: x.data };
        if (n.opType === 'Squeeze' && x.data.length === 1) return { kind: 'const', dims: [], data: x.data };
        if (n.opType === 'Reshape') {
          const target = [...this.konst(n, 1, 'shape').data];
          return { kind: 'const', dims: target.map((d, i) => (d === -1 ? x.data.length / target.filter((_, j) => j !== i).reduce((a, b) => a * (b || 1), 1) : d)), data: x.data };
        }
        return { kind: 'const', dims: [x.data.length], data: x.data };
      }
    }
    if (x.kind !== 'act') this.fail(n, 'input 0 must be a computed tensor');
    const full = [BATCH, ...x.shape];
    let target: number[];
    if (n.opType === 'Flatten') {
      const axis = this.int(n, 'axis', 1);
      if (axis !== 1) this.fail(n, `flatten with axis ${axis} is not supported (only axis 1)`);
      target = [x.shape.reduce((a, b) => a * b, 1)];
    } else if (n.opType === 'Squeeze') {
      const axes = (this.axesOf(n, 1) ?? full.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a < 0 ? full.length + a : a));
      if (axes.includes(0)) this.fail(n, 'squeezing the batch axis is not supported');
      if (axes.some((a) => full[a] !== 1)) this.fail(n, 'squeezes an axis whose size is not 1');
      target = x.shape.filter((_, i) => !axes.includes(i + 1));
    } else if (n.opType === 'Unsqueeze') {
      const axes = this.axesOf(n, 1) ?? [];
      const rank = full.length + axes.length;
      const norm = axes.map((a) => (a < 0 ? rank + a : a));
      if (norm.includes(0)) this.fail(n, 'unsqueezing before the batch axis is not supported');
      const res: number[] = [];
      let src = 1;
      for (let i = 1; i < rank; i++) res.push(norm.includes(i) ? 1 : full[src++]!);
      target = res;
    } else {
      const t = [...this.konst(n, 1, 'shape').data];
      if (this.int(n, 'allowzero', 0) === 1 && t.includes(0)) this.fail(n, 'allowzero reshapes are not supported');
      const dims = t.map((d, i) => (d === 0 ? full[i]! : d));
      if (dims[0] !== BATCH && dims[0] !== -1) this.fail(n, 'a reshape must keep the batch axis first');
      const rest = dims.slice(1);
      const total = x.shape.reduce((a, b) => a * b, 1);
      const known = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      if (rest.filter((d) => d === -1).length > (dims[0] === -1 ? 0 : 1)) this.fail(n, 'the target shape leaves more than one size open');
      target = rest.map((d) => (d === -1 ? total / known : d));
      if (rest.some((d) => d === BATCH)) this.fail(n, 'the batch size moves to another axis');
    }
    return this.reshapeTo(n, x, target);
  }

  /** A reshape of an activation: free when it keeps NHWC order, a flatten of a map otherwise. */
  reshapeTo(n: NodeProto, x: Act, target: number[]): Act {
    const total = x.shape.reduce((a, b) => a * b, 1);
    if (target.reduce((a, b) => a * b, 1) !== total || target.some((d) => !Number.isInteger(d) || d < 1)) {
      this.fail(n, `cannot reshape [${x.shape}] to [${target}]`);
    }
    const spatial = x.shape.length === 3 ? x.shape[1]! * x.shape[2]! : 1;
    const mapTarget = target.length === 3 && target[1]! * target[2]! > 1;
    if (spatial === 1 && !mapTarget) {
      // [C,1,1] <-> [C] <-> [C,1]: the same memory order in NCHW and NHWC.
      return this.add(n.name, n.opType, target, { op: 'identity', x: x.node });
    }
    if (mapTarget) {
      if (target.join() !== x.shape.join()) this.fail(n, `reshaping [${x.shape}] to a map [${target}] is not supported`);
      return x;
    }
    if (target.length !== 1) this.fail(n, `reshape of a [${x.shape}] map to [${target}] is not supported (only a flatten to [N, ${total}])`);
    return this.add(n.name, n.opType, [total], { op: 'flatten', x: x.node });
  }

  /** Padding from auto_pad / pads for a k×k window with stride s and dilation d. */
  windowPads(n: NodeProto, x: Act, k: [number, number], s: [number, number], d: [number, number]): ExplicitPads {
    const auto = this.str(n, 'auto_pad', 'NOTSET');
    if (auto === 'NOTSET') {
      const p = this.ints(n, 'pads') ?? [0, 0, 0, 0];
      if (p.length !== 4) this.fail(n, `pads ${JSON.stringify(p)}: expected 4 values for a 2-D window`);
      if (p.some((v) => v < 0)) this.fail(n, 'negative pads are not supported');
      return [p[0]!, p[2]!, p[1]!, p[3]!];
    }
    if (auto === 'VALID') return [0, 0, 0, 0];
    if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') this.fail(n, `auto_pad ${auto} is not supported`);
    const total = (i: 0 | 1) => {
      const size = x.shape[i + 1]!;
      const o = Math.ceil(size / s[i]);
      return Math.max((o - 1) * s[i] + d[i] * (k[i] - 1) + 1 - size, 0);
    };
    const split = (t: number): [number, number] => (auto === 'SAME_UPPER' ? [Math.floor(t / 2), t - Math.floor(t / 2)] : [t - Math.floor(t / 2), Math.floor(t / 2)]);
    const [t, b] = split(total(0)), [l, r] = split(total(1));
    return [t, b, l, r];
  }

  conv(n: NodeProto): Act {
    const x = this.act(n, 0);
    if (x.shape.length !== 3) this.fail(n, 'expects a 4-D input (2-D convolution)');
    const w = this.konst(n, 1, 'the weight');
    if (w.dims.length !== 4) this.fail(n, `weight of rank ${w.dims.length}: only 2-D convolutions are supported`);
    const [cout, cinPerGroup, ky, kx] = w.dims as [number, number, number, number];
    const cin = x.shape[0]!;
    const group = this.int(n, 'group', 1);
    if (!(group === 1 || (group === cin && group === cout && cinPerGroup === 1))) {
      this.fail(n, `groups = ${group} with ${cin} input and ${cout} output channels: only groups = 1 or depthwise (groups = in = out channels) are supported`);
    }
    if (cinPerGroup * group !== cin) this.fail(n, `weight expects ${cinPerGroup * group} input channels, the input has ${cin}`);
    const strides = this.ints(n, 'strides') ?? [1, 1];
    const dil = this.ints(n, 'dilations') ?? [1, 1];
    if (strides[0] !== strides[1]) this.fail(n, `strides ${JSON.stringify(strides)}: only equal strides on both axes are supported`);
    if (dil[0] !== dil[1]) this.fail(n, `dilations ${JSON.stringify(dil)}: only equal dilations on both axes are supported`);
    if (strides[0]! > 1 && dil[0]! > 1) this.fail(n, 'a stride and a dilation both above 1 are not supported');
    const pads = this.windowPads(n, x, [ky, kx], [strides[0]!, strides[1]!], [dil[0]!, dil[1]!]);
    const b = this.value(n, 2);
    if (b && b.kind !== 'const') this.fail(n, 'the bias must be a constant');
    const h = windowOut(x.shape[1]!, ky, strides[0]!, pads[0], pads[1], dil[0]!);
    const wo = windowOut(x.shape[2]!, kx, strides[1]!, pads[2], pads[3], dil[1]!);
    if (h < 1 || wo < 1) this.fail(n, `output would be ${h}x${wo}`);
    return this.add(n.name, n.opType, [cout, h, wo], {
      op: 'conv', x: x.node, w: Float32Array.from(w.data), wDims: w.dims, b: b ? Float32Array.from((b as Const).data) : new Float32Array(cout),
      stride: strides[0]!, pads, dilation: dil[0]!, group, act: 'none',
    });
  }

  batchNorm(n: NodeProto): Act {
    const x = this.act(n, 0);
    if (this.int(n, 'training_mode', 0) !== 0 || n.output.filter(Boolean).length > 1) this.fail(n, 'training-mode BatchNormalization is not supported (export in eval mode)');
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => this.konst(n, i, ['scale', 'bias', 'mean', 'var'][i - 1]!).data);
    const eps = this.float(n, 'epsilon', 1e-5);
    const c = x.shape[0]!;
    if (gamma!.length !== c) this.fail(n, `${gamma!.length} scales for ${c} channels`);
    const scale = new Float64Array(c), shift = new Float64Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = gamma![i]! / Math.sqrt(variance![i]! + eps);
      shift[i] = beta![i]! - mean![i]! * scale[i]!;
    }
    return this.add(n.name, n.opType, x.shape, { op: 'bn', x: x.node, scale, shift });
  }

  clip(n: NodeProto): Act {
    const x = this.act(n, 0);
    let lo: number, hi: number;
    if (this.opset < 11) { lo = this.float(n, 'min', -Infinity); hi = this.float(n, 'max', Infinity); } else {
      const a = this.value(n, 1), b = this.value(n, 2);
      if ((a && a.kind !== 'const') || (b && b.kind !== 'const')) this.fail(n, 'min and max must be constants');
      lo = a ? (a as Const).data[0]! : -Infinity;
      hi = b ? (b as Const).data[0]! : Infinity;
    }
    if (lo === 0 && hi === 6) return this.add(n.name, n.opType, x.shape, { op: 'relu6', x: x.node });
    if (lo === 0 && hi === Infinity) return this.add(n.name, n.opType, x.shape, { op: 'relu', x: x.node });
    return this.fail(n, `Clip(${lo}, ${hi}) is not supported (only Clip(0, 6), i.e. ReLU6, and Clip(0), i.e. ReLU)`);
  }

  addOp(n: NodeProto): Act {
    const a = this.value(n, 0)!, b = this.value(n, 1)!;
    if (a.kind === 'act' && b.kind === 'act') {
      if (a.shape.join() !== b.shape.join()) this.fail(n, `adds tensors of shapes [${a.shape}] and [${b.shape}] (broadcasting adds are not supported)`);
      return this.add(n.name, n.opType, a.shape, { op: 'add', a: a.node, b: b.node, relu: false });
    }
    // A constant added to a conv/FC output (MatMul + Add, a separate bias): fold it into the bias.
    const x = (a.kind === 'act' ? a : b) as Act, c = (a.kind === 'const' ? a : b) as Const;
    const prod = this.nodes[x.node]!;
    const channels = x.shape[0]!;
    const perChannel = c.data.length === channels && (x.shape.length === 1 ? c.dims[c.dims.length - 1] === channels
      : c.dims.length >= 3 && c.dims[c.dims.length - 3] === channels);
    if ((prod.op.op === 'conv' || prod.op.op === 'fc') && prod.op.act === 'none' && (perChannel || c.data.length === 1) && this.consumers(x.node) === 0) {
      for (let i = 0; i < channels; i++) prod.op.b[i]! += c.data[c.data.length === 1 ? 0 : i]!;
      return x;
    }
    return this.fail(n, 'adding a constant is supported only as the bias of the Conv/Gemm/MatMul right before it');
  }

  /** Number of IR nodes that read node `id` so far. */
  consumers(id: number): number {
    return this.nodes.filter((m) => !m.dead && inputsOf(m.op).includes(id)).length;
  }

  pool(n: NodeProto): Act {
    const x = this.act(n, 0);
    if (x.shape.length !== 3) this.fail(n, 'expects a 4-D input');
    if (n.output.filter(Boolean).length > 1) this.fail(n, 'the indices output of MaxPool is not supported');
    const k = this.ints(n, 'kernel_shape');
    if (!k || k.length !== 2) this.fail(n, 'needs a 2-D kernel_shape');
    const s = this.ints(n, 'strides') ?? [1, 1];
    const d = this.ints(n, 'dilations') ?? [1, 1];
    if (d.some((v) => v !== 1)) this.fail(n, 'dilated pooling is not supported');
    if (this.int(n, 'ceil_mode', 0) !== 0) this.fail(n, 'ceil_mode = 1 is not supported');
    const pads = this.windowPads(n, x, [k[0]!, k[1]!], [s[0]!, s[1]!], [1, 1]);
    const h = windowOut(x.shape[1]!, k[0]!, s[0]!, pads[0], pads[1]), w = windowOut(x.shape[2]!, k[1]!, s[1]!, pads[2], pads[3]);
    const kind = n.opType === 'MaxPool' ? 'max' as const : 'avg' as const;
    return this.add(n.name, n.opType, [x.shape[0]!, h, w], {
      op: 'pool', x: x.node, kind, k: [k[0]!, k[1]!], stride: [s[0]!, s[1]!], pads,
      countIncludePad: kind === 'avg' && this.int(n, 'count_include_pad', 0) === 1,
    });
  }

  pad(n: NodeProto): Value {
    const x = this.act(n, 0);
    const mode = this.str(n, 'mode', 'constant');
    if (mode !== 'constant') this.fail(n, `pad mode '${mode}' is not supported (only constant zero padding)`);
    const p = this.opset < 11 ? this.ints(n, 'pads') ?? [] : [...this.konst(n, 1, 'pads').data];
    const cv = this.opset < 11 ? this.float(n, 'value', 0) : (this.value(n, 2) as Const | null)?.data[0] ?? 0;
    if (cv !== 0) this.fail(n, `padding with ${cv} is not supported (only zeros)`);
    if (n.input[3]) this.fail(n, 'the axes input of Pad is not supported');
    if (p.length !== 8 || x.shape.length !== 3) this.fail(n, 'only 4-D pads are supported');
    if (p[0] || p[1] || p[4] || p[5]) this.fail(n, 'padding the batch or channel axis is not supported');
    if (p.some((v) => v < 0)) this.fail(n, 'negative pads (crops) are not supported');
    const pads: ExplicitPads = [p[2]!, p[6]!, p[3]!, p[7]!];
    if (pads.every((v) => v === 0)) return x;
    return this.add(n.name, n.opType, [x.shape[0]!, x.shape[1]! + pads[0] + pads[1], x.shape[2]! + pads[2] + pads[3]], { op: 'pad', x: x.node, pads });
  }

  gemm(n: NodeProto): Act {
    const x = this.act(n, 0);
    if (x.shape.length !== 1) this.fail(n, `expects a 2-D input [N, K], got [N, ${x.shape}] (flatten first)`);
    if (n.opType === 'Gemm' && this.int(n, 'transA', 0) !== 0) this.fail(n, 'transA = 1 is not supported');
    const w = this.konst(n, 1, 'the weight');
    if (w.dims.length !== 2) this.fail(n, 'the weight must be 2-D');
    const transB = n.opType === 'Gemm' ? this.int(n, 'transB', 0) : 0;
    const alpha = n.opType === 'Gemm' ? this.float(n, 'alpha', 1) : 1, beta = n.opType === 'Gemm' ? this.float(n, 'beta', 1) : 1;
    const [k, m] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    if (k !== x.shape[0]) this.fail(n, `weight expects ${k} inputs, the input has ${x.shape[0]}`);
    const wkm = new Float32Array(k * m);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) wkm[i * m + j] = alpha * w.data[transB ? j * k + i : i * m + j]!;
    const b = new Float32Array(m);
    const c = n.opType === 'Gemm' ? this.value(n, 2) : null;
    if (c) {
      if (c.kind !== 'const') this.fail(n, 'the bias C must be a constant');
      if (c.data.length !== m && c.data.length !== 1) this.fail(n, `bias of ${c.data.length} values for ${m} outputs`);
      for (let j = 0; j < m; j++) b[j] = beta * c.data[c.data.length === 1 ? 0 : j]!;
    }
    return this.add(n.name, n.opType, [m], { op: 'fc', x: x.node, w: wkm, k, m, b, act: 'none' });
  }
}

// ---- canonicalisation ---------------------------------------------------------------------

function liveConsumers(nodes: IrNode[], id: number): IrNode[] {
  return nodes.filter((m) => !m.dead && inputsOf(m.op).includes(id));
}

/** Rewires every reader of `from` to `to` and removes `from`. */
function bypass(nodes: IrNode[], from: IrNode, to: number, outputs: number[]): void {
  for (const m of nodes) if (!m.dead) setInputs(m.op, from.id, to);
  for (let i = 0; i < outputs.length; i++) if (outputs[i] === from.id) outputs[i] = to;
  from.dead = true;
}

function nonNegative(nodes: IrNode[], id: number, inputNonNegative: boolean): boolean {
  const op = nodes[id]!.op;
  switch (op.op) {
    case 'input': return inputNonNegative;
    case 'relu': case 'relu6': return true;
    case 'conv': case 'fc': return op.act !== 'none';
    case 'add': return op.relu || (nonNegative(nodes, op.a, inputNonNegative) && nonNegative(nodes, op.b, inputNonNegative));
    case 'pool': case 'pad': case 'flatten': case 'identity': return nonNegative(nodes, op.x, inputNonNegative);
    case 'bn': return false;
  }
}

function canonicalise(im: Importer, out: number[], inputNonNegative: boolean): void {
  const nodes = im.nodes;
  const count = { bn: 0, pad: 0, relu: 0 };
  let changed = true;
  while (changed) {
    changed = false;
    for (const n of nodes) {
      if (n.dead) continue;
      const op = n.op;
      if (op.op === 'identity') { bypass(nodes, n, op.x, out); changed = true; continue; }
      if (op.op === 'bn') {
        const p = nodes[op.x]!;
        if ((p.op.op !== 'conv' && p.op.op !== 'fc') || p.op.act !== 'none' || liveConsumers(nodes, p.id).length !== 1) continue;
        foldBn(p.op, op.scale, op.shift);
        bypass(nodes, n, p.id, out); count.bn++; changed = true; continue;
      }
      if (op.op === 'relu' || op.op === 'relu6') {
        // ReLU of a value that is never negative (and ReLU6 of a ReLU6): the identity.
        const src = nodes[op.x]!;
        const srcAct = src.op.op === 'relu6' || ((src.op.op === 'conv' || src.op.op === 'fc') && src.op.act === 'relu6') ? 'relu6' : null;
        if ((op.op === 'relu' && nonNegative(nodes, op.x, inputNonNegative)) || (op.op === 'relu6' && srcAct === 'relu6')) {
          bypass(nodes, n, op.x, out); count.relu++; changed = true; continue;
        }
        // The same activation applied by several readers: one node.
        const twin = liveConsumers(nodes, op.x).find((m) => m.id !== n.id && m.op.op === op.op);
        if (twin) { bypass(nodes, n, twin.id, out); changed = true; continue; }
        // Move it into its producer when every reader of the producer applies it.
        if (liveConsumers(nodes, op.x).length === 1 && !out.includes(op.x)) {
          if ((src.op.op === 'conv' || src.op.op === 'fc') && src.op.act === 'none') {
            src.op.act = op.op; bypass(nodes, n, src.id, out); changed = true; continue;
          }
          if (src.op.op === 'add' && !src.op.relu && op.op === 'relu') {
            src.op.relu = true; bypass(nodes, n, src.id, out); changed = true; continue;
          }
        }
        continue;
      }
      if (op.op === 'pad') {
        const readers = liveConsumers(nodes, n.id);
        const mergeable = (m: IrNode) => m.op.op === 'conv' ||
          (m.op.op === 'pool' && m.op.kind === 'avg' && (m.op.countIncludePad || m.op.pads.every((v) => v === 0))) ||
          (m.op.op === 'pool' && m.op.kind === 'max' && nonNegative(nodes, op.x, inputNonNegative));
        if (readers.length === 0 || !readers.every(mergeable) || out.includes(n.id)) continue;
        for (const m of readers) {
          const r = m.op as Extract<IrOp, { op: 'conv' | 'pool' }>;
          r.pads = r.pads.map((v, i) => v + op.pads[i]!) as ExplicitPads;
          if (r.op === 'pool' && r.kind === 'avg') r.countIncludePad = true;
        }
        bypass(nodes, n, op.x, out); count.pad++; changed = true; continue;
      }
    }
  }
  if (count.bn) im.notes.push(`folded ${count.bn} BatchNormalization node(s) into the preceding Conv/Gemm`);
  if (count.pad) im.notes.push(`merged ${count.pad} Pad node(s) into the following Conv/pool`);
  if (count.relu) im.notes.push(`dropped ${count.relu} ReLU(s) of values that are never negative`);
}

function foldBn(op: Extract<IrOp, { op: 'conv' | 'fc' }>, scale: Float64Array, shift: Float64Array): void {
  if (op.op === 'conv') {
    const per = op.w.length / scale.length; // OIHW: output channel is the outer axis
    for (let o = 0; o < scale.length; o++) for (let j = 0; j < per; j++) op.w[o * per + j]! *= scale[o]!;
  } else {
    for (let i = 0; i < op.k; i++) for (let j = 0; j < op.m; j++) op.w[i * op.m + j]! *= scale[j]!;
  }
  for (let o = 0; o < scale.length; o++) op.b[o] = op.b[o]! * scale[o]! + shift[o]!;
}

// ---- emitting the spec --------------------------------------------------------------------

function sanitize(onnxName: string, opType: string): string {
  const parts = onnxName.replace(/^\/+/, '').split('/').filter(Boolean);
  if (parts.length > 1 && parts[parts.length - 1]!.replace(/_\d+$/, '') === opType) parts.pop();
  return parts.join('.').replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+|\.+$/g, '');
}

function emit(im: Importer, out: number, name: string, inputShape: [number, number, number]): { spec: ModelSpec; weights: ImportedModel['weights'] } {
  const nodes = im.nodes;
  // Only what the output depends on.
  const live = new Set<number>();
  const visit = (id: number) => { if (live.has(id)) return; live.add(id); inputsOf(nodes[id]!.op).forEach(visit); };
  visit(out);
  const names = new Map<number, string>([[0, 'input']]);
  const used = new Set<string>(['input']);
  const weights: ImportedModel['weights'] = new Map();
  const layers: ConvLayerSpec[] = [], adds: AddSpec[] = [], pools: PoolSpec[] = [], order: string[] = [];
  /** Node id → its value's source node and (for flattened maps) the map it came from. */
  const flatOf = new Map<number, { src: number; shape: number[] }>();
  const ref = (id: number): number => flatOf.get(id)?.src ?? id;
  const nameOf = (n: IrNode, fallback: string) => {
    let base = sanitize(n.onnxName, n.opType) || `${fallback}${order.length}`;
    if (used.has(base)) { let i = 2; while (used.has(`${base}_${i}`)) i++; base = `${base}_${i}`; }
    used.add(base);
    names.set(n.id, base);
    order.push(base);
    return base;
  };
  for (const n of nodes) {
    if (!live.has(n.id) || n.op.op === 'input') continue;
    const op = n.op;
    const shapeOf = (id: number) => nodes[ref(id)]!.shape;
    switch (op.op) {
      case 'flatten': flatOf.set(n.id, { src: ref(op.x), shape: shapeOf(op.x) }); continue;
      case 'relu': case 'relu6':
        im.fail(null, `the ${n.opType} node '${n.onnxName}' reads a value that is also used without it, which our layers cannot express`);
      // eslint-disable-next-line no-fallthrough
      case 'bn':
        im.fail(null, `the BatchNormalization node '${n.onnxName}' does not follow a Conv/Gemm whose output only it reads, so it cannot be folded`);
      // eslint-disable-next-line no-fallthrough
      case 'pad':
        im.fail(null, `the Pad node '${n.onnxName}' is not followed only by Conv/pool nodes it can merge into`);
      // eslint-disable-next-line no-fallthrough
      case 'conv': case 'fc': {
        const src = ref(op.x);
        const inShape = flatOf.get(op.x)?.shape ?? shapeOf(op.x);
        const [c, ih, iw] = inShape.length === 3 ? inShape as [number, number, number] : [inShape[0]!, 1, 1];
        const isFc = op.op === 'fc' || (op.wDims[2] === 1 && op.wDims[3] === 1 && ih === 1 && iw === 1 && op.group === 1);
        const lname = nameOf(n, isFc ? 'fc' : 'conv');
        if (isFc) {
          const cin = c * ih * iw;
          const cout = op.op === 'fc' ? op.m : op.wDims[0]!;
          // Our FC reads the NHWC-flattened input (h, w, c); ONNX flattens NCHW (c, h, w).
          const w = new Float32Array(cin * cout);
          for (let ch = 0; ch < c; ch++) {
            for (let p = 0; p < ih * iw; p++) {
              const onnxRow = ch * ih * iw + p, ourRow = p * c + ch;
              for (let j = 0; j < cout; j++) w[ourRow * cout + j] = op.op === 'fc' ? op.w[onnxRow * cout + j]! : op.w[j * cin + onnxRow]!;
            }
          }
          weights.set(`${lname}.w`, { data: w, shape: [1, 1, cin, cout] });
          weights.set(`${lname}.b`, { data: Float32Array.from(op.b), shape: [cout] });
          layers.push({ name: lname, kind: 'fc', cin, cout, kx: 1, ky: 1, h: 1, w: 1, stride: 1, groups: 1, inH: ih, inW: iw, pad: 'valid', bn: false, act: op.act, input: names.get(src)! });
        } else {
          const [cout, cpg, ky, kx] = op.wDims as [number, number, number, number];
          const depthwise = op.group > 1;
          const hwio = new Float32Array(op.w.length);
          const outC = depthwise ? 1 : cout;
          for (let o = 0; o < cout; o++) {
            for (let i = 0; i < cpg; i++) {
              for (let y = 0; y < ky; y++) {
                for (let x = 0; x < kx; x++) {
                  const v = op.w[((o * cpg + i) * ky + y) * kx + x]!;
                  // HWIO; depthwise [k, k, C, 1] with the channel in the I slot.
                  const ii = depthwise ? o : i, oo = depthwise ? 0 : o;
                  hwio[((y * kx + x) * (depthwise ? cout : cpg) + ii) * outC + oo] = v;
                }
              }
            }
          }
          weights.set(`${lname}.w`, { data: hwio, shape: [ky, kx, depthwise ? cout : cpg, outC] });
          weights.set(`${lname}.b`, { data: Float32Array.from(op.b), shape: [cout] });
          const [, h, w] = n.shape as [number, number, number];
          layers.push({
            name: lname, kind: depthwise ? 'depthwise' : 'conv', cin: c, cout, kx, ky, h, w, stride: op.stride, groups: op.group,
            inH: ih, inW: iw, pad: op.pads.every((v) => v === 0) ? 'valid' : op.pads, ...(op.dilation > 1 ? { dilation: op.dilation } : {}),
            bn: false, act: op.act, input: names.get(src)!,
          });
        }
        continue;
      }
      case 'add': {
        if (flatOf.has(op.a) || flatOf.has(op.b)) im.fail(null, `the Add node '${n.onnxName}' adds flattened tensors`);
        adds.push({ name: nameOf(n, 'add'), a: names.get(op.a)!, b: names.get(op.b)!, relu: op.relu });
        continue;
      }
      case 'pool': {
        if (flatOf.has(op.x)) im.fail(null, `the pool node '${n.onnxName}' reads a flattened tensor`);
        const [, ih, iw] = shapeOf(op.x) as [number, number, number];
        const whole = op.kind === 'global' || (op.kind === 'avg' && op.k[0] === ih && op.k[1] === iw && op.pads.every((v) => v === 0));
        const pname = nameOf(n, 'pool');
        pools.push(whole ? { name: pname, input: names.get(op.x)!, kind: 'global' }
          : { name: pname, input: names.get(op.x)!, kind: op.kind as 'max' | 'avg', k: op.k, stride: op.stride, pad: op.pads, countIncludePad: op.countIncludePad });
        continue;
      }
    }
  }
  const last = nodes[ref(out)]!;
  if (last.op.op === 'input' || order[order.length - 1] !== names.get(last.id)) im.fail(null, 'the graph output is not its last computed node');
  const final = last.op.op === 'fc' || last.op.op === 'conv' ? layers.find((l) => l.name === names.get(last.id))! : null;
  if (!final || final.h * final.w !== 1) im.fail(null, 'the graph must end in a classifier (Gemm/MatMul, or a 1x1 Conv on a 1x1 map) giving [N, classes]');
  return { spec: { name, inputShape, numClasses: final.cout, layers, adds, pools, order }, weights };
}

/**
 * The built-in model with this structure (layer geometry, activations, adds and pools,
 * node for node), renaming the spec's nodes to the built-in's names; null if none.
 */
function matchBuiltin(spec: ModelSpec): { name: string; rename: Map<string, string> } | null {
  for (const name of Object.keys(MODELS)) {
    const b = buildModel(name, spec.numClasses);
    if (b.order.length !== spec.order.length || b.layers.length !== spec.layers.length) continue;
    const rename = new Map<string, string>([['input', 'input']]);
    spec.order.forEach((n, i) => rename.set(n, b.order[i]!));
    const geo = (l: ConvLayerSpec) => [l.kind, l.cin, l.cout, l.kx, l.ky, l.h, l.w, l.stride, l.groups, l.inH, l.inW, l.act].join();
    const ok = spec.layers.every((l, k) => {
      const bl = b.layers[k]!;
      return bl.name === rename.get(l.name) && geo(bl) === geo(l) && bl.input === rename.get(l.input);
    }) && spec.adds.every((a, k) => {
      const ba = b.adds[k];
      return ba && ba.name === rename.get(a.name) && ba.relu === a.relu &&
        [ba.a, ba.b].sort().join() === [rename.get(a.a), rename.get(a.b)].sort().join();
    }) && spec.adds.length === b.adds.length && spec.pools.length === b.pools.length && spec.pools.every((p, k) => {
      const bp = b.pools[k]!;
      return bp.name === rename.get(p.name) && bp.kind === p.kind && bp.input === rename.get(p.input);
    });
    if (ok) return { name, rename };
  }
  return null;
}

function renamed(spec: ModelSpec, weights: ImportedModel['weights'], m: { name: string; rename: Map<string, string> }): { spec: ModelSpec; weights: ImportedModel['weights'] } {
  const r = (n: string) => m.rename.get(n)!;
  const w = new Map([...weights].map(([k, v]) => {
    const dot = k.lastIndexOf('.');
    return [`${r(k.slice(0, dot))}${k.slice(dot)}`, v];
  }));
  return {
    spec: {
      ...spec, matches: m.name, order: spec.order.map(r),
      layers: spec.layers.map((l) => ({ ...l, name: r(l.name), input: r(l.input) })),
      adds: spec.adds.map((a) => ({ ...a, name: r(a.name), a: r(a.a), b: r(a.b) })),
      pools: spec.pools.map((p) => ({ ...p, name: r(p.name), input: r(p.input) })),
    },
    weights: w,
  };
}

export interface ImportOptions {
  /** The spec's name (default: the graph's name). */
  name?: string;
  /** The network input is never negative (pixels scaled, not mean/std-normalised). */
  inputNonNegative: boolean;
}

/** Reads an ONNX model (bytes of a .onnx file) into a spec and float weights. */
export function importOnnx(bytes: Uint8Array, file: string, opts: ImportOptions): ImportedModel {
  let model: ModelObject;
  try {
    model = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, defaults: true, arrays: true }) as unknown as ModelObject;
  } catch (e) {
    throw new UserError(`${file}: not an ONNX model (${(e as Error).message})`);
  }
  const g = model.graph;
  if (!g || g.node.length === 0) throw new UserError(`${file}: not an ONNX model (no graph)`);
  const im = new Importer(file);
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  im.opset = opset ? num(opset.version) : 13;
  if (im.opset < 11 || im.opset > 18) throw new UserError(`${file}: opset ${im.opset}: supported opsets are 11 to 18`);
  for (const t of g.initializer) im.values.set(t.name, im.tensor(t, null));
  const inputs = g.input.filter((i) => !im.values.has(i.name));
  if (inputs.length !== 1) throw new UserError(`${file}: the graph has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); expected one image input`);
  const input = inputs[0]!;
  const tt = input.type?.tensorType;
  const dims = tt?.shape?.dim?.map((d) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null)) ?? [];
  if (!tt || tt.elemType !== onnx.TensorProto.DataType.FLOAT || dims.length !== 4 || dims.slice(1).some((d) => d === null)) {
    throw new UserError(`${file}: input '${input.name}' must be a float image [N, C, H, W] with static C, H, W, got ${tt ? `[${dims.map((d) => d ?? '?')}] of type ${tt.elemType}` : 'no tensor type'}`);
  }
  const [c, h, w] = dims.slice(1) as [number, number, number];
  im.values.set(input.name, im.add('input', 'Input', [c, h, w], { op: 'input' }));
  if (g.output.length !== 1) throw new UserError(`${file}: the graph has ${g.output.length} outputs; expected one (the logits)`);
  for (const n of g.node) {
    if (n.domain && n.domain !== 'ai.onnx') im.fail(n, `operator of domain '${n.domain}' is not supported (only the default ONNX domain)`);
    im.node(n);
  }
  const outValue = im.values.get(g.output[0]!.name);
  if (!outValue || outValue.kind !== 'act') throw new UserError(`${file}: the output '${g.output[0]!.name}' is not computed from the input`);
  const outs = [outValue.node];
  canonicalise(im, outs, opts.inputNonNegative);
  const name = opts.name ?? (g.name || 'imported');
  let r = emit(im, outs[0]!, name, [h, w, c]);
  const match = matchBuiltin(r.spec);
  if (match) {
    r = renamed(r.spec, r.weights, match);
    im.notes.push(`the graph has the structure of the built-in model ${match.name}; its layers take that model's names`);
  }
  return { spec: r.spec, weights: r.weights, opset: im.opset, producer: `${model.producerName} ${model.producerVersion}`.trim(), notes: im.notes };
}
