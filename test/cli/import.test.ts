/**
 * hetsplit import on the reference's own float ResNet20 (../shared/models, exported by
 * torch.onnx.export): the imported network computes onnxruntime's logits, costs what
 * --model resnet20 costs, trains (search + fine-tune) from its warm-up directory, and
 * the searched network's ONNX export runs in onnxruntime with the run's logits. Skipped,
 * saying so, where ../shared/models is not beside the checkout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { forward } from '../../src/models/forward.js';
import { importOnnx } from '../../src/models/onnx_import.js';
import { importedParams } from '../../src/train/imported.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';
import { GraphBuilder } from '../helpers/onnx_build.js';

const MODEL = path.resolve('../shared/models/resnet20-odimo-fp.onnx');
const DATA = path.resolve('../shared/datasets/cifar-10-jpeg-derived-binary.tar.gz');
const haveModel = existsSync(MODEL);
if (!haveModel) console.warn(`skipping the ONNX import tests on the reference model: ${MODEL} is not there`);

let fake = '';
beforeAll(async () => {
  await initEngine('wasm');
  fake = tmpDir();
  writeCifar10Dir(fake, 64);
});

describe.skipIf(!haveModel)('hetsplit import of the reference ResNet20', () => {
  let warm = '';
  beforeAll(async () => {
    warm = path.join(tmpDir(), 'warm');
    const r = await cli('import', MODEL, '--out', warm, '--data', fake, '--engine', 'wasm');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/structure of the built-in model resnet20/);
  });

  it('writes a warm-up directory: model.json, warmup.bin, config.json, warmup-metrics.json', () => {
    expect(readdirSync(warm).sort()).toEqual(['config.json', 'model.json', 'state.json', 'warmup-metrics.json', 'warmup.bin']);
    const cfg = JSON.parse(readFileSync(path.join(warm, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model: 'resnet20-odimo-fp', dataset: 'cifar10', norm: 'unit', imported: { opset: 13, matches: 'resnet20' } });
    const m = JSON.parse(readFileSync(path.join(warm, 'warmup-metrics.json'), 'utf8'));
    expect(m.testAccuracy).toBeGreaterThanOrEqual(0);
  });

  it('costs what --model resnet20 costs, from the .onnx file and from the directory', async () => {
    const totals = async (model: string) => JSON.parse((await cli('cost', '--platform', 'diana', '--model', model, '--json')).stdout).totals;
    const ref = await totals('resnet20');
    expect(ref['all:digital'].cycles).toBeCloseTo(257673.25, 6);
    expect(ref['all:analog'].cycles).toBeCloseTo(88120.675, 6);
    expect(await totals(MODEL)).toEqual(ref);
    expect(await totals(warm)).toEqual(ref);
  });

  it.skipIf(!existsSync(DATA))('reproduces onnxruntime on real test images (logits within 1e-4, same predictions)', async () => {
    const data = await locateCifar({ dataset: 'cifar10', data: DATA });
    const bytes = readFileSync(MODEL);
    const im = importOnnx(bytes, MODEL, { inputNonNegative: true });
    const p = importedParams(im);
    const s = await ort.InferenceSession.create(bytes);
    const idx = Int32Array.from({ length: 128 }, (_, i) => i * 61);
    let worst = 0, agree = 0;
    for (const b of epochBatches(data.test, idx, { batchSize: 64, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      const nchw = tf.tidy(() => tf.transpose(b.x, [0, 3, 1, 2]).dataSync() as Float32Array);
      const ref = (await s.run({ input: new ort.Tensor('float32', nchw, [b.size, 3, 32, 32]) })).logits!.data as Float32Array;
      const ours = tf.tidy(() => forward(im.spec, p, b.x, { training: false }).dataSync() as Float32Array);
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - ours[i]!));
      for (let r = 0; r < b.size; r++) {
        const am = (a: Float32Array) => { let k = 0; for (let j = 1; j < 10; j++) if (a[r * 10 + j]! > a[r * 10 + k]!) k = j; return k; };
        if (am(ref) === am(ours)) agree++;
      }
      tf.dispose([b.x, b.y]);
    }
    p.dispose();
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect(agree).toBe(128);
  });

  it.skipIf(!existsSync(DATA))('a search that only wrecks the network keeps its starting network and the warm start\'s mapping (the epoch-0 candidate)', async () => {
    const common = ['--platform', 'diana', '--from-warmup', warm, '--data', DATA, '--budget', '0.6', '--epochs-finetune', '0',
      '--train-limit', '64', '--batch', '32', '--val-size', '128', '--test-limit', '64', '--engine', 'wasm'];
    const ws = path.join(tmpDir(), 'ws'), run = path.join(tmpDir(), 'wreck');
    expect((await cli('train', ...common, '--epochs-search', '0', '--out', ws)).code).toBe(0);
    // a weight lr three thousand times the default: two steps take the network to chance
    const r = await cli('train', ...common, '--epochs-search', '1', '--lr-weights', '3', '--out', run);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const start = Number(/search: starting network val ([\d.]+)%/.exec(r.stdout)![1]);
    expect(start).toBeGreaterThan(60);
    const rec = readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.phase === 'search');
    expect(100 * rec.discreteValAccuracy).toBeLessThan(start - 20);
    expect(r.stdout).toMatch(/search: no search epoch beat the starting network \(discrete val [\d.]+%\); it is kept/);
    const layers = (d: string) => JSON.parse(readFileSync(path.join(d, 'mapping.json'), 'utf8')).layers;
    expect(layers(run)).toEqual(layers(ws));
    const m = (d: string) => JSON.parse(readFileSync(path.join(d, 'metrics.json'), 'utf8'));
    expect(m(run).testAccuracy).toBe(m(ws).testAccuracy);
  });

  it('train --from-warmup searches and fine-tunes it on DIANA; its ONNX export runs in onnxruntime with the run\'s logits', async () => {
    const run = path.join(tmpDir(), 'run');
    const r = await cli('train', '--platform', 'diana', '--from-warmup', warm, '--data', fake, '--epochs-search', '1', '--epochs-finetune', '1',
      '--train-limit', '32', '--batch', '16', '--val-size', '16', '--lr-alpha', '0.05', '--out', run, '--engine', 'wasm', ...(process.env.NOCAL ? ['--no-calibrate'] : []));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warm-up: reusing/);
    expect(JSON.parse(readFileSync(path.join(run, 'config.json'), 'utf8')).model).toBe('resnet20-odimo-fp');
    const out = path.join(tmpDir(), 'onnx');
    expect((await cli('export', run, '--format', 'onnx', '--out', out)).code).toBe(0);
    const loaded = await loadRun(run);
    const data = await locateCifar({ dataset: 'cifar10', data: fake });
    const b = epochBatches(data.test, Int32Array.from({ length: 16 }, (_, i) => i), { batchSize: 16, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0).next().value!;
    const ours = tf.tidy(() => loaded.model.forward(b.x).logits.dataSync() as Float32Array);
    const s = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    const ref = (await s.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, [16, 32, 32, 3]) })).logits!.data as Float32Array;
    let mean = 0, agree = 0;
    for (let i = 0; i < ref.length; i++) mean += Math.abs(ref[i]! - ours[i]!) / ref.length;
    for (let r = 0; r < 16; r++) {
      const am = (a: Float32Array) => { let k = 0; for (let j = 1; j < 10; j++) if (a[r * 10 + j]! > a[r * 10 + k]!) k = j; return k; };
      if (am(ref) === am(ours)) agree++;
    }
    // The same predictions; logits equal up to the 7-bit activation quantizers' floor steps
    // (1/16 at clip 6), which flip where the two runtimes' float sums differ in the last bit.
    // (Without the output calibration the weights sit on coarser values and the logits agree
    // to 3e-8; measured: mean |Δ| 0.05 with it, max |logit| 11.5.)
    expect(agree).toBe(16);
    expect(mean).toBeLessThanOrEqual(0.1);
    tf.dispose([b.x, b.y]);
    loaded.model.dispose();
  });
});

describe('hetsplit import: bad input is one line, exit 2, nothing left behind', () => {
  it.each([
    ['an unsupported op', (g: GraphBuilder) => g.op('Sigmoid', [g.conv('input', 3, 10, 32)]), /node '\/sigmoid_\d+\/Sigmoid' \(Sigmoid\): operator Sigmoid is not supported/],
    ['a non-CIFAR input size', (g: GraphBuilder) => g.conv('input', 3, 10, 12), /input is 3x12x12; cifar10 images are 3x32x32/],
  ])('%s', async (_what, build, pattern) => {
    const g = new GraphBuilder(1);
    const y = build(g);
    const dir = tmpDir();
    const file = path.join(dir, 'bad.onnx');
    const { writeFileSync } = await import('node:fs');
    const dims = pattern.source.includes('12x12') ? ['N', 3, 12, 12] : ['N', 3, 32, 32];
    writeFileSync(file, g.build(y, { inputDims: dims, outputDims: ['N', 10, 1, 1] }));
    const out = path.join(dir, 'out');
    const r = await cli('import', file, '--out', out, '--no-eval');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(['bad.onnx']);
  });

  it.each([
    [['--mean', '0.5,0.5,0.5'], /--mean and --std go together/],
    [['--std', '1,0,1', '--mean', '0,0,0'], /--std: expected three comma-separated positive numbers/],
    [['--input-scale', 'abc'], /--input-scale: expected a positive number or fraction/],
  ])('flags %j', async (flags, pattern) => {
    const r = await cli('import', 'whatever.onnx', '--out', path.join(tmpDir(), 'o'), ...(flags as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });

  it('an --out that is not empty', async () => {
    const dir = tmpDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'x'), '');
    const g = new GraphBuilder(2);
    const file = path.join(tmpDir(), 'm.onnx');
    writeFileSync(file, g.build(g.conv('input', 3, 10, 32), { inputDims: ['N', 3, 32, 32], outputDims: ['N', 10, 1, 1] }));
    const r = await cli('import', file, '--out', dir, '--no-eval');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the directory is not empty/);
  });
});
