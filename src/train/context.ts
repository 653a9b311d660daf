/**
 * What every phase of a run uses: the run directory and its state, the data split and
 * batches, evaluation, epoch records, checkpoints (save, restore, advance to the next
 * phase) and the progress bar. Phases (phases/*.ts) are algorithms over this context; the
 * run loop (run.ts) owns the order of phases and resume.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import cliProgress from 'cli-progress';
import type { CifarData } from '../data/cifar.js';
import { epochBatches, trainValSplit } from '../data/pipeline.js';
import { networkCost, planLayers, type LayerPlan } from '../hw/cost.js';
import type { Platform } from '../hw/platform.js';
import type { ParamStore } from '../models/params.js';
import { geometry, type ModelSpec } from '../models/spec.js';
import { exactCostUnsupported } from '../search/exact_cost.js';
import { feasibleForwardUnsupported } from '../search/feasible.js';
import type { Flips } from '../search/flips.js';
import type { Assignment, SearchModel } from '../search/model.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import type { Adam } from './adam.js';
import { assignAll, loadTensors, saveTensors } from '../models/checkpoint.js';
import type { EpochRecord, RunConfig, RunState } from './config.js';
import { accuracies } from './evaluate.js';
import type { Sgd } from './sgd.js';
import { NonFiniteLossError } from './step.js';

export interface RunIO {
  log: (line: string) => void;
  progress: boolean;
  /** Test hook: called after each epoch's state is saved. */
  afterEpoch?: (r: EpochRecord) => void;
}

export interface Optimisers { sgd?: Sgd; sgdq?: Sgd; adam?: Adam }

export const stateFile = (dir: string) => path.join(dir, 'state.json');

export function prefixed(prefix: string, m: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  return new Map([...m].map(([k, v]) => [prefix + k, v]));
}

export class RunContext {
  state!: RunState;
  readonly plans: LayerPlan[];
  readonly split: { train: Int32Array; val: Int32Array };
  readonly trainIdx: Int32Array;
  /** The progress bar of the running phase, if any (log lines are printed above it). */
  private activeBar: PhaseBar | null = null;

  constructor(readonly dir: string, readonly cfg: RunConfig, readonly spec: ModelSpec,
    readonly platform: Platform, readonly data: CifarData, readonly io: RunIO) {
    this.plans = planLayers(platform, geometry(spec), spec.name);
    if (!this.plans.some((p) => p.searchable)) {
      throw new UserError(`platform ${platform.name} leaves nothing to search in ${spec.name}: ` +
        'no layer can run on more than one compute unit');
    }
    const noExact = cfg.costGrad === 'exact' && cfg.epochsSearch > 0 && !cfg.fixedMapping ? exactCostUnsupported(this.plans, cfg.search.relaxation) : null;
    if (noExact) throw new UserError(`--cost-grad exact: ${noExact}`);
    const noFeasible = cfg.searchForward === 'feasible' && cfg.epochsSearch > 0 && !cfg.fixedMapping
      ? feasibleForwardUnsupported(this.plans, cfg.search.relaxation, cfg.budget !== null) : null;
    if (noFeasible) throw new UserError(`--search-forward feasible: ${noFeasible}`);
    this.split = trainValSplit(data.train.n, cfg.valSize, cfg.seed);
    const t = this.split.train;
    this.trainIdx = cfg.trainLimit ? t.subarray(0, Math.min(cfg.trainLimit, t.length)) : t;
    if (this.stepsPerEpoch < 1) {
      throw new UserError(`${this.trainIdx.length} training images make no batch of ${cfg.batch}: lower --batch or raise --train-limit`);
    }
  }

  /**
   * The test records a run reports on: the first --test-limit of them (all by default), and
   * among those the genuine-pixel ones (a prefix of the test file), null when unknown.
   */
  testIndices(): { all: Int32Array; genuine: Int32Array | null } {
    const n = this.cfg.testLimit ? Math.min(this.cfg.testLimit, this.data.test.n) : this.data.test.n;
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const g = this.data.genuineTestRecords;
    return { all, genuine: g ? all.subarray(0, Math.min(g, n)) : null };
  }

