/**
 * One search run, in a run directory, resumable at epoch granularity:
 *   warm-up (float, BatchNorm) → fold BN → search (weights + α + quantizers, loss =
 *   CE + λ·cost/cost_ref, temperature annealed per epoch) → discretise (argmax α) →
 *   fine-tune (fixed mapping) → test.
 * After every epoch the run's state (state.json) and a checkpoint of every tensor
 * (ckpt-*.bin) are written atomically, state last; `resume` restarts from them and gives
 * the same result as an uninterrupted run (batches and initialisation are seeded).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import cliProgress from 'cli-progress';
import type { CifarData, ImageSet } from '../data/cifar.js';
import { describeNorm, epochBatches, normNonNegative, trainValSplit, type Normalization } from '../data/pipeline.js';
import {
  allOnCounts, bestCounts, networkCost, planLayers, referenceCost, type LayerPlan, type Objective,
} from '../hw/cost.js';
import type { Platform } from '../hw/platform.js';
import { SoftCost } from '../hw/soft.js';
import { forward } from '../models/forward.js';
import { initParams, type ParamStore } from '../models/params.js';
import { Rng } from '../models/rng.js';
import { geometry, type ModelSpec } from '../models/spec.js';
import { SearchModel, type Assignment } from '../search/model.js';
import { MODEL_FILE } from '../models/resolve.js';
import { copyFileAtomic, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { Adam } from './adam.js';
import { assignAll, loadTensors, saveTensors } from './checkpoint.js';
import { cosineLr, evaluate } from './float.js';
import { countCorrect, crossEntropy } from './loss.js';
import { Sgd } from './sgd.js';
import { NonFiniteLossError, trainStep } from './step.js';

/** The float network's test accuracy after the warm-up. */
export const WARMUP_METRICS = 'warmup-metrics.json';

export interface RunConfig {
  platform: string;
  model: string;
  dataset: string;
  target: Objective;
  lambda: number;
  seed: number;
  batch: number;
  valSize: number;
  trainLimit: number | null;
  epochsWarmup: number;
  epochsSearch: number;
  epochsFinetune: number;
  warmup: { lr: number; momentum: number; weightDecay: number };
  search: {
    lrWeights: number; momentum: number; weightDecay: number; lrAlpha: number; lrQuant: number;
    /** T ← T·exp(−decay) after every search epoch (reference: 0.045). */
    temperatureDecay: number;
    /** τ of the smooth max/min in the soft cost. */
    costTemperature: number;
  };
  finetune: { lr: number; momentum: number; weightDecay: number; lrQuant: number };
  /** Epoch fractions of a phase at which its weight lr is multiplied by 0.1. */
  lrSteps: number[];
  norm: Normalization;
  fromWarmup: string | null;
  /** Stop after the float warm-up (a sweep's shared warm-up). */
  warmupOnly: boolean;
  /**
   * A baseline: skip the search and fine-tune this mapping instead. 'all:<cu>',
   * 'min-latency', 'min-energy' (per layer, the integer split minimising that cost alone),
   * or 'random:<run dir>' (that run's per-layer channel counts, channels drawn at random:
   * the same cost, a random choice of channels).
   */
  fixedMapping: string | null;
}

export interface EpochRecord {
  phase: 'warmup' | 'search' | 'finetune';
  epoch: number;
  loss: number;
  trainAccuracy: number;
  valAccuracy: number;
  /**
   * Search epochs: validation accuracy of the discrete mapping (argmax α, hard
   * quantizers) with the epoch's weights, i.e. what fine-tuning starts from. valAccuracy
   * is the soft network's. null in other phases.
   */
  discreteValAccuracy: number | null;
  temperature: number | null;
  /** Soft (expected) cost of the current θ, in the target's unit (cycles or mJ). */
  expectedCost: number | null;
  /** Hard cost of the current discrete mapping (argmax α, or the fixed one). */
  discreteCost: { cycles: number; ms: number; energyMJ: number } | null;
  /** Fraction of each layer's channels per CU in the discrete mapping. */
  fractions: Record<string, Record<string, number>> | null;
  seconds: number;
  imgPerSec: number;
  numTensors: number;
}

interface RunState {
  phase: 'warmup' | 'search' | 'finetune' | 'done';
  /** Completed epochs of `phase`. */
  epoch: number;
  checkpoint: string | null;
  best: { phase: string; epoch: number; valAccuracy: number; file: string } | null;
  assignment: Assignment | null;
  adamStep: number;
  log: EpochRecord[];
}

export interface RunResult {
  dir: string;
  metrics: Metrics;
  mappingFile: string;
  metricsFile: string;
}

