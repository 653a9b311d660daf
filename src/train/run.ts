/**
 * One search run, in a run directory, resumable at epoch granularity:
 *   warm-up (float, or reused) → fold BN → search → discretise (→ project onto the
 *   budget) → fine-tune (fixed mapping) → test.
 * The run loop owns the directory, the order of the phases, checkpoints and resume; each
 * phase is its own module (phases/*.ts) over the run's context (context.ts). After every
 * epoch the run's state (state.json) and a checkpoint of every tensor (ckpt-*.bin) are
 * written atomically, state last; `resume` restarts from them and gives the same result
 * as an uninterrupted run (batches and initialisation are seeded).
 */
import { constants as fsConstants, existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { CifarData } from '../data/cifar.js';
import { normNonNegative } from '../data/pipeline.js';
import { networkCost, referenceCost, type Objective } from '../hw/cost.js';
import { mappingFileOf } from '../hw/mapping_file.js';
import { RUN_PLATFORM_FILE, type Platform } from '../hw/platform.js';
import { SoftCost } from '../hw/soft.js';
import { forward } from '../models/forward.js';
import type { ParamStore } from '../models/params.js';
import { MODEL_FILE } from '../models/resolve.js';
import type { ModelSpec } from '../models/spec.js';
import { SearchModel } from '../search/model.js';
import { copyFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { readJsonFile } from '../util/json.js';
import { acquireLock } from '../util/lock.js';
import type { RunConfig } from './config.js';
import { RunContext, stateFile, type RunIO } from './context.js';
import { testAccuracies } from './evaluate.js';
import { finetunePhase } from './phases/finetune.js';
import { searchPhase } from './phases/search.js';
import { warmupPhase } from './phases/warmup.js';
import { atOlderDefault, SETTINGS_ADDED_LATER } from '../util/settings.js';

export type { EpochRecord, RunConfig } from './config.js';
export type { RunIO } from './context.js';
export { WARMUP_METRICS } from './phases/warmup.js';

export interface RunResult {
  dir: string;
  metrics: Metrics;
  mappingFile: string;
  metricsFile: string;
}

export interface Metrics {
  testAccuracy: number;
  valAccuracy: number;
  /** Test records evaluated (all unless --test-limit). */
  testRecords?: number;
  genuineTestAccuracy: number | null;
  genuineTestRecords: number | null;
  latencyCycles: number;
  latencyMs: number;
  energyMJ: number;
  lambda: number;
  /** Budget mode: the budget (target unit) the mapping was projected onto. */
  budget?: number | null;
  target: Objective;
  platform: string;
  model: string;
  referenceCost: { mapping: string; value: number };
}

export class Run {
  private readonly ctx: RunContext;

  constructor(readonly dir: string, readonly cfg: RunConfig, readonly spec: ModelSpec,
    readonly platform: Platform, data: CifarData, io: RunIO, readonly meta: Record<string, unknown>) {
    this.ctx = new RunContext(dir, cfg, spec, platform, data, io);
  }

  /**
   * Starts a new run in an empty directory, or resumes the one there (from any moment: a
   * run killed before its first checkpoint starts over with its recorded settings).
   * Returns null for a warm-up-only run. The directory is locked while the run works in it.
   */
  async start(resume: boolean): Promise<RunResult | null> {
    await checkOutDir(this.dir);
    const release = acquireLock(this.dir, 'this run directory');
    try {
      return await this.startLocked(resume);
    } finally {
      release();
    }
  }

  private async startLocked(resume: boolean): Promise<RunResult | null> {
    const sf = stateFile(this.dir);
    const cf = path.join(this.dir, 'config.json');
    const ctx = this.ctx;
    // Temp files of a write a kill interrupted (never read: every write renames).
    for (const f of await fs.readdir(this.dir)) if (/^\..*\.tmp$/.test(f)) await fs.rm(path.join(this.dir, f), { force: true });
    if (existsSync(sf)) {
      if (!resume) throw new UserError(`${this.dir} already holds a run: pass --resume to continue it, or choose another --out`);
      await this.checkConfig();
      ctx.state = await readJsonFile<RunContext['state']>(sf, 'the run state file');
      ctx.io.log(`resuming ${this.dir}: ${ctx.state.phase}, ${ctx.state.epoch} epoch(s) done`);
      return this.execute();
    }
    if (resume && !existsSync(cf)) throw new UserError(`${this.dir}: nothing to resume (no state.json)`);
    if (resume) {
      await this.checkConfig();
      ctx.io.log(`resuming ${this.dir}: killed before its first checkpoint; starting it over with its settings`);
    } else if (existsSync(cf)) {
      throw new UserError(`${this.dir} already holds a run (not started far enough to checkpoint): pass --resume to start it over, or choose another --out`);
    }
    await writeJsonAtomic(cf, { ...this.cfg, ...this.meta });
    // The run directory names its network completely (export/schedule rebuild it from here).
    await writeJsonAtomic(path.join(this.dir, MODEL_FILE), this.spec);
    // ... and its platform (export/schedule/report still work after the original moved).
    const pf = this.meta.platformFile;
    if (typeof pf === 'string' && existsSync(pf)) await copyFileAtomic(pf, path.join(this.dir, RUN_PLATFORM_FILE));
    ctx.state = { phase: 'warmup', epoch: 0, checkpoint: null, best: null, assignment: null, adamStep: 0, log: [] };
    await ctx.saveState();
    return this.execute();
  }

  /**
   * Every setting that changes results must match the run's config.json: the run's settings,
   * its data and its platform (the copy in the run directory). Learning rates may change
   * on resume (after a diverged epoch): the new ones are recorded in config.json.
   */
  private async checkConfig(): Promise<void> {
    const file = path.join(this.dir, 'config.json');
    const saved = await readJsonFile<Record<string, unknown>>(file, 'the run settings file');
    const changed: string[] = [];
    for (const [k, v] of Object.entries(this.cfg)) {
      // A setting added later, at its default (runs started before it existed ran that way).
      if (!(k in saved) && (v === null || v === false || atOlderDefault(k, v))) continue;
      if (JSON.stringify(saved[k]) === JSON.stringify(v)) continue;
      if (LR_KEYS.has(k) && lrOnly(saved[k], v)) { changed.push(k); continue; }
      // A setting added later that the run predates: it ran at the value older runs had.
      const was = k in saved ? saved[k] : SETTINGS_ADDED_LATER[k];
      throw new UserError(`${file}: the run was started with ${k} = ${JSON.stringify(was)}${k in saved ? '' : ' (before the setting existed)'}, ` +
        `not ${JSON.stringify(v)}; resume with the same settings`);
    }
    if (typeof saved.data === 'string' && typeof this.meta.data === 'string' && saved.data !== this.meta.data) {
      throw new UserError(`${file}: the run was started on the data in ${saved.data}, not ${this.meta.data}; resume with --data ${saved.data}`);
    }
    const own = path.join(this.dir, RUN_PLATFORM_FILE), pf = this.meta.platformFile;
    if (existsSync(own) && typeof pf === 'string' && existsSync(pf) && path.resolve(pf) !== path.resolve(own)) {
      const norm = (f: string) => JSON.stringify(JSON.parse(readFileSync(f, 'utf8')));
      let same = false;
      try { same = norm(own) === norm(pf); } catch { same = false; }
      if (!same) throw new UserError(`${pf}: differs from the platform the run was started with (${own}); resume with --platform ${own}`);
    }
    if (changed.length) {
      const history = Array.isArray(saved.lrChanges) ? saved.lrChanges as unknown[] : [];
      history.push({ at: new Date().toISOString(), from: Object.fromEntries(changed.map((k) => [k, saved[k]])) });
      await writeJsonAtomic(file, { ...saved, ...Object.fromEntries(changed.map((k) => [k, (this.cfg as unknown as Record<string, unknown>)[k]])), lrChanges: history });
      this.ctx.io.log(`resuming with changed learning rates (${changed.join(', ')}), recorded in ${file}`);
    }
  }

  private async execute(): Promise<RunResult | null> {
    const ctx = this.ctx;
    const float = await warmupPhase(ctx);
    if (this.cfg.warmupOnly) {
      float.dispose();
      if (ctx.state.phase !== 'done') await ctx.advance('done');
      return null;
    }
    const s = this.cfg.search;
    const model = SearchModel.fromFloat(this.spec, float, this.platform, ctx.plans, {
      signedInput: !normNonNegative(this.cfg.norm), relaxation: s.relaxation, ternaryGrad: s.ternaryGrad,
    });
    // Distillation keeps the float network as the teacher; otherwise it is not needed any more.
    const teacher = this.cfg.distill.weight > 0 ? teacherOf(this.spec, float) : null;
    if (!teacher) float.dispose();
    const soft = new SoftCost(this.platform, ctx.plans, { temperature: s.costTemperature });
    const ref = referenceCost(this.platform, ctx.plans, this.cfg.target);
    try {
      await searchPhase(ctx, model, soft, ref.value, teacher);
      await finetunePhase(ctx, model, teacher);
      return await this.finish(model, ref);
    } finally {
      soft.dispose();
      model.dispose();
      if (teacher) float.dispose();
    }
  }

  private async finish(model: SearchModel, ref: { name: string; value: number }): Promise<RunResult> {
    const ctx = this.ctx;
    const assignment = ctx.state.assignment!;
    const cost = networkCost(this.platform, ctx.plans, model.countsOf(assignment));
    const { all, genuine } = ctx.testIndices();
    const { testAccuracy, genuineTestAccuracy } = testAccuracies((x) => model.forward(x, 1).logits, ctx.data.test, all, genuine?.length ?? null, ctx.cfg.norm);
    const lastFinetune = [...ctx.state.log].reverse().find((r) => r.phase === 'finetune');
    const valAccuracy = ctx.state.best?.phase === 'finetune' ? ctx.state.best.valAccuracy
      : lastFinetune?.valAccuracy ?? ctx.evalSearch(model, 1);
    const metrics: Metrics = {
      testAccuracy, valAccuracy, testRecords: all.length,
      genuineTestAccuracy,
      genuineTestRecords: genuine ? genuine.length : null,
      latencyCycles: cost.cycles, latencyMs: cost.ms, energyMJ: cost.energyMJ,
      lambda: this.cfg.lambda, ...(this.cfg.budget ? { budget: this.cfg.budget.value } : {}),
      target: this.cfg.target, platform: this.platform.name, model: this.spec.name,
      referenceCost: { mapping: ref.name, value: ref.value },
    };
    const mapping = mappingFileOf(this.platform, this.spec, assignment);
    const mappingFile = path.join(this.dir, 'mapping.json');
    const metricsFile = path.join(this.dir, 'metrics.json');
    await ctx.save('final.bin', model.params.trainable);
    await writeJsonAtomic(mappingFile, mapping);
    await writeJsonAtomic(metricsFile, metrics);
    if (ctx.state.phase !== 'done') await ctx.advance('done');
    return { dir: this.dir, metrics, mappingFile, metricsFile };
  }
}

/** The float network's logits (inference mode), the distillation teacher. */
function teacherOf(spec: ModelSpec, float: ParamStore): (x: tf.Tensor4D) => tf.Tensor2D {
  return (x) => forward(spec, float, x, { training: false });
}

/** Settings that hold learning rates: they may change on resume. */
const LR_KEYS = new Set(['warmup', 'search', 'finetune']);

/** True when the two settings differ only in their lr* fields. */
function lrOnly(a: unknown, b: unknown): boolean {
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return false;
  const strip = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('lr'))));
  return strip(a) === strip(b);
}

/** A run directory --out may name: a directory (or nothing yet) that is writable. */
async function checkOutDir(dir: string): Promise<void> {
  try {
    // One level at a time: Node's recursive mkdir never returns for a path under /proc.
    const missing: string[] = [];
    let d = path.resolve(dir);
    while (!existsSync(d)) { missing.unshift(d); d = path.dirname(d); }
    for (const m of missing) await fs.mkdir(m);
    if (!(await fs.stat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST' || err.code === 'ENOTDIR') throw new UserError(`--out ${dir}: a file is in the way (expected a directory)`);
    if (err.code === 'EACCES' || err.code === 'EROFS' || err.code === 'EPERM' || err.code === 'ENOENT') throw new UserError(`--out ${dir}: cannot create it (${err.code})`);
    throw e;
  }
  try {
    await fs.access(dir, fsConstants.W_OK);
  } catch {
    throw new UserError(`--out ${dir}: not writable`);
  }
}