  get stepsPerEpoch(): number { return Math.floor(this.trainIdx.length / this.cfg.batch); }

  say(line: string): void {
    if (this.activeBar && !this.activeBar.stopped) this.activeBar.log(line, this.io.log);
    else this.io.log(line);
  }

  *batches(epoch: number) {
    yield* epochBatches(this.data.train, this.trainIdx, {
      batchSize: this.cfg.batch, shuffle: true, augment: true, norm: this.cfg.norm, seed: this.cfg.seed, dropLast: true,
    }, epoch);
  }

  /** Validation accuracy of the searchable network at temperature T. */
  evalSearch(model: SearchModel, T: number): number {
    return accuracies((x) => model.forward(x, T).logits, this.data.train, this.split.val, this.cfg.norm).accuracy;
  }

  record(phase: EpochRecord['phase'], epoch: number, loss: number, trainAccuracy: number, valAccuracy: number,
    t0: number, seen: number, extra: {
      temperature?: number | null; expectedCost?: number | null; assignment?: Assignment | null; model?: SearchModel;
      discreteValAccuracy?: number | null; lagrange?: number | null; flips?: Flips;
    } = {}): EpochRecord {
    const seconds = (performance.now() - t0) / 1000;
    let discreteCost: EpochRecord['discreteCost'] = null;
    let fractions: EpochRecord['fractions'] = null;
    if (extra.assignment && extra.model) {
      const counts = extra.model.countsOf(extra.assignment);
      const c = networkCost(this.platform, this.plans, counts);
      discreteCost = { cycles: c.cycles, ms: c.ms, energyMJ: c.energyMJ };
      fractions = Object.fromEntries(this.spec.layers.map((l, k) => [l.name,
        Object.fromEntries(this.platform.cus.map((cu, i) => [cu.name, counts[k]![i]! / l.cout]))]));
    }
    const r: EpochRecord = {
      phase, epoch: epoch + 1, loss, trainAccuracy, valAccuracy, discreteValAccuracy: extra.discreteValAccuracy ?? null,
      temperature: extra.temperature ?? null, expectedCost: extra.expectedCost ?? null, discreteCost,
      ...(extra.lagrange != null ? { lagrange: extra.lagrange } : {}), ...(extra.flips ? { flips: extra.flips } : {}), fractions,
      seconds, imgPerSec: seen / seconds, numTensors: tf.memory().numTensors,
    };
    const cost = discreteCost ? ` | ${discreteCost.cycles.toFixed(0)} cycles ${discreteCost.energyMJ.toFixed(5)} mJ` : '';
    const dv = r.discreteValAccuracy !== null && r.discreteValAccuracy !== valAccuracy ? ` (discrete ${(100 * r.discreteValAccuracy).toFixed(2)}%)` : '';
    this.say(`${phase} epoch ${r.epoch}: loss ${loss.toFixed(4)} train ${(100 * trainAccuracy).toFixed(2)}% ` +
      `val ${(100 * valAccuracy).toFixed(2)}%${dv}${r.temperature !== null ? ` T ${r.temperature.toFixed(3)}` : ''}` +
      `${extra.lagrange != null ? ` λ ${extra.lagrange.toFixed(3)}` : ''}${cost}` +
      `${extra.flips ? ` | ${extra.flips.moves} channel move(s), ${extra.flips.channels} channel(s)` : ''} (${seconds.toFixed(1)} s)`);
    return r;
  }