export interface Metrics {
  testAccuracy: number;
  valAccuracy: number;
  genuineTestAccuracy: number | null;
  genuineTestRecords: number | null;
  latencyCycles: number;
  latencyMs: number;
  energyMJ: number;
  lambda: number;
  target: Objective;
  platform: string;
  model: string;
  referenceCost: { mapping: string; value: number };
}

export interface RunIO {
  log: (line: string) => void;
  progress: boolean;
  /** Test hook: called after each epoch's state is saved. */
  afterEpoch?: (r: EpochRecord) => void;
}

const stateFile = (dir: string) => path.join(dir, 'state.json');

function stepLr(base: number, epoch: number, epochs: number, steps: number[]): number {
  return base * 0.1 ** steps.filter((f) => epoch >= Math.round(f * epochs)).length;
}

export class Run {
  private state!: RunState;
  /** The progress bar of the running phase, if any (log lines are printed above it). */
  private activeBar: PhaseBar | null = null;

  private say(line: string): void {
    if (this.activeBar && !this.activeBar.stopped) this.activeBar.log(line, this.io.log);
    else this.io.log(line);
  }
  private readonly plans: LayerPlan[];
  private readonly split: { train: Int32Array; val: Int32Array };
  private readonly trainIdx: Int32Array;

  constructor(readonly dir: string, readonly cfg: RunConfig, readonly spec: ModelSpec,
    readonly platform: Platform, readonly data: CifarData, readonly io: RunIO, readonly meta: Record<string, unknown>) {
    this.plans = planLayers(platform, geometry(spec), spec.name);
    if (!this.plans.some((p) => p.searchable)) {
      throw new UserError(`platform ${platform.name} leaves nothing to search in ${spec.name}: ` +
        'no layer can run on more than one compute unit');
    }
    this.split = trainValSplit(data.train.n, cfg.valSize, cfg.seed);
    const t = this.split.train;
    this.trainIdx = cfg.trainLimit ? t.subarray(0, Math.min(cfg.trainLimit, t.length)) : t;
    if (Math.floor(this.trainIdx.length / cfg.batch) < 1) {
      throw new UserError(`${this.trainIdx.length} training images make no batch of ${cfg.batch}: lower --batch or raise --train-limit`);
    }
  }

  /** Starts a new run in an empty directory, or resumes the one there. */
  /** Returns null for a warm-up-only run. */
  async start(resume: boolean): Promise<RunResult | null> {
    const sf = stateFile(this.dir);
    if (existsSync(sf)) {
      if (!resume) throw new UserError(`${this.dir} already holds a run: pass --resume to continue it, or choose another --out`);
      await this.checkConfig();
      this.state = JSON.parse(await fs.readFile(sf, 'utf8')) as RunState;
      this.io.log(`resuming ${this.dir}: ${this.state.phase}, ${this.state.epoch} epoch(s) done`);
    } else {
      if (resume) throw new UserError(`${this.dir}: nothing to resume (no state.json)`);
      await writeJsonAtomic(path.join(this.dir, 'config.json'), { ...this.cfg, ...this.meta });
      // The run directory names its network completely (export/schedule rebuild it from here).
      await writeJsonAtomic(path.join(this.dir, MODEL_FILE), this.spec);
      this.state = { phase: 'warmup', epoch: 0, checkpoint: null, best: null, assignment: null, adamStep: 0, log: [] };
    }
    return this.execute();
  }

