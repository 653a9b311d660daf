import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { planLayers } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { initParams } from '../../src/models/params.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { SearchModel } from '../../src/search/model.js';
import { assignAll, loadTensors } from '../../src/models/checkpoint.js';
import { evaluate } from '../../src/train/float.js';
import { Run, type EpochRecord } from '../../src/train/run.js';
import { resolveConfig } from '../../src/cli/train.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

let dataRoot = '';
beforeAll(async () => {
  await initEngine('wasm');
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 80); // 400 train, 80 test
});

// The reference's soft relaxation (--relaxation soft); the hard one has tests of its own (budget.test.ts).
const FLAGS = ['--platform', 'diana', '--model', 'tinycnn', '--batch', '32', '--val-size', '80', '--relaxation', 'soft',
  '--epochs-warmup', '1', '--epochs-search', '3', '--epochs-finetune', '1', '--lr-alpha', '0.05', '--target', 'energy'];

const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
const readLog = (dir: string) => readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);

describe('search: discretisation', () => {
  it('is the argmax of alpha over the CUs that may run the layer', () => {
    const p = loadPlatform('diana');
    const spec = buildModel('mobilenetv1'); // depthwise layers: digital only
    const plans = planLayers(p, geometry(spec), 'mobilenetv1');
    const float = initParams(spec, 1);
    const m = SearchModel.fromFloat(spec, float, p, plans);
    float.dispose();
    const rngVals: Record<string, number[][]> = {};
    spec.layers.forEach((l, k) => {
      if (!plans[k]!.searchable) return;
      const a = Array.from({ length: 2 }, (_, i) => Array.from({ length: l.cout }, (_, c) => Math.sin(13 * c + 7 * i + k)));
      rngVals[l.name] = a;
      m.params.get(`${l.name}.alpha`).assign(tf.tensor2d(a));
    });
    const asg = m.discretise();
    spec.layers.forEach((l, k) => {
      const a = rngVals[l.name];
      for (let c = 0; c < l.cout; c++) {
        const expected = a ? (a[1]![c]! > a[0]![c]! ? 1 : 0) : 0; // non-searchable (depthwise): digital
        expect(asg[k]![c]).toBe(expected);
      }
    });
    // with the mapping fixed, the counts are the assignment's
    m.fix(asg);
    const counts = m.softCounts(1).arraySync();
    spec.layers.forEach((_, k) => {
      expect(counts[1]![k]).toBe(asg[k]!.filter((c) => c === 1).length);
    });
    m.dispose();
  });
});