  /**
   * Saves the epoch: the best snapshot of `bestOf` (if `score` improved on the phase's
   * best), the checkpoint, then state + log, atomically.
   */
  async endEpoch(rec: EpochRecord, vars: Map<string, tf.Variable>, opts: Optimisers, bestOf: Map<string, tf.Variable> | null,
    score = rec.valAccuracy): Promise<void> {
    if (bestOf && (!this.state.best || this.state.best.phase !== rec.phase || score > this.state.best.valAccuracy)) {
      const file = `best-${rec.phase}.bin`;
      await saveTensors(path.join(this.dir, file), prefixed('p/', bestOf));
      this.state.best = { phase: rec.phase, epoch: rec.epoch, valAccuracy: score, file };
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

  async restore(file: string, vars: Map<string, tf.Variable>, opts: Optimisers): Promise<void> {
    const full = path.join(this.dir, file);
    const t = await loadTensors(full);
    assignAll(full, vars, t, 'p/');
    opts.sgd?.load(t, 'sgd/');
    opts.sgdq?.load(t, 'sgdq/');
    opts.adam?.load(t, 'adam/', this.state.adamStep);
    tf.dispose([...t.values()]);
  }

  /** Loads the variables saved in `file` (a snapshot or a phase's output) into `vars`. */
  async load(file: string, vars: Map<string, tf.Variable>): Promise<void> {
    const full = path.join(this.dir, file);
    const t = await loadTensors(full);
    try { assignAll(full, vars, t, 'p/'); } finally { tf.dispose([...t.values()]); }
  }

  /**
   * The network a phase starts from is its epoch-0 candidate: an epoch of the phase must
   * beat it on validation (at temperature T) to replace it, so a short phase that only
   * makes it worse does not. `file` holds its weights (written from `save` when given);
   * `forward`: the search's forward mapping that goes with them; `valAccuracy`: its
   * validation accuracy at T where already measured on exactly this network.
   */
  async startingCandidate(phase: 'search' | 'finetune', model: SearchModel, T: number, file: string,
    o: { save?: Map<string, tf.Variable>; forward?: Assignment; valAccuracy?: number } = {}): Promise<void> {
    if (o.save) await this.save(file, o.save);
    const valAccuracy = o.valAccuracy ?? this.evalSearch(model, T);
    this.state.best = { phase, epoch: 0, valAccuracy, file, ...(o.forward ? { forward: o.forward } : {}) };
    this.io.log(`${phase === 'search' ? 'search' : 'fine-tune'}: starting network val ${(100 * this.state.best.valAccuracy).toFixed(2)}%`);
  }

  async save(file: string, vars: Map<string, tf.Variable>): Promise<void> {
    await saveTensors(path.join(this.dir, file), prefixed('p/', vars));
  }

  async advance(phase: RunState['phase']): Promise<void> {
    const previous = this.state.checkpoint;
    this.state.phase = phase;
    this.state.epoch = 0;
    this.state.checkpoint = null;
    this.state.adamStep = 0;
    await this.saveState();
    if (previous) await fs.rm(path.join(this.dir, previous), { force: true });
  }

  async saveState(): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'log.jsonl'), this.state.log.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await writeJsonAtomic(stateFile(this.dir), this.state);
  }

  diverged(e: unknown, phase: string, epoch: number): unknown {
    if (e instanceof NonFiniteLossError) {
      const [flag, lr] = phase === 'warmup' ? ['--lr-warmup', this.cfg.warmup.lr]
        : phase === 'search' ? ['--lr-weights', this.cfg.search.lrWeights] : ['--lr-finetune', this.cfg.finetune.lr];
      return new UserError(`${phase} epoch ${epoch + 1}: the loss became ${e.loss} (diverged); the last checkpoint in ${this.dir} is intact: ` +
        `rerun the same command with --resume ${flag} ${lr / 4} (a lower rate; resume records the change in config.json)`);
    }
    return e;
  }

  bar(phase: string, epochs: number): PhaseBar | null {
    const steps = this.stepsPerEpoch;
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

/** The float parameters of a ParamStore, trainable and running statistics, by name. */
export function allParams(p: ParamStore): Map<string, tf.Variable> {
  return new Map([...p.trainable, ...p.state]);
}

/** A phase's progress bar (epoch, loss, accuracy, ETA) that lets log lines through. */
export class PhaseBar {
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
