/**
 * Training-throughput benchmark: float and search steps at CIFAR geometry on random data.
 * Reports the median of timed steps after warm-up, forward img/s, threads and RSS.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { engineInfo } from '../backend/engine.js';
import { forward } from '../models/forward.js';
import { initParams } from '../models/params.js';
import { Rng } from '../models/rng.js';
import { buildModel } from '../models/zoo.js';
import { planLayers, referenceCost } from '../hw/cost.js';
import { loadPlatform } from '../hw/platform.js';
import { SoftCost } from '../hw/soft.js';
import { geometry } from '../models/spec.js';
import { SearchModel } from '../search/model.js';
import { UserError } from '../util/errors.js';
import { Adam } from './adam.js';
import { crossEntropy } from './loss.js';
import { networkStep } from './phases/network_epoch.js';
import { Sgd } from './sgd.js';
import { trainStep } from './step.js';

export interface BenchCase {
  name: string;
  model: string;
  batch: number;
  trainImgPerSec: number;
  trainStepMsMedian: number;
  trainStepMs: number[];
  forwardImgPerSec: number;
  numTensorsStable: boolean;
}

export interface BenchResult {
  engine: string;
  threads: number;
  simd: boolean | null;
  node: string;
  cpus: number;
  date: string;
  peakRssMB: number;
  cases: BenchCase[];
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function randomBatch(batch: number, numClasses: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  const xs = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  const ys = new Float32Array(batch);
  for (let i = 0; i < batch; i++) ys[i] = rng.int(numClasses);
  return { x: tf.tensor4d(xs, [batch, 32, 32, 3]), y: tf.tensor1d(ys) };
}

export const BENCH_CASES = ['float-resnet20', 'diana-search-resnet20', 'darkside-search-mobilenetv1'] as const;

/**
 * A fixed model, optimiser(s) and random batch for timing; `dispose` frees all of it.
 * Cases: `float-<model>` (plain training step with BatchNorm) and
 * `<platform>-search-<model>` (search step: quantizers, soft mapping, soft cost, three
 * optimisers, as the search phase runs it).
 */
function benchSetup(name: string, batch: number): { step: () => void; forward: () => void; dispose: () => void } {
  const m = /^(float|([a-z0-9-]+)-search)-([a-z0-9]+)$/.exec(name);
  if (!m) throw new UserError(`unknown bench case '${name}' (expected float-<model> or <platform>-search-<model>, e.g. ${BENCH_CASES.join(', ')})`);
  const spec = buildModel(m[3]!);
  const { x, y } = randomBatch(batch, spec.numClasses, 2);
  if (m[1] === 'float') {
    const params = initParams(spec, 1);
    const opt = new Sgd({ lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    return {
      step: () => { trainStep(spec, params, opt, x, y); },
      forward: () => { tf.tidy(() => forward(spec, params, x, { training: false }).dataSync()); },
      dispose: () => { tf.dispose([x, y]); opt.dispose(); params.dispose(); },
    };
  }
  const platform = loadPlatform(m[2]!);
  const plans = planLayers(platform, geometry(spec), spec.name);
  const split = new Set(plans.filter((p) => p.mode === 'conv-vs-depthwise' && p.searchable).map((p) => p.layer.name));
  const float = initParams(spec, 1, split);
  const model = SearchModel.fromFloat(spec, float, platform, plans);
  float.dispose();
  const soft = new SoftCost(platform, plans);
  const costRef = referenceCost(platform, plans, 'energy').value;
  const sgdW = new Sgd({ lr: 1e-3, momentum: 0.9, weightDecay: 1e-4 });
  const sgdQ = new Sgd({ lr: 1e-5, momentum: 0, weightDecay: 0 });
  const adam = new Adam({ lr: 1e-3 });
  const weights = model.group('weights'), alpha = model.group('alpha'), quant = model.group('quant');
  const vars = [...weights.values(), ...alpha.values(), ...quant.values()];
  return {
    step: () => {
      networkStep(model, vars, 1, x, y, (out, yy) => tf.add(crossEntropy(out.logits, yy), tf.mul(soft.evaluate(out.counts).energy, 0.5 / costRef)) as tf.Scalar,
        (grads) => { sgdW.apply(weights, grads); adam.apply(alpha, grads); sgdQ.apply(quant, grads); });
    },
    forward: () => { tf.tidy(() => model.forward(x, 1).logits.dataSync()); },
    dispose: () => { tf.dispose([x, y]); sgdW.dispose(); sgdQ.dispose(); adam.dispose(); soft.dispose(); model.dispose(); },
  };
}

export function benchCase(name: string, batch: number, warmup: number, steps: number,
  onStep?: (i: number, n: number) => void): BenchCase {
  const { step, forward: fwdOnce, dispose } = benchSetup(name, batch);
  const times: number[] = [];
  let tensorsAfterWarmup = -1;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    step();
    const dt = performance.now() - t0;
    if (i === warmup - 1) tensorsAfterWarmup = tf.memory().numTensors;
    if (i >= warmup) times.push(dt);
    onStep?.(i + 1, warmup + steps);
  }
  const stable = tf.memory().numTensors === tensorsAfterWarmup;
  const fwd: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    fwdOnce();
    fwd.push(performance.now() - t0);
  }
  dispose();
  const med = median(times);
  return {
    name, model: name.split('-').pop()!, batch,
    trainImgPerSec: (batch * 1000) / med, trainStepMsMedian: med, trainStepMs: times,
    forwardImgPerSec: (batch * 1000) / median(fwd.slice(1)), numTensorsStable: stable,
  };
}