describe('hetsplit train (tiny model, generated data)', () => {
  it('moves the mapping to the cheaper CU under a large lambda; resumes to the same result', async () => {
    const root = tmpDir();
    const zero = path.join(root, 'l0'), big = path.join(root, 'l5');
    const r0 = await cli('train', ...FLAGS, '--data', dataRoot, '--lambda', '0', '--out', zero);
    expect(r0.stderr).toBe('');
    expect(r0.code).toBe(0);
    expect(r0.stdout).toMatch(/^engine: wasm/);
    expect(r0.stdout).toContain(`mapping: ${path.join(zero, 'mapping.json')}`);
    const r5 = await cli('train', ...FLAGS, '--data', dataRoot, '--lambda', '5', '--out', big, '--from-warmup', zero);
    expect(r5.code).toBe(0);
    expect(r5.stdout).toContain('warm-up: reusing');

    const m0 = readJson(path.join(zero, 'metrics.json')), m5 = readJson(path.join(big, 'metrics.json'));
    for (const k of ['testAccuracy', 'valAccuracy', 'latencyCycles', 'latencyMs', 'energyMJ', 'lambda', 'target', 'platform', 'model']) {
      expect(m5).toHaveProperty(k);
    }
    expect(m5.energyMJ).toBeLessThan(m0.energyMJ);
    // the float warm-up's test accuracy: recomputed here from warmup.bin; --from-warmup copies it
    const wm = readJson(path.join(zero, 'warmup-metrics.json'));
    expect(readJson(path.join(big, 'warmup-metrics.json'))).toEqual(wm);
    {
      const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
      const spec = buildModel('tinycnn');
      const params = initParams(spec, 42);
      const saved = await loadTensors(path.join(zero, 'warmup.bin'));
      assignAll('warmup.bin', new Map([...params.trainable, ...params.state]), saved, 'p/');
      tf.dispose([...saved.values()]);
      const every = Int32Array.from({ length: data.test.n }, (_, i) => i);
      expect(wm.testAccuracy).toBe(evaluate(spec, params, data.test, every, 64, 'unit'));
      expect(wm.epochs).toBe(1);
      expect(wm.secondsPerEpoch).toHaveLength(1);
      params.dispose();
    }
    // energy on DIANA: analog is the cheaper CU for these layers; the share of analog channels grows
    const mapping = readJson(path.join(big, 'mapping.json'));
    expect(mapping.platform).toBe('diana');
    expect(mapping.layers).toHaveLength(6);
    const analog = (mp: { layers: { channels: Record<string, number[]> }[] }) => mp.layers.reduce((s, l) => s + l.channels.analog!.length, 0);
    expect(analog(mapping)).toBeGreaterThan(analog(readJson(path.join(zero, 'mapping.json'))));
    for (const l of mapping.layers) {
      const all = [...l.channels.digital, ...l.channels.analog].sort((a: number, b: number) => a - b);
      expect(all).toEqual(all.map((_: number, i: number) => i)); // every channel on exactly one CU
    }

    // the expected (soft) cost falls during the search; tensors stay flat epoch to epoch
    const log = readLog(big);
    const search = log.filter((r) => r.phase === 'search');
    expect(search).toHaveLength(3);
    expect(search[2]!.expectedCost!).toBeLessThan(search[0]!.expectedCost!);
    expect(new Set(search.map((r) => r.numTensors)).size).toBe(1);
    expect(search[0]!.fractions).toHaveProperty('conv1');
    for (const r of search) expect(r.discreteValAccuracy).toBeGreaterThanOrEqual(0);
    expect(log.filter((r) => r.phase !== 'search').every((r) => r.discreteValAccuracy === null)).toBe(true);
    const cfg = readJson(path.join(big, 'config.json'));
    expect(cfg).toMatchObject({ lambda: 5, target: 'energy', engine: 'wasm' });
    expect(cfg.versions.tfjs).toBe('4.22.0');

    // interrupted after search epoch 2, resumed: the same mapping and metrics
    const cut = path.join(root, 'cut');
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const cfgObj = resolveConfig({
      platform: 'diana', model: 'tinycnn', dataset: 'cifar10', target: 'energy', lambda: 5, epochsWarmup: 1, epochsSearch: 3,
      epochsFinetune: 1, batch: 32, seed: 42, trainLimit: 0, testLimit: 0, valSize: 80, fromWarmup: zero, lrWarmup: 0.1, lrWeights: 1e-3,
      lrAlpha: 0.05, alphaTravel: 2, lrQuant: 1e-5, lrFinetune: 1e-3, lrWarmupFrac: 0.05, momentum: 0.9, weightDecay: 1e-4, weightDecayWarmup: 5e-4,
      temperatureStart: 1, temperatureEnd: 0.1, costTemperature: 0.05, relaxation: 'soft', ternaryGrad: 'clip', warmStart: 'auto',
      warmStartMargin: 1, calibrate: true, lagrangeLr: 0.5, distill: 0, distillTemperature: 4,
    }, 'tinycnn');
    const spec = buildModel('tinycnn');
    const p = loadPlatform('diana');
    const stop = new Error('simulated kill');
    const first = new Run(cut, cfgObj, spec, p, data, {
      log: () => undefined, progress: false,
      afterEpoch: (r) => { if (r.phase === 'search' && r.epoch === 2) throw stop; },
    }, {});
    await expect(first.start(false)).rejects.toBe(stop);
    const rr = await cli('train', ...FLAGS, '--data', dataRoot, '--lambda', '5', '--out', cut, '--from-warmup', zero, '--resume');
    expect(rr.code).toBe(0);
    expect(rr.stdout).toMatch(/resuming .*: search, 2 epoch\(s\) done/);
    expect(readJson(path.join(cut, 'mapping.json'))).toEqual(mapping);
    expect(readJson(path.join(cut, 'metrics.json'))).toEqual(m5);
  }, 120_000);

  it.each([
    [['--platform', 'tpu'], /unknown platform 'tpu'/],
    [['--lambda', '-1'], /--lambda: expected a number >= 0, got -1/],
    [['--platform', 'darkside', '--model', 'resnet8'], /platform darkside leaves nothing to search in resnet8/],
    [['--target', 'power'], /Invalid values/],
    [['--epochs-search', '1.5'], /--epochs-search: expected a whole number/],
  ])('rejects %j with one line and exit 2', async (extra, msg) => {
    const r = await cli('train', '--data', dataRoot, '--model', 'tinycnn', '--val-size', '80', '--out', path.join(tmpDir(), 'x'), ...(extra as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('fine-tuning keeps the network it started from when no epoch beats it on validation', async () => {
    const dir = path.join(tmpDir(), 'keep');
    // an lr so small that the epochs end where they started: none beats the start (ties keep it)
    const r = await cli('train', ...FLAGS, '--data', dataRoot, '--mapping', 'all:digital', '--lambda', '0', '--epochs-finetune', '2',
      '--lr-finetune', '1e-12', '--lr-quant', '1e-12', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const start = Number(/fine-tune: starting network val ([\d.]+)%/.exec(r.stdout)![1]) / 100;
    const epochs = readLog(dir).filter((x) => x.phase === 'finetune').map((x) => x.valAccuracy);
    const m = readJson(path.join(dir, 'metrics.json'));
    expect(m.valAccuracy).toBeCloseTo(Math.max(start, ...epochs), 4);
    expect(start).toBeGreaterThanOrEqual(Math.max(...epochs)); // the case under test happened
    expect(r.stdout).toMatch(/no epoch beat the starting network/);
  });

  it('a run directory is self-contained: schedule and export work after its platform file is gone; schedule --json prints JSON only', async () => {
    const root = tmpDir();
    const pf = path.join(root, 'my-soc.json');
    // DIANA under a name no built-in platform has: only the run's own copy can name it
    const soc = JSON.parse(readFileSync(fileURLToPath(new URL('../../platforms/diana.json', import.meta.url)), 'utf8'));
    writeFileSync(pf, JSON.stringify({ ...soc, name: 'my-soc' }));
    const dir = path.join(root, 'run');
    const r = await cli('train', ...FLAGS, '--data', dataRoot, '--platform', pf, '--epochs-search', '1', '--epochs-finetune', '0', '--out', dir);
    expect(r.code).toBe(0);
    rmSync(pf);
    const s = await cli('schedule', dir, '--json');
    expect(s.stderr).toMatch(/^engine: /);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).platform).toBe('my-soc');
    const e = await cli('export', dir, '--format', 'json', '--out', path.join(root, 'exp'));
    expect(e.code).toBe(0);
  });

  it('refuses to overwrite a run and to resume nothing', async () => {
    const dir = path.join(tmpDir(), 'r');
    const none = await cli('train', '--data', dataRoot, '--model', 'tinycnn', '--val-size', '80', '--out', dir, '--resume');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/nothing to resume/);
  });
});

describe('conv-vs-depthwise search (Darkside, tiny model)', () => {
  it('mixes channel prefixes: [0, k) from the conv branch, [k, C) from the depthwise one', async () => {
    const { mixPrefix } = await import('../../src/models/forward.js');
    const a = tf.fill([1, 2, 2, 5], 1) as tf.Tensor4D, b = tf.fill([1, 2, 2, 5], 7) as tf.Tensor4D;
    expect(Array.from(mixPrefix(a, b, 2).dataSync().slice(0, 5))).toEqual([1, 1, 7, 7, 7]);
    expect(Array.from(mixPrefix(a, b, 0).dataSync().slice(0, 5))).toEqual([7, 7, 7, 7, 7]);
    expect(Array.from(mixPrefix(a, b, 5).dataSync().slice(0, 5))).toEqual([1, 1, 1, 1, 1]);
    // the float model gets the conv branch only where the platform splits
    const plans = planLayers(loadPlatform('darkside'), geometry(buildModel('tinycnn')), 'tinycnn');
    expect(plans.filter((p) => p.searchable).map((p) => p.layer.name)).toEqual(['dw4']);
    tf.dispose([a, b]);
  });

  it('a large lambda moves channels from the costly conv branch to the depthwise engine', async () => {
    const root = tmpDir();
    const flags = ['--platform', 'darkside', '--model', 'tinycnn', '--batch', '32', '--val-size', '80', '--data', dataRoot,
      '--epochs-warmup', '1', '--epochs-search', '3', '--epochs-finetune', '0', '--lr-alpha', '0.05', '--target', 'latency'];
    const a = await cli('train', ...flags, '--lambda', '0', '--out', path.join(root, 'a'));
    expect(a.stderr).toBe('');
    const b = await cli('train', ...flags, '--lambda', '20', '--out', path.join(root, 'b'), '--from-warmup', path.join(root, 'a'));
    expect(b.code).toBe(0);
    const conv = (dir: string) => (readJson(path.join(dir, 'mapping.json')).layers as { name: string; channels: Record<string, number[]> }[])
      .find((l) => l.name === 'dw4')!.channels.cluster!;
    const k0 = conv(path.join(root, 'a')), k20 = conv(path.join(root, 'b'));
    expect(k0).toEqual(k0.map((_, i) => i)); // a prefix of the channels
    expect(k20.length).toBeLessThan(k0.length);
    expect(readJson(path.join(root, 'b', 'metrics.json')).latencyCycles).toBeLessThan(readJson(path.join(root, 'a', 'metrics.json')).latencyCycles);
    // no fine-tune epochs: the final network is the search epoch with the best discrete
    // validation accuracy, so its validation accuracy (recomputed at the end of the run) is that one
    for (const d of ['a', 'b']) {
      const search = readLog(path.join(root, d)).filter((r) => r.phase === 'search');
      expect(Math.max(...search.map((r) => r.discreteValAccuracy!))).toBe(readJson(path.join(root, d, 'metrics.json')).valAccuracy);
    }
  }, 120_000);
});

describe('BatchNorm recalibration before folding', () => {
  it('sets conv1\'s running statistics to the population statistics of the training images', async () => {
    const { trainValSplit, epochBatches } = await import('../../src/data/pipeline.js');
    const { loadTensors } = await import('../../src/models/checkpoint.js');
    const dir = path.join(tmpDir(), 'warm');
    const r = await cli('train', '--platform', 'diana', '--model', 'tinycnn', '--data', dataRoot, '--batch', '32', '--val-size', '80',
      '--epochs-warmup', '1', '--warmup-only', '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/BatchNorm statistics recalibrated on 320 training images/);
    const t = await loadTensors(path.join(dir, 'warmup.bin'));
    const w = t.get('p/conv1.w')!;
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const idx = trainValSplit(data.train.n, 80, 42).train;
    // independent: conv1 pre-BN activations over all those images, per-channel mean and unbiased variance
    const acts: tf.Tensor[] = [];
    for (const b of epochBatches(data.train, idx, { batchSize: 64, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      acts.push(tf.conv2d(b.x, w as tf.Tensor4D, 2, 'same'));
      tf.dispose([b.x, b.y]);
    }
    const all = tf.concat(acts);
    const mean = tf.mean(all, [0, 1, 2]);
    const got = t.get('p/conv1.mean')!;
    expect(tf.max(tf.abs(tf.sub(got, mean))).dataSync()[0]).toBeLessThan(1e-4 * (1 + tf.max(tf.abs(mean)).dataSync()[0]!));
    // the cumulative average of per-batch unbiased variances (5 equal batches of 64): close to the population variance
    const variance = tf.moments(all, [0, 1, 2]).variance;
    const rel = tf.max(tf.div(tf.abs(tf.sub(t.get('p/conv1.var')!, variance)), variance)).dataSync()[0]!;
    expect(rel).toBeLessThan(0.1);
    tf.dispose([...t.values(), ...acts, all, mean, variance]);
  }, 60_000);
});

describe('kill -9 and --resume (a real process)', () => {
  it('a run killed at some moment and resumed ends with the same mapping and metrics', async () => {
    const { spawn } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const flags = ['train', '--platform', 'diana', '--model', 'tinycnn', '--data', dataRoot, '--batch', '32', '--val-size', '80',
      '--epochs-warmup', '2', '--epochs-search', '3', '--epochs-finetune', '1', '--lr-alpha', '0.05', '--lambda', '2'];
    const root = tmpDir();
    const full = path.join(root, 'full'), cut = path.join(root, 'cut');
    expect((await cli(...flags, '--out', full)).code).toBe(0);
    // start, SIGKILL once the search has begun (some epoch written), then resume
    const child = spawn(process.execPath, [main, ...flags, '--out', cut], { stdio: 'ignore' });
    const killed = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        let phase = '';
        try { phase = JSON.parse(readFileSync(path.join(cut, 'state.json'), 'utf8')).phase; } catch { /* not yet, or mid-rename */ }
        if (phase === 'search') { clearInterval(timer); child.kill('SIGKILL'); resolve(true); }
      }, 20);
      child.on('exit', () => { clearInterval(timer); resolve(false); });
    });
    expect(killed).toBe(true);
    expect(existsSync(path.join(cut, 'metrics.json'))).toBe(false);
    const r = await cli(...flags, '--out', cut, '--resume');
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(path.join(cut, 'mapping.json'))).toEqual(readJson(path.join(full, 'mapping.json')));
    expect(readJson(path.join(cut, 'metrics.json'))).toEqual(readJson(path.join(full, 'metrics.json')));
  }, 120_000);
});
