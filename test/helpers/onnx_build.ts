/** Builds small ONNX models for tests (graphs written by hand, as an exporter would). */
import onnxProto from 'onnx-proto';
import { Rng } from '../../src/models/rng.js';

const { onnx } = onnxProto;
type Attr = InstanceType<typeof onnx.AttributeProto>;
const A = onnx.AttributeProto.AttributeType;

export const attr = {
  ints: (name: string, v: number[]): Attr => onnx.AttributeProto.create({ name, type: A.INTS, ints: v }),
  int: (name: string, v: number): Attr => onnx.AttributeProto.create({ name, type: A.INT, i: v }),
  float: (name: string, v: number): Attr => onnx.AttributeProto.create({ name, type: A.FLOAT, f: v }),
  str: (name: string, v: string): Attr => onnx.AttributeProto.create({ name, type: A.STRING, s: Buffer.from(v) }),
};

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly extraInputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private n = 0;
  readonly rng: Rng;

  constructor(seed = 1) { this.rng = new Rng(seed); }

  init(data: Float32Array | BigInt64Array, dims: number[], name = `init_${this.n++}`): string {
    const dataType = data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64;
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) }));
    return name;
  }

  /** Random float initializer, N(0, std). */
  rand(dims: number[], std = 0.3, offset = 0): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.init(Float32Array.from({ length: n }, () => offset + std * this.rng.normal()), dims);
  }

  i64(values: number[], dims = [values.length]): string { return this.init(BigInt64Array.from(values.map(BigInt)), dims); }

  op(opType: string, inputs: string[], attrs: Attr[] = [], outputs = 1): string {
    const name = `/${opType.toLowerCase()}_${this.n++}/${opType}`;
    const out = Array.from({ length: outputs }, (_, k) => `${name}_output_${k}`);
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: out, name, attribute: attrs }));
    return out[0]!;
  }

  /** Constant node holding an int64 / float tensor. */
  constant(values: number[], dims: number[], float = false): string {
    const t = onnx.TensorProto.create({
      dims, dataType: float ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
      rawData: float ? new Uint8Array(Float32Array.from(values).buffer) : new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
    });
    return this.op('Constant', [], [onnx.AttributeProto.create({ name: 'value', type: A.TENSOR, t })]);
  }

  conv(x: string, cin: number, cout: number, k: number, o: { stride?: number; pads?: number[]; group?: number; dilation?: number; bias?: boolean } = {}): string {
    const group = o.group ?? 1;
    const w = this.rand([cout, cin / group, k, k], Math.sqrt(2 / ((cin / group) * k * k)));
    const inputs = [x, w, ...(o.bias === false ? [] : [this.rand([cout], 0.1)])];
    return this.op('Conv', inputs, [
      attr.ints('kernel_shape', [k, k]), attr.ints('strides', [o.stride ?? 1, o.stride ?? 1]),
      attr.ints('pads', o.pads ?? [0, 0, 0, 0]), attr.ints('dilations', [o.dilation ?? 1, o.dilation ?? 1]), attr.int('group', group),
    ]);
  }

  bn(x: string, c: number): string {
    return this.op('BatchNormalization', [x, this.rand([c], 0.2, 1), this.rand([c], 0.1), this.rand([c], 0.1),
      this.init(Float32Array.from({ length: c }, () => 0.5 + this.rng.next()), [c])], [attr.float('epsilon', 1e-5)]);
  }

  /** A second graph input (for error tests). */
  addInput(name: string, dims: number[]): void {
    this.extraInputs.push(valueInfo(name, dims));
  }

  build(output: string, opts: { inputDims?: (number | string)[]; opset?: number; outputDims?: (number | string)[] } = {}): Uint8Array {
    const g = onnx.GraphProto.create({
      name: 'test', node: this.nodes, initializer: this.inits,
      input: [valueInfo('input', opts.inputDims ?? ['N', 3, 12, 12]), ...this.extraInputs],
      output: [valueInfo(output, opts.outputDims ?? ['N', 10])],
    });
    const m = onnx.ModelProto.create({ irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: opts.opset ?? 13 }], graph: g });
    return onnx.ModelProto.encode(m).finish();
  }
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name, type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }),
      }),
    }),
  });
}