export interface SoakSample {
  step: number;
  rssMB: number;
  /** V8's JS heap in use. */
  jsHeapMB: number;
  /** The WASM backend's linear memory (it only grows), null on other engines. */
  wasmMemoryMB: number | null;
  numTensors: number;
}

function wasmMemoryMB(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8 ? b.wasm.HEAPU8.length / 2 ** 20 : null;
}

export interface SoakResult {
  name: string;
  batch: number;
  steps: number;
  samples: SoakSample[];
  /** numTensors identical at every sample. */
  numTensorsFlat: boolean;
  /** Mean RSS of the last quarter of samples minus that of the second quarter (MB). */
  rssGrowthMB: number;
}

/**
 * `steps` training steps of one case, sampling RSS and tf.memory().numTensors every
 * `every` steps (the first sample after the first step, once buffers exist): a leak shows
 * as numTensors changing or RSS climbing between the second and last quarters.
 */
export function soakCase(name: string, batch: number, steps: number, every: number,
  onSample?: (s: SoakSample, steps: number) => void): SoakResult {
  const { step, dispose } = benchSetup(name, batch);
  const samples: SoakSample[] = [];
  for (let i = 1; i <= steps; i++) {
    step();
    if (i === 1 || i % every === 0 || i === steps) {
      const mem = process.memoryUsage();
      const smp = { step: i, rssMB: mem.rss / 2 ** 20, jsHeapMB: mem.heapUsed / 2 ** 20, wasmMemoryMB: wasmMemoryMB(), numTensors: tf.memory().numTensors };
      samples.push(smp);
      onSample?.(smp, steps);
    }
  }
  dispose();
  const q = Math.max(1, Math.floor(samples.length / 4));
  const mean = (a: SoakSample[]) => a.reduce((t, x) => t + x.rssMB, 0) / a.length;
  return {
    name, batch, steps, samples,
    numTensorsFlat: samples.every((x) => x.numTensors === samples[0]!.numTensors),
    rssGrowthMB: mean(samples.slice(-q)) - mean(samples.slice(q, 2 * q)),
  };
}

export function benchMeta(): Omit<BenchResult, 'cases' | 'peakRssMB'> {
  const e = engineInfo();
  return {
    engine: e.engine, threads: e.threads, simd: e.simd, node: process.version,
    cpus: os.availableParallelism(),
    date: new Date().toISOString(),
  };
}

export interface KernelRow { kernel: string; calls: number; ms: number }

/** Per-kernel wall time of one training step (after one warm-up step). */
export async function profileStep(name: string, batch: number): Promise<{ totalMs: number; rows: KernelRow[] }> {
  const { step, dispose } = benchSetup(name, batch);
  step();
  const t0 = performance.now();
  const info = await tf.profile(() => { step(); });
  const totalMs = performance.now() - t0;
  const by = new Map<string, KernelRow>();
  for (const k of info.kernels) {
    const r = by.get(k.name) ?? { kernel: k.name, calls: 0, ms: 0 };
    r.calls++;
    r.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    by.set(k.name, r);
  }
  dispose();
  return { totalMs, rows: [...by.values()].sort((a, b) => b.ms - a.ms) };
}
