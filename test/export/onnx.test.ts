import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

const { onnx } = onnxProto;
type Model = InstanceType<typeof onnx.ModelProto>;

/** Initializer → tensor (float32 for every numeric type; int64 as int32). */
function initTensor(t: InstanceType<typeof onnx.TensorProto>): tf.Tensor {
  const dims = (t.dims ?? []).map(Number);
  const raw = t.rawData!;
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const T = onnx.TensorProto.DataType;
  const data = t.dataType === T.FLOAT ? new Float32Array(buf) : t.dataType === T.INT8 ? Float32Array.from(new Int8Array(buf))
    : t.dataType === T.INT32 ? Float32Array.from(new Int32Array(buf)) : Int32Array.from(new BigInt64Array(buf), Number);
  return tf.tensor(data, dims, data instanceof Int32Array ? 'int32' : 'float32');
}

/** A small interpreter for the ops the exporter emits, written independently with TF.js ops. */
function run(model: Model, input: tf.Tensor): tf.Tensor {
  const env = new Map<string, tf.Tensor>([['input', input]]);
  for (const t of model.graph!.initializer!) env.set(t.name!, initTensor(t));
  const attr = (n: InstanceType<typeof onnx.NodeProto>, name: string) => n.attribute!.find((a) => a.name === name);
  for (const n of model.graph!.node!) {
    const i = n.input!.map((x) => { const v = env.get(x); if (!v) throw new Error(`${n.name}: input ${x} undefined`); return v; });
    let y: tf.Tensor;
    switch (n.opType) {
      case 'Transpose': y = tf.transpose(i[0]!, attr(n, 'perm')!.ints!.map(Number)); break;
      case 'Min': y = tf.minimum(i[0]!, i[1]!); break;
      case 'Relu': y = tf.relu(i[0]!); break;
      case 'Mul': y = tf.mul(i[0]!, i[1]!); break;
      case 'Div': y = tf.div(i[0]!, i[1]!); break;
      case 'Floor': y = tf.floor(i[0]!); break;
      case 'Add': y = tf.add(i[0]!, i[1]!); break;
      case 'DequantizeLinear': {
        const axis = attr(n, 'axis');
        const shape = i[0]!.shape.map((d, k) => (k === (axis ? Number(axis.i) : -1) ? d : 1));
        y = tf.mul(tf.sub(i[0]!, axis ? tf.reshape(i[2]!, shape) : i[2]!), axis ? tf.reshape(i[1]!, shape) : i[1]!);
        break;
      }
      case 'Gather': y = tf.gather(i[0]!, i[1]!, Number(attr(n, 'axis')!.i)); break;
      case 'Concat': y = tf.concat(i, Number(attr(n, 'axis')!.i)); break;
      case 'GlobalAveragePool': y = tf.mean(i[0]!, [2, 3], true); break;
      case 'Flatten': y = tf.reshape(i[0]!, [i[0]!.shape[0]!, -1]); break;
      case 'Conv': {
        const [t, l, b, r] = attr(n, 'pads')!.ints!.map(Number);
        const s = attr(n, 'strides')!.ints!.map(Number);
        const group = Number(attr(n, 'group')!.i);
        const x = tf.pad(tf.transpose(i[0]!, [0, 2, 3, 1]), [[0, 0], [t!, b!], [l!, r!], [0, 0]]) as tf.Tensor4D;
        const w = i[1]!;
        const out = group === 1
          ? tf.conv2d(x, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, [s[0]!, s[1]!], 'valid')
          : tf.depthwiseConv2d(x, tf.transpose(w, [2, 3, 0, 1]) as tf.Tensor4D, [s[0]!, s[1]!], 'valid');
        y = tf.transpose(tf.add(out, i[2]!), [0, 3, 1, 2]);
        break;
      }
      default: throw new Error(`unexpected op ${n.opType}`);
    }
    env.set(n.output![0]!, y);
  }
  return env.get(model.graph!.output![0]!.name!)!;
}

let dataRoot = '';
beforeAll(async () => {
  await initEngine('wasm');
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 64);
});

describe('hetsplit export --format onnx', () => {
  // diana-riscv: three CUs, two input formats (7-bit accelerators, an 8-bit core) on one layer
  it.each([['diana', 'tinycnn'], ['darkside', 'tinycnn'], ['diana-riscv', 'tinycnn']])('%s/%s: structurally valid, per-CU convs, computes what the run computes', async (platform, model) => {
    const dir = path.join(tmpDir(), 'run');
    const t = await cli('train', '--platform', platform, '--model', model, '--data', dataRoot, '--batch', '32', '--val-size', '64',
      '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '1', '--lr-alpha', '0.2', '--lambda', '1', '--out', dir);
    expect(t.code, t.stderr).toBe(0);
    const out = path.join(tmpDir(), 'onnx');
    expect((await cli('export', dir, '--format', 'onnx', '--out', out)).code).toBe(0);
    const m = onnx.ModelProto.decode(readFileSync(path.join(out, 'model.onnx')));
    // structure: opset, every input defined before use, one graph output
    expect(Number(m.opsetImport![0]!.version)).toBe(13);
    const defined = new Set<string>(['input', ...m.graph!.initializer!.map((x) => x.name!)]);
    for (const n of m.graph!.node!) {
      for (const x of n.input!) expect(defined.has(x), `${n.name} reads ${x}`).toBe(true);
      for (const o of n.output!) defined.add(o);
    }
    expect(m.graph!.output!.map((o) => o.name)).toEqual(['logits']);
    for (const init of m.graph!.initializer!) {
      const size = (init.dims ?? []).map(Number).reduce((a, b) => a * b, 1);
      const bytes = { 1: 4, 3: 1, 6: 4, 7: 8 }[init.dataType as 1 | 3 | 6 | 7];
      expect(init.rawData!.byteLength, init.name!).toBe(size * bytes);
    }
    const r = await loadRun(dir);
    // one Conv per (layer, CU with channels)
    const convs = m.graph!.node!.filter((n) => n.opType === 'Conv').length;
    expect(convs).toBe(r.assignment.reduce((s, cus) => s + new Set(cus).size, 0));
    // numerics: the interpreter's logits match the run's forward pass
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const idx = Int32Array.from({ length: data.test.n }, (_, i) => i);
    let agree = 0, maxRel = 0;
    for (const b of epochBatches(data.test, idx, { batchSize: 64, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      tf.tidy(() => {
        const a = run(m, b.x), ref = r.model.forward(b.x, 1).logits;
        maxRel = Math.max(maxRel, tf.max(tf.abs(tf.sub(a, ref))).dataSync()[0]! / Math.max(1e-6, tf.max(tf.abs(ref)).dataSync()[0]!));
        agree += tf.sum(tf.cast(tf.equal(tf.argMax(a, 1), tf.argMax(ref, 1)), 'int32')).dataSync()[0]!;
      });
      tf.dispose([b.x, b.y]);
    }
    // Integer x scale vs the fake quantizer's round()/L x S: float32 rounding only (measured ~2e-7).
    expect(agree / data.test.n).toBe(1);
    expect(maxRel).toBeLessThan(1e-4);
    r.model.dispose();
  }, 120_000);
});