  private async checkConfig(): Promise<void> {
    const file = path.join(this.dir, 'config.json');
    const saved = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(this.cfg)) {
      if (!(k in saved) && (v === null || v === false)) continue; // a setting added later, at its default
      if (JSON.stringify(saved[k]) !== JSON.stringify(v)) {
        throw new UserError(`${file}: the run was started with ${k} = ${JSON.stringify(saved[k])}, not ${JSON.stringify(v)}; resume with the same settings`);
      }
    }
  }

  private async execute(): Promise<RunResult | null> {
    const float = await this.warmupPhase();
    if (this.cfg.warmupOnly) {
      float.dispose();
      if (this.state.phase !== 'done') await this.advance('done');
      return null;
    }
    const model = SearchModel.fromFloat(this.spec, float, this.platform, this.plans, { signedInput: !normNonNegative(this.cfg.norm) });
    float.dispose();
    const soft = new SoftCost(this.platform, this.plans, { temperature: this.cfg.search.costTemperature });
    const ref = referenceCost(this.platform, this.plans, this.cfg.target);
    try {
      await this.searchPhase(model, soft, ref.value);
      await this.finetunePhase(model);
      return await this.finish(model, ref);
    } finally {
      soft.dispose();
      model.dispose();
    }
  }

  // ---- warm-up ------------------------------------------------------------------------

  private async warmupPhase(): Promise<ParamStore> {
    const file = path.join(this.dir, 'warmup.bin');
    if (this.cfg.fromWarmup && !existsSync(file)) {
      const src = path.join(this.cfg.fromWarmup, 'warmup.bin');
      const srcCfg = path.join(this.cfg.fromWarmup, 'config.json');
      if (!existsSync(src)) throw new UserError(`--from-warmup ${this.cfg.fromWarmup}: no warmup.bin there (its warm-up has not finished)`);
      const other = JSON.parse(await fs.readFile(srcCfg, 'utf8')) as RunConfig;
      const sameNorm = JSON.stringify(other.norm ?? 'unit') === JSON.stringify(this.cfg.norm);
      if (other.model !== this.cfg.model || other.dataset !== this.cfg.dataset || !sameNorm) {
        throw new UserError(`--from-warmup ${this.cfg.fromWarmup}: its warm-up is ${other.model} on ${other.dataset} (${describeNorm(other.norm ?? 'unit')}), ` +
          `this run needs ${this.cfg.model} on ${this.cfg.dataset} (${describeNorm(this.cfg.norm)})`);
      }
      await copyFileAtomic(src, file);
      const srcMetrics = path.join(this.cfg.fromWarmup, WARMUP_METRICS);
      if (existsSync(srcMetrics)) await copyFileAtomic(srcMetrics, path.join(this.dir, WARMUP_METRICS));
      this.io.log(`warm-up: reusing ${src}`);
    }
    // Conv-vs-depthwise layers train both branches in the warm-up ("fine" warm-up).
    const splitLayers = this.plans.filter((p) => p.mode === 'conv-vs-depthwise' && p.searchable).map((p) => p.layer);
    const params = initParams(this.spec, this.cfg.seed, new Set(splitLayers.map((l) => l.name)));
    const all = () => new Map([...params.trainable, ...params.state]);
    if (existsSync(file)) {
      const t = await loadTensors(file);
      assignAll(file, all(), t, 'p/');
      tf.dispose([...t.values()]);
      // A warm-up that finished before its metrics were written (or was killed in between).
      if (!existsSync(path.join(this.dir, WARMUP_METRICS)) && !this.cfg.fromWarmup) await this.warmupMetrics(params);
      if (this.state.phase === 'warmup') await this.advance('search');
      return params;
    }
    const opt = new Sgd({ ...this.cfg.warmup, lr: this.cfg.warmup.lr });
    if (this.state.phase === 'warmup' && this.state.checkpoint) await this.restore(this.state.checkpoint, all(), { sgd: opt });
    const E = this.cfg.epochsWarmup;
    const bar = this.bar('warmup', E);
    for (let epoch = this.state.epoch; epoch < E; epoch++) {
      opt.options.lr = cosineLr(this.cfg.warmup.lr, epoch, E);
      const t0 = performance.now();
      let loss = 0, correct = 0, seen = 0, step = 0;
      for (const b of this.batches(epoch)) {
        try {
          // Every step draws a split point per conv-vs-depthwise layer, uniform in 0..C (seeded).
          const rng = new Rng(this.cfg.seed * 1_000_003 + epoch * 65_537 + step++);
          const splitPoints = new Map(splitLayers.map((l) => [l.name, Math.floor(rng.next() * (l.cout + 1))]));
          const r = trainStep(this.spec, params, opt, b.x, b.y, { splitPoints });
          loss += r.loss * b.size; correct += r.correct; seen += b.size;
        } catch (e) {
          throw this.diverged(e, 'warmup', epoch);
        } finally { tf.dispose([b.x, b.y]); }
        bar?.increment(1, { loss: (loss / seen).toFixed(3), acc: (correct / seen).toFixed(3), epoch: epoch + 1 });
      }
      const valAccuracy = evaluate(this.spec, params, this.data.train, this.split.val, 256, this.cfg.norm);
      const rec = this.record('warmup', epoch, loss / seen, correct / seen, valAccuracy, t0, seen, null, null, null);
      await this.endEpoch(rec, all(), { sgd: opt }, params);
    }
    bar?.stop();
    opt.dispose();
    // The search starts from the best warm-up epoch (validation accuracy).
    if (this.state.best?.phase === 'warmup') {
      const t = await loadTensors(path.join(this.dir, this.state.best.file));
      assignAll(this.state.best.file, all(), t, 'p/');
      tf.dispose([...t.values()]);
      this.io.log(`warm-up: best epoch ${this.state.best.epoch} (val ${(100 * this.state.best.valAccuracy).toFixed(2)}%)`);
    }
    this.recalibrateBatchNorm(params);
    await saveTensors(file, prefixed('p/', all()));
    await this.warmupMetrics(params);
    await this.advance('search');
    return params;
  }

  /**
   * The float network's accuracy after the warm-up (the best epoch, BN recalibrated): the
   * accuracy the mapping search starts from, on the test set and its genuine records.
   */
  private async warmupMetrics(params: ParamStore): Promise<void> {
    const all = Int32Array.from({ length: this.data.test.n }, (_, i) => i);
    const g = this.data.genuineTestRecords;
    const warm = this.state.log.filter((r) => r.phase === 'warmup');
    const m = {
      model: this.spec.name, dataset: this.cfg.dataset, epochs: this.cfg.epochsWarmup,
      bestEpoch: this.state.best?.phase === 'warmup' ? this.state.best.epoch : null,
      valAccuracy: this.state.best?.phase === 'warmup' ? this.state.best.valAccuracy : null,
      testAccuracy: evaluate(this.spec, params, this.data.test, all, 256, this.cfg.norm),
      genuineTestAccuracy: g ? evaluate(this.spec, params, this.data.test, all.subarray(0, g), 256, this.cfg.norm) : null,
      genuineTestRecords: g,
      seconds: warm.reduce((a, r) => a + r.seconds, 0),
      secondsPerEpoch: warm.map((r) => Math.round(r.seconds)),
    };
    await writeJsonAtomic(path.join(this.dir, WARMUP_METRICS), m);
    this.io.log(`warm-up: float test accuracy ${(100 * m.testAccuracy).toFixed(2)}%` +
      (m.genuineTestAccuracy != null ? ` (genuine records ${(100 * m.genuineTestAccuracy).toFixed(2)}%)` : ''));
  }

  /**
   * Replaces the BatchNorm running statistics by their population values over up to
   * 2,048 un-augmented training images (cumulative average over batches) before BN is
   * folded into the convolutions. After a short warm-up the momentum-0.1 running
   * averages still lean toward their initial values (mean 0, variance 1), and a network
   * folded with them no longer computes what was trained. Conv-vs-depthwise layers keep
   * the default split (each branch's statistics cover all its channels either way).
   */
  private recalibrateBatchNorm(params: ParamStore): void {
    if (![...params.state.keys()].some((k) => k.endsWith('.mean'))) return;
    const idx = this.trainIdx.subarray(0, Math.min(2048, this.trainIdx.length));
    let k = 0;
    for (const b of epochBatches(this.data.train, idx, { batchSize: this.cfg.batch, shuffle: false, augment: false, norm: this.cfg.norm, seed: 0, dropLast: false }, 0)) {
      // Momentum 1/(k+1): the running value becomes the mean over the k+1 batches so far.
      tf.tidy(() => { forward(this.spec, params, b.x, { training: true, bnMomentum: 1 / (k + 1) }); });
      k++;
      tf.dispose([b.x, b.y]);
    }
    this.io.log(`warm-up: BatchNorm statistics recalibrated on ${idx.length} training images`);
  }

  // ---- search -------------------------------------------------------------------------

  private async searchPhase(model: SearchModel, soft: SoftCost, costRef: number): Promise<void> {
    if (this.state.phase !== 'search') {
      return; // already past it: the finetune phase restores its own checkpoint
    }
    if (this.cfg.fixedMapping) {
      const assignment = await this.baselineAssignment(this.cfg.fixedMapping);
      model.fix(assignment); // validates it
      await saveTensors(path.join(this.dir, 'search.bin'), prefixed('p/', model.params.trainable));
      this.state.assignment = assignment;
      this.io.log(`baseline mapping ${this.cfg.fixedMapping}: no search`);
      await this.advance('finetune');
      return;
    }
    const s = this.cfg.search;
    const sgdW = new Sgd({ lr: s.lrWeights, momentum: s.momentum, weightDecay: s.weightDecay });
    const sgdQ = new Sgd({ lr: s.lrQuant, momentum: 0, weightDecay: 0 });
    const adam = new Adam({ lr: s.lrAlpha });
    if (this.state.checkpoint) await this.restore(this.state.checkpoint, model.params.trainable, { sgd: sgdW, sgdq: sgdQ, adam });
    const E = this.cfg.epochsSearch;
    const bar = this.bar('search', E);
    const weights = model.group('weights'), alpha = model.group('alpha'), quant = model.group('quant');
    const vars = [...weights.values(), ...alpha.values(), ...quant.values()];
    for (let epoch = this.state.epoch; epoch < E; epoch++) {
      const T = Math.exp(-s.temperatureDecay * epoch);
      sgdW.options.lr = stepLr(s.lrWeights, epoch, E, this.cfg.lrSteps);
      const t0 = performance.now();
      const { loss, correct, seen } = this.networkEpoch('search', epoch, model, vars, T, bar, (out, y) => {
        const c = soft.evaluate(out.counts);
        const cost = this.cfg.target === 'latency' ? c.latency : c.energy;
        return tf.add(crossEntropy(out.logits, y), tf.mul(cost, this.cfg.lambda / costRef)) as tf.Scalar;
      }, (grads) => { sgdW.apply(weights, grads); adam.apply(alpha, grads); sgdQ.apply(quant, grads); });
      const valAccuracy = this.evalSearch(model, T);
      const expected = tf.tidy(() => {
        const c = soft.evaluate(model.softCounts(T));
        return (this.cfg.target === 'latency' ? c.latency : c.energy).dataSync()[0]!;
      });
      const assignment = model.discretise();
      model.fix(assignment);
      const discreteVal = this.evalSearch(model, 1);
      model.unfix();
      const rec = this.record('search', epoch, loss / seen, correct / seen, valAccuracy, t0, seen, T, expected, assignment, model,
        undefined, discreteVal);
      this.state.adamStep = adam.step;
      await this.endEpoch(rec, model.params.trainable, { sgd: sgdW, sgdq: sgdQ, adam }, null);
    }
    bar?.stop();
    const assignment = model.discretise();
    sgdW.dispose(); sgdQ.dispose(); adam.dispose();
    await saveTensors(path.join(this.dir, 'search.bin'), prefixed('p/', model.params.trainable));
    this.state.assignment = assignment;
    await this.advance('finetune');
  }

  private async baselineAssignment(name: string): Promise<Assignment> {
    let counts: number[][];
    let shuffle = false;
    if (name.startsWith('all:')) {
      const cu = this.platform.cus.findIndex((c) => `all:${c.name}` === name);
      const c = cu < 0 ? null : allOnCounts(this.platform, this.plans, cu);
      if (!c) throw new UserError(`baseline ${name}: no such all-on-one-CU mapping on ${this.platform.name}`);
      counts = c;
    } else if (name === 'min-latency' || name === 'min-energy') {
      counts = bestCounts(this.platform, this.plans, name === 'min-latency' ? 'latency' : 'energy');
    } else if (name.startsWith('random:')) {
      const file = path.join(name.slice('random:'.length), 'mapping.json');
      if (!existsSync(file)) throw new UserError(`baseline ${name}: ${file} does not exist (that run has not finished)`);
      const m = JSON.parse(await fs.readFile(file, 'utf8')) as { layers: { name: string; channels: Record<string, number[]> }[] };
      counts = this.spec.layers.map((l, k) => {
        const entry = m.layers[k];
        if (!entry || entry.name !== l.name) throw new UserError(`${file}: layer ${k} is not ${l.name}: another model`);
        return this.platform.cus.map((cu) => entry.channels[cu.name]?.length ?? 0);
      });
      shuffle = true;
    } else {
      throw new UserError(`unknown baseline mapping '${name}' (expected all:<cu>, min-latency, min-energy or random:<run dir>)`);
    }
    const rng = new Rng(this.cfg.seed * 7919 + 17);
    return this.plans.map((plan, k) => {
      // Contiguous blocks in CU order, the conv CU of a conv-vs-depthwise layer first.
      const order = this.platform.cus.map((_, i) => i);
      if (plan.mode === 'conv-vs-depthwise' && this.platform.split.style === 'conv-vs-depthwise') {
        const conv = this.platform.split.conv;
        order.splice(order.indexOf(conv), 1);
        order.unshift(conv);
      }
      const cus = order.flatMap((i) => Array(counts[k]![i]!).fill(i) as number[]);
      if (shuffle && plan.mode !== 'conv-vs-depthwise') {
        for (let i = cus.length - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [cus[i], cus[j]] = [cus[j]!, cus[i]!];
        }
      }
      return cus;
    });
  }

  // ---- fine-tune ----------------------------------------------------------------------

  private async finetunePhase(model: SearchModel): Promise<void> {
    if (!this.state.assignment) throw new Error('fine-tune without a mapping');
    model.fix(this.state.assignment);
    const f = this.cfg.finetune;
    const sgdW = new Sgd({ lr: f.lr, momentum: f.momentum, weightDecay: f.weightDecay });
    const sgdQ = new Sgd({ lr: f.lrQuant, momentum: 0, weightDecay: 0 });
    if (this.state.phase === 'done') {
      await this.load('final.bin', model);
      return;
    }
    if (this.state.checkpoint) await this.restore(this.state.checkpoint, model.params.trainable, { sgd: sgdW, sgdq: sgdQ });
    else await this.load('search.bin', model);
    const E = this.cfg.epochsFinetune;
    const bar = this.bar('finetune', E);
    const weights = model.group('weights'), quant = model.group('quant');
    const vars = [...weights.values(), ...quant.values()];
    const fixedCost = networkCost(this.platform, this.plans, model.countsOf(this.state.assignment));
    for (let epoch = this.state.epoch; epoch < E; epoch++) {
      sgdW.options.lr = stepLr(f.lr, epoch, E, this.cfg.lrSteps);
      const t0 = performance.now();
      const { loss, correct, seen } = this.networkEpoch('finetune', epoch, model, vars, 1, bar,
        (out, y) => crossEntropy(out.logits, y),
        (grads) => { sgdW.apply(weights, grads); sgdQ.apply(quant, grads); });
      const valAccuracy = this.evalSearch(model, 1);
      const rec = this.record('finetune', epoch, loss / seen, correct / seen, valAccuracy, t0, seen, null, null, this.state.assignment, model, fixedCost);
      await this.endEpoch(rec, model.params.trainable, { sgd: sgdW, sgdq: sgdQ }, model.params);
    }
    bar?.stop();
    sgdW.dispose(); sgdQ.dispose();
    await this.restoreBest(model);
  }

  /**
   * One epoch of the searchable network (search or fine-tune): per batch, the gradient of
   * `lossOf` w.r.t. `vars`, handed to `apply` (the phase's optimisers); quantizer scales
   * are kept positive. Returns summed loss, correct predictions and images seen.
   */
  private networkEpoch(phase: 'search' | 'finetune', epoch: number, model: SearchModel, vars: tf.Variable[], T: number,
    bar: PhaseBar | null,
    lossOf: (out: { logits: tf.Tensor2D; counts: tf.Tensor2D }, y: tf.Tensor1D) => tf.Scalar,
    apply: (grads: Record<string, tf.Tensor>) => void): { loss: number; correct: number; seen: number } {
    let loss = 0, correct = 0, seen = 0;
    for (const b of this.batches(epoch)) {
      try {
        const r = networkStep(model, vars, T, b.x, b.y, lossOf, apply);
        loss += r.loss * b.size; correct += r.correct; seen += b.size;
      } catch (e) {
        throw this.diverged(e, phase, epoch);
      } finally { tf.dispose([b.x, b.y]); }
      bar?.increment(1, { loss: (loss / seen).toFixed(3), acc: (correct / seen).toFixed(3), epoch: epoch + 1 });
    }
    return { loss, correct, seen };
  }

  private async load(file: string, model: SearchModel): Promise<void> {
    const full = path.join(this.dir, file);
    const t = await loadTensors(full);
    assignAll(full, model.params.trainable, t, 'p/');
    tf.dispose([...t.values()]);
  }

  private async restoreBest(model: SearchModel): Promise<void> {
    const best = this.state.best;
    if (best?.phase !== 'finetune') return; // no fine-tune epochs: the model as it is
    await this.load(best.file, model);
    this.io.log(`fine-tune: best epoch ${best.epoch} (val ${(100 * best.valAccuracy).toFixed(2)}%)`);
  }

  // ---- results ------------------------------------------------------------------------

  private async finish(model: SearchModel, ref: { name: string; value: number }): Promise<RunResult> {
    const assignment = this.state.assignment!;
    const cost = networkCost(this.platform, this.plans, model.countsOf(assignment));
    const all = Int32Array.from({ length: this.data.test.n }, (_, i) => i);
    const testAccuracy = this.evalSearch(model, 1, this.data.test, all);
    const g = this.data.genuineTestRecords;
    const lastFinetune = [...this.state.log].reverse().find((r) => r.phase === 'finetune');
    const valAccuracy = this.state.best?.phase === 'finetune' ? this.state.best.valAccuracy
      : lastFinetune?.valAccuracy ?? this.evalSearch(model, 1);
    const metrics: Metrics = {
      testAccuracy, valAccuracy,
      genuineTestAccuracy: g ? this.evalSearch(model, 1, this.data.test, all.subarray(0, g)) : null,
      genuineTestRecords: g,
      latencyCycles: cost.cycles, latencyMs: cost.ms, energyMJ: cost.energyMJ,
      lambda: this.cfg.lambda, target: this.cfg.target, platform: this.platform.name, model: this.spec.name,
      referenceCost: { mapping: ref.name, value: ref.value },
    };
    const mapping = {
      platform: this.platform.name, model: this.spec.name,
      layers: this.spec.layers.map((l, k) => ({
        name: l.name,
        channels: Object.fromEntries(this.platform.cus.map((cu) => [cu.name,
          assignment[k]!.flatMap((c, ch) => (c === cu.index ? [ch] : []))])),
      })),
    };
    const mappingFile = path.join(this.dir, 'mapping.json');
    const metricsFile = path.join(this.dir, 'metrics.json');
    await saveTensors(path.join(this.dir, 'final.bin'), prefixed('p/', model.params.trainable));
    await writeJsonAtomic(mappingFile, mapping);
    await writeJsonAtomic(metricsFile, metrics);
    if (this.state.phase !== 'done') await this.advance('done');
    return { dir: this.dir, metrics, mappingFile, metricsFile };
  }

  // ---- shared -------------------------------------------------------------------------

  private *batches(epoch: number) {
    yield* epochBatches(this.data.train, this.trainIdx, {
      batchSize: this.cfg.batch, shuffle: true, augment: true, norm: this.cfg.norm, seed: this.cfg.seed, dropLast: true,
    }, epoch);
  }

  private evalSearch(model: SearchModel, T: number, set: ImageSet = this.data.train, idx: Int32Array = this.split.val): number {
    let correct = 0;
    for (const b of epochBatches(set, idx, { batchSize: 256, shuffle: false, augment: false, norm: this.cfg.norm, seed: 0, dropLast: false }, 0)) {
      correct += tf.tidy(() => countCorrect(model.forward(b.x, T).logits, b.y));
      tf.dispose([b.x, b.y]);
    }
    return idx.length ? correct / idx.length : NaN;
  }

  private record(phase: EpochRecord['phase'], epoch: number, loss: number, trainAccuracy: number, valAccuracy: number,
    t0: number, seen: number, temperature: number | null, expectedCost: number | null,
    assignment: Assignment | null, model?: SearchModel, fixedCost?: ReturnType<typeof networkCost>,
    discreteValAccuracy: number | null = null): EpochRecord {
    const seconds = (performance.now() - t0) / 1000;
    let discreteCost: EpochRecord['discreteCost'] = null;
    let fractions: EpochRecord['fractions'] = null;
    if (assignment && model) {
      const counts = model.countsOf(assignment);
      const c = fixedCost ?? networkCost(this.platform, this.plans, counts);
      discreteCost = { cycles: c.cycles, ms: c.ms, energyMJ: c.energyMJ };
      fractions = Object.fromEntries(this.spec.layers.map((l, k) => [l.name,
        Object.fromEntries(this.platform.cus.map((cu, i) => [cu.name, counts[k]![i]! / l.cout]))]));
    }
    const r: EpochRecord = {
      phase, epoch: epoch + 1, loss, trainAccuracy, valAccuracy, discreteValAccuracy, temperature, expectedCost, discreteCost, fractions,
      seconds, imgPerSec: seen / seconds, numTensors: tf.memory().numTensors,
    };
    const cost = discreteCost ? ` | ${discreteCost.cycles.toFixed(0)} cycles ${discreteCost.energyMJ.toFixed(5)} mJ` : '';
    this.say(`${phase} epoch ${r.epoch}: loss ${loss.toFixed(4)} train ${(100 * trainAccuracy).toFixed(2)}% ` +
      `val ${(100 * valAccuracy).toFixed(2)}%${discreteValAccuracy !== null ? ` (discrete ${(100 * discreteValAccuracy).toFixed(2)}%)` : ''}${temperature !== null ? ` T ${temperature.toFixed(3)}` : ''}${cost} (${seconds.toFixed(1)} s)`);
    return r;
  }

  /** Saves the epoch: best snapshot (if improved), checkpoint, then state + log, atomically. */
  private async endEpoch(rec: EpochRecord, vars: Map<string, tf.Variable>, opts: { sgd?: Sgd; sgdq?: Sgd; adam?: Adam },
    bestOf: ParamStore | null): Promise<void> {
    if (bestOf && (!this.state.best || this.state.best.phase !== rec.phase || rec.valAccuracy > this.state.best.valAccuracy)) {
      const file = `best-${rec.phase}.bin`;
      await saveTensors(path.join(this.dir, file), prefixed('p/', new Map([...bestOf.trainable, ...bestOf.state])));
      this.state.best = { phase: rec.phase, epoch: rec.epoch, valAccuracy: rec.valAccuracy, file };
    }
    const tensors = prefixed('p/', vars);
    if (opts.sgd) for (const [k, t] of opts.sgd.state()) tensors.set(`sgd/${k}`, t);
    if (opts.sgdq) for (const [k, t] of opts.sgdq.state()) tensors.set(`sgdq/${k}`, t);
    if (opts.adam) for (const [k, t] of opts.adam.state()) tensors.set(`adam/${k}`, t);
    const file = `ckpt-${rec.phase}-${rec.epoch}.bin`;
    await saveTensors(path.join(this.dir, file), tensors);
    const previous = this.state.checkpoint;
    this.state.checkpoint = file;
    this.state.epoch = rec.epoch;
    this.state.log.push(rec);
    await this.saveState();
    if (previous && previous !== file) await fs.rm(path.join(this.dir, previous), { force: true });
    this.io.afterEpoch?.(rec);
  }

  private async restore(file: string, vars: Map<string, tf.Variable>, opts: { sgd?: Sgd; sgdq?: Sgd; adam?: Adam }): Promise<void> {
    const full = path.join(this.dir, file);
    const t = await loadTensors(full);
    assignAll(full, vars, t, 'p/');
    opts.sgd?.load(t, 'sgd/');
    opts.sgdq?.load(t, 'sgdq/');
    opts.adam?.load(t, 'adam/', this.state.adamStep);
    tf.dispose([...t.values()]);
  }

  private async advance(phase: RunState['phase']): Promise<void> {
    const previous = this.state.checkpoint;
    this.state.phase = phase;
    this.state.epoch = 0;
    this.state.checkpoint = null;
    this.state.adamStep = 0;
    await this.saveState();
    if (previous) await fs.rm(path.join(this.dir, previous), { force: true });
  }

  private async saveState(): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'log.jsonl'), this.state.log.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await writeJsonAtomic(stateFile(this.dir), this.state);
  }

  private diverged(e: unknown, phase: string, epoch: number): unknown {
    if (e instanceof NonFiniteLossError) {
      return new UserError(`${phase} epoch ${epoch + 1}: the loss became ${e.loss}; lower the learning rate ` +
        `(the last checkpoint in ${this.dir} is intact)`);
    }
    return e;
  }

  private bar(phase: string, epochs: number): PhaseBar | null {
    const steps = Math.floor(this.trainIdx.length / this.cfg.batch);
    const todo = (epochs - this.state.epoch) * steps;
    if (!this.io.progress || todo <= 0) return null;
    const bar = new cliProgress.SingleBar({
      format: `${phase.padEnd(8)} epoch {epoch}/${epochs} {bar} {value}/{total} steps | loss {loss} | acc {acc} | ETA {eta_formatted}`,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    this.activeBar = new PhaseBar(bar, todo, { loss: '-', acc: '-', epoch: this.state.epoch + 1 });
    return this.activeBar;
  }
}

/**
 * One optimisation step of a searchable network: gradient of `lossOf` w.r.t. `vars`,
 * handed to `apply` (the phase's optimisers); quantizer scales kept positive.
 */
export function networkStep(model: SearchModel, vars: tf.Variable[], T: number, x: tf.Tensor4D, y: tf.Tensor1D,
  lossOf: (out: { logits: tf.Tensor2D; counts: tf.Tensor2D }, y: tf.Tensor1D) => tf.Scalar,
  apply: (grads: Record<string, tf.Tensor>) => void): { loss: number; correct: number } {
  const r = tf.tidy(() => {
    let logits: tf.Tensor2D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x, T);
      logits = tf.keep(out.logits);
      return lossOf(out, y);
    }, vars);
    const lv = value.dataSync()[0]!;
    if (!Number.isFinite(lv)) throw new NonFiniteLossError(lv);
    apply(grads);
    const k = countCorrect(logits!, y);
    (logits as tf.Tensor | null)?.dispose();
    return { loss: lv, correct: k };
  });
  model.clampQuantParams();
  return r;
}

/** A phase's progress bar (epoch, loss, accuracy, ETA) that lets log lines through. */
class PhaseBar {
  private value = 0;
  stopped = false;
  constructor(private readonly bar: cliProgress.SingleBar, private readonly total: number, private payload: Record<string, unknown>) {
    bar.start(total, 0, payload);
  }

  increment(n: number, payload: Record<string, unknown>): void {
    this.value += n;
    this.payload = payload;
    this.bar.increment(n, payload);
  }

  /** Prints `line` without leaving a half-drawn bar behind, then redraws the bar. */
  log(line: string, out: (l: string) => void): void {
    this.bar.stop();
    out(line);
    if (this.value < this.total) this.bar.start(this.total, this.value, this.payload);
    else this.stopped = true;
  }

  stop(): void {
    if (!this.stopped) this.bar.stop();
    this.stopped = true;
  }
}

function prefixed(prefix: string, m: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  return new Map([...m].map(([k, v]) => [prefix + k, v]));
}
