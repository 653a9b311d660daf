/** `hetsplit train`: warm-up → search → fine-tune of one λ, in a resumable run directory. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EngineInfo } from '../backend/engine.js';
import type { Argv, CommandModule } from 'yargs';
import type { CifarData, CifarName } from '../data/cifar.js';
import { locateCifar } from '../data/locate.js';
import { BUDGET_BASELINES, cheapestCost, networkObjective } from '../hw/budget.js';
import { bestCounts, planLayers, referenceMappings, type LayerPlan, type Objective } from '../hw/cost.js';
import { loadPlatform, type Platform } from '../hw/platform.js';
import type { Normalization } from '../data/pipeline.js';
import { MODEL_FILE, resolveModel } from '../models/resolve.js';
import { geometry, type ModelSpec } from '../models/spec.js';
import { MODELS } from '../models/zoo.js';
import { checkBaseline } from '../train/baselines.js';
import { Run, type RunConfig } from '../train/run.js';
import { LR_SCHEDULES, type LrSchedule } from '../train/schedule.js';
import { DEFAULT_SENSITIVITY, SENSITIVITY_SCORES, type SensitivityScore } from '../search/sensitivity.js';
import { UserError } from '../util/errors.js';
import { showProgress, startEngine, type GlobalArgs } from './common.js';
import { dataOptions } from './data.js';

export interface TrainArgs extends GlobalArgs {
  platform: string; model?: string; dataset: CifarName; data?: string; target: 'energy' | 'latency'; lambda: number;
  epochsWarmup: number; epochsSearch: number; epochsFinetune: number; batch: number; seed: number;
  trainLimit: number; testLimit: number; valSize: number; out?: string; resume: boolean; fromWarmup?: string;
  lrWarmup: number; lrWeights: number; lrAlpha?: number; alphaTravel: number; lrQuant: number; lrFinetune: number; lrWarmupFrac: number; lrSchedule: LrSchedule;
  momentum: number; weightDecay: number; weightDecayWarmup: number; temperatureStart: number; temperatureEnd: number; costTemperature: number;
  relaxation: 'hard' | 'soft'; ternaryGrad: 'clip' | 'pass'; warmStart: 'auto' | 'even'; warmStartMargin: number; sensitivity: SensitivityScore; costGrad?: 'soft' | 'exact'; searchForward?: 'argmax' | 'feasible'; calibrate: boolean;
  budget?: string; budgetLatencyMs?: number; budgetEnergyMj?: number; lagrangeLr: number;
  distill: number; distillTemperature: number;
  warmupOnly?: boolean; mapping?: string;
}

export function trainOptions<T>(y: Argv<T>) {
  return dataOptions(y)
    .option('platform', { type: 'string', default: 'diana', describe: 'built-in platform or a JSON file' })
    .option('model', {
      type: 'string',
      describe: `${Object.keys(MODELS).join(' | ')}, an .onnx file, or a directory with ${MODEL_FILE} (default: the --from-warmup's model, else resnet20)`,
    })
    .option('target', { choices: ['energy', 'latency'] as const, default: 'latency' as const, describe: 'the hardware cost the search trades against accuracy' })
    .option('epochs-warmup', { type: 'number', default: 40, describe: 'float warm-up epochs (skipped with --from-warmup)' })
    .option('epochs-search', { type: 'number', default: 20, describe: 'mapping search epochs' })
    .option('epochs-finetune', { type: 'number', default: 10, describe: 'fine-tune epochs of the discrete mapping' })
    .option('batch', { type: 'number', default: 128, describe: 'batch size' })
    .option('train-limit', { type: 'number', default: 0, describe: 'training images per epoch (0 = the whole training split)' })
    .option('test-limit', { type: 'number', default: 0, describe: 'test on the first N test records (0 = all; on CIFAR-10 the first 1,017 are the genuine-pixel ones)' })
    .option('val-size', { type: 'number', default: 5000, describe: 'held-out validation images (from the training set)' })
    .option('from-warmup', { type: 'string', describe: 'reuse the float warm-up of this run directory' })
    .option('lr-warmup', { type: 'number', default: 0.1, describe: 'warm-up SGD lr (cosine schedule)' })
    .option('lr-weights', { type: 'number', default: 1e-3, describe: 'search SGD lr of the weights (peak of the per-step schedule)' })
    .option('lr-alpha', { type: 'number', describe: 'search Adam lr of the mapping logits (default: --alpha-travel / search steps)' })
    .option('alpha-travel', { type: 'number', default: 2, describe: 'logits the mapping can move over the search (sets the default --lr-alpha)' })
    .option('lr-quant', { type: 'number', default: 1e-5, describe: 'SGD lr of the quantizer parameters' })
    .option('lr-finetune', { type: 'number', default: 1e-3, describe: 'fine-tune SGD lr of the weights (peak of the per-step schedule)' })
    .option('momentum', { type: 'number', default: 0.9, describe: 'SGD momentum of every phase, in [0, 1)' })
    .option('weight-decay', { type: 'number', default: 1e-4, describe: 'weight decay of the search and the fine-tune' })
    .option('weight-decay-warmup', { type: 'number', default: 5e-4, describe: 'weight decay of the float warm-up' })
    .option('lr-warmup-frac', { type: 'number', default: 0.05, describe: 'search/fine-tune: fraction of the steps over which the lr warms up (then cosine to 0)' })
    .option('lr-schedule', { choices: LR_SCHEDULES, default: 'phase' as LrSchedule, describe: 'phase: search and fine-tune each warm up and decay; run: one warm-up and one cosine over search + fine-tune (the fine-tune continues the search\'s)' })
    .option('temperature-start', { type: 'number', default: 1, describe: 'T of softmax(alpha/T) at the first search step' })
    .option('temperature-end', { type: 'number', default: 0.1, describe: 'T at the last search step (geometric per step)' })
    .option('relaxation', { choices: ['hard', 'soft'] as const, default: 'hard' as const, describe: 'hard: argmax mapping forward, softmax gradient (straight-through); soft: mixed weights' })
    .option('ternary-grad', { choices: ['clip', 'pass'] as const, default: 'clip' as const, describe: 'ternary weight gradient outside |w| <= S: zero (clip) or straight through (pass)' })
    .option('warm-start', { choices: ['auto', 'even'] as const, default: 'auto' as const, describe: 'auto: with a budget, start from the sensitivity-ranked mapping on it' })
    .option('cost-grad', { choices: ['soft', 'exact'] as const, default: 'soft' as const, describe: 'the search cost term\'s gradient: soft (the smooth cost model\'s) or exact (per channel, what moving it alone to each CU costs by the count tables; hard relaxation, per-channel splits)' })
    .option('search-forward', { choices: ['argmax', 'feasible'] as const, default: 'argmax' as const, describe: 'budget mode, hard relaxation: the mapping the search trains, the argmax of alpha, or the argmax moved only as far as the budget allows (every network trained fits the budget; per-channel splits)' })
    .option('sensitivity', { choices: SENSITIVITY_SCORES, default: DEFAULT_SENSITIVITY, describe: 'warm start\'s channel score: channel-fisher (½ E[(g·d)²], the channel\'s Fisher block in the direction of its quantization change), taylor (first-order loss change), fisher (second order, diagonal empirical Fisher) or measured (per layer, the calibrated loss with the whole layer on the cheaper CU, spread by taylor)' })
    .option('warm-start-margin', { type: 'number', default: 1, describe: 'logit gap of the warm start' })
    .option('calibrate', { type: 'boolean', default: true, describe: 'match each layer\'s output statistics to the float network after a mapping change (--no-calibrate to skip)' })
    .option('lagrange-lr', { type: 'number', default: 0.5, describe: 'budget mode: step of the multiplier, lambda += lr*(cost/budget - 1) per step' })
    .option('distill', { type: 'number', default: 0, describe: 'weight of the distillation term from the float network (0: off)' })
    .option('distill-temperature', { type: 'number', default: 4, describe: 'temperature of the distillation KL' })
    .option('cost-temperature', { type: 'number', default: 0.05, describe: 'tau of the smooth max/min across CUs' });
}

/**
 * The model of a run and its input preprocessing: --model if given, else the model of the
 * --from-warmup directory (an imported network's spec and normalisation), else resnet20.
 */
export function resolveRunModel(a: { model?: string; fromWarmup?: string }, numClasses = 10): { spec: ModelSpec; norm: Normalization; ref: string } {
  let norm: Normalization = 'unit';
  let ref = a.model ?? 'resnet20';
  if (a.fromWarmup) {
    const cfgFile = path.join(a.fromWarmup, 'config.json');
    if (!existsSync(cfgFile)) throw new UserError(`--from-warmup ${a.fromWarmup}: not a warm-up directory (no config.json)`);
    let cfg: { model?: string; norm?: Normalization };
    try { cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as typeof cfg; } catch (e) {
      throw new UserError(`${cfgFile}: not valid JSON (${(e as Error).message})`);
    }
    norm = cfg.norm ?? 'unit';
    if (!a.model) ref = existsSync(path.join(a.fromWarmup, MODEL_FILE)) ? path.resolve(a.fromWarmup) : cfg.model ?? 'resnet20';
  }
  return { spec: resolveModel(ref, numClasses), norm, ref };
}

/**
 * The budget in the target's unit (cycles or mJ), checked against what the platform can
 * reach: at least the cheapest mapping's cost.
 */
export function resolveBudget(a: { budget?: string; budgetLatencyMs?: number; budgetEnergyMj?: number }, platform: Platform,
  plans: LayerPlan[], target: Objective): RunConfig['budget'] {
  let value: number, spec: string;
  const of = (counts: number[][]) => networkObjective(platform, plans, counts, target);
  if (a.budget !== undefined && /^(min-latency|min-energy|all:.+)$/.test(a.budget)) {
    const b = a.budget;
    const counts = b.startsWith('all:') ? referenceMappings(platform, plans).find((m) => m.name === b)?.counts
      : bestCounts(platform, plans, b === 'min-latency' ? 'latency' : 'energy');
    if (!counts) throw new UserError(`--budget ${b}: no such mapping on ${platform.name}`);
    value = of(counts);
    spec = `the cost of ${b}`;
  } else if (a.budget !== undefined) {
    const f = Number(a.budget);
    if (!(Number.isFinite(f) && f > 0)) throw new UserError(`--budget: expected a fraction > 0 or min-latency, min-energy, all:<cu>; got '${a.budget}'`);
    const ref = referenceMappings(platform, plans).filter((m) => m.name.startsWith('all:'))
      .map((m) => ({ name: m.name, v: of(m.counts) }))
      .sort((x, y) => y.v - x.v)[0];
    if (!ref) throw new UserError(`--budget: platform ${platform.name} has no all-on-one-CU mapping to take a fraction of`);
    value = f * ref.v;
    spec = `${f} x ${ref.name}`;
  } else if (a.budgetLatencyMs !== undefined) {
    if (!(Number.isFinite(a.budgetLatencyMs) && a.budgetLatencyMs > 0)) throw new UserError(`--budget-latency-ms: expected a number > 0, got ${a.budgetLatencyMs}`);
    value = (a.budgetLatencyMs * platform.clockHz) / 1e3;
    spec = `${a.budgetLatencyMs} ms`;
  } else if (a.budgetEnergyMj !== undefined) {
    if (!(Number.isFinite(a.budgetEnergyMj) && a.budgetEnergyMj > 0)) throw new UserError(`--budget-energy-mj: expected a number > 0, got ${a.budgetEnergyMj}`);
    value = a.budgetEnergyMj;
    spec = `${a.budgetEnergyMj} mJ`;
  } else {
    return null;
  }
  const floor = cheapestCost(platform, plans, target);
  if (value < floor) {
    const unit = target === 'latency' ? `cycles (${(floor / platform.clockHz * 1e3).toPrecision(4)} ms)` : 'mJ';
    throw new UserError(`budget ${spec} = ${value.toPrecision(6)} is below the cheapest mapping of this model on ${platform.name}: ${floor.toPrecision(6)} ${unit}`);
  }
  return { value, spec };
}

/** The data fits the run: validation images leave some to train on, and the model's outputs are its classes. */
export function checkDataFits(data: CifarData, valSize: number, spec: ModelSpec): void {
  if (valSize >= data.train.n) throw new UserError(`--val-size ${valSize}: the training set has only ${data.train.n} images`);
  if (spec.numClasses !== data.format.numClasses) {
    throw new UserError(`model ${spec.name} has ${spec.numClasses} outputs; ${data.format.name} has ${data.format.numClasses} classes`);
  }
}

/** A comma-separated list of budgets (sweep/demo --budgets), each resolved as --budget; errors name the list's flag. */
export function resolveBudgetList(list: string[], flag: string, platform: Platform, plans: LayerPlan[], target: Objective): NonNullable<RunConfig['budget']>[] {
  return list.map((budget) => {
    try {
      return resolveBudget({ budget }, platform, plans, target)!;
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${flag} ${budget}: ${e.message.replace(/^--budget: /, '')}`);
      throw e;
    }
  });
}

/** Validates flags and resolves every setting of a run. */
export function resolveConfig(a: Omit<TrainArgs, 'out' | 'resume' | 'engine'>, model = a.model ?? 'resnet20',
  norm: Normalization = 'unit'): RunConfig {
  const nonNeg = ['lambda', 'weightDecay', 'weightDecayWarmup', 'lagrangeLr', 'warmStartMargin', 'lrWarmupFrac'] as const;
  const pos = ['lrWarmup', 'lrWeights', 'lrQuant', 'lrFinetune', 'costTemperature', 'batch', 'alphaTravel',
    'temperatureStart', 'temperatureEnd', 'distillTemperature'] as const;
  const flag = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  for (const k of nonNeg) if (!(Number.isFinite(a[k]) && a[k] >= 0)) throw new UserError(`${flag(k)}: expected a number >= 0, got ${a[k]}`);
  for (const k of pos) if (!(Number.isFinite(a[k]) && a[k] > 0)) throw new UserError(`${flag(k)}: expected a number > 0, got ${a[k]}`);
  if (a.lrAlpha !== undefined && !(Number.isFinite(a.lrAlpha) && a.lrAlpha > 0)) throw new UserError(`--lr-alpha: expected a number > 0, got ${a.lrAlpha}`);
  if (!(Number.isFinite(a.momentum) && a.momentum >= 0 && a.momentum < 1)) throw new UserError(`--momentum: expected a number in [0, 1), got ${a.momentum}`);
  if (!(Number.isFinite(a.distill) && a.distill >= 0 && a.distill <= 1)) throw new UserError(`--distill: expected a weight in [0, 1], got ${a.distill}`);
  if (a.lrWarmupFrac >= 1) throw new UserError(`--lr-warmup-frac: expected a fraction below 1, got ${a.lrWarmupFrac}`);
  for (const k of ['epochsWarmup', 'epochsSearch', 'epochsFinetune', 'trainLimit', 'testLimit', 'valSize', 'batch', 'seed'] as const) {
    if (!Number.isInteger(a[k]) || a[k] < 0) throw new UserError(`${flag(k)}: expected a whole number >= 0, got ${a[k]}`);
  }
  // The best epoch of every phase is chosen on the validation split: it cannot be empty.
  if (a.valSize < 1) throw new UserError(`--val-size: expected a whole number >= 1 (each phase keeps its best epoch on these images), got ${a.valSize}`);
  return {
    platform: a.platform, model, dataset: a.dataset, target: a.target, lambda: a.lambda, seed: a.seed,
    batch: a.batch, valSize: a.valSize, trainLimit: a.trainLimit || null, testLimit: a.testLimit || null,
    epochsWarmup: a.epochsWarmup, epochsSearch: a.epochsSearch, epochsFinetune: a.epochsFinetune,
    warmup: { lr: a.lrWarmup, momentum: a.momentum, weightDecay: a.weightDecayWarmup },
    budget: null,
    lagrangeLr: a.lagrangeLr,
    search: {
      lrWeights: a.lrWeights, momentum: a.momentum, weightDecay: a.weightDecay, lrQuant: a.lrQuant,
      lrAlpha: a.lrAlpha ?? null, alphaTravel: a.alphaTravel,
      temperatureStart: a.temperatureStart, temperatureEnd: a.temperatureEnd, costTemperature: a.costTemperature,
      relaxation: a.relaxation, ternaryGrad: a.ternaryGrad, warmStart: a.warmStart, warmStartMargin: a.warmStartMargin, calibrate: a.calibrate,
    },
    finetune: { lr: a.lrFinetune, momentum: a.momentum, weightDecay: a.weightDecay, lrQuant: a.lrQuant },
    lrWarmupFrac: a.lrWarmupFrac,
    lrSchedule: a.lrSchedule ?? 'phase',
    sensitivity: a.sensitivity ?? DEFAULT_SENSITIVITY,
    costGrad: a.costGrad ?? 'soft',
    searchForward: a.searchForward ?? 'argmax',
    distill: { weight: a.distill, temperature: a.distillTemperature },
    norm,
    fromWarmup: a.fromWarmup ? path.resolve(a.fromWarmup) : null,
    warmupOnly: a.warmupOnly ?? false,
    fixedMapping: a.mapping ?? null,
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Every option of `hetsplit train` (the sweep parses its points' command lines with it). */
export function trainCommandOptions<T>(y: Argv<T>) {
  return trainOptions(y)
    .option('seed', { type: 'number', default: 42, describe: 'seed of the split, the initialisation, the batches and the random mappings' })
    .option('budget', { type: 'string', describe: 'cost budget for --target: a fraction of the most expensive all-on-one-CU mapping (0.4 = 0.4 x all:digital on DIANA), or a baseline whose cost it is (min-latency, min-energy, all:<cu>)' })
    .option('budget-latency-ms', { type: 'number', describe: 'latency budget in ms (sets --target latency)' })
    .option('budget-energy-mj', { type: 'number', describe: 'energy budget in mJ (sets --target energy)' })
    .option('warmup-only', { type: 'boolean', describe: 'stop after the float warm-up (a sweep\'s shared warm-up)' })
    .option('mapping', { type: 'string', describe: 'baseline: fine-tune this fixed mapping instead of searching (all:<cu>, min-latency, min-energy, random:<run dir>, uniform with --budget: the same fraction of every layer on the more precise CU, max-precise with --budget: the most channels on the precise CU that fit, or a <file>.json mapping as a run writes it: exactly that mapping)' })
    .option('lambda', { type: 'number', default: 0.5, describe: 'weight of the normalised cost term' })
    .option('out', { type: 'string', describe: 'run directory (default runs/<model>-<platform>-<target>-l<lambda>)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from its last checkpoint' });
}

export const trainCommand: CommandModule<GlobalArgs, TrainArgs> = {
  command: 'train',
  describe: 'train a network and its per-channel CU mapping for one lambda (warm-up, search, fine-tune)',
  builder: (y) => trainCommandOptions(y) as never,
  handler: (args) => train(args),
};

/** Runs (or resumes) one training run and prints where its results are. */
export async function train(args: TrainArgs, engine?: EngineInfo): Promise<void> {
  {
    const platform = loadPlatform(args.platform);
    const { spec, norm } = resolveRunModel(args, args.dataset === 'cifar100' ? 100 : 10);
    const budgets = [args.budget, args.budgetLatencyMs, args.budgetEnergyMj].filter((v) => v !== undefined);
    if (budgets.length > 1) throw new UserError('--budget, --budget-latency-ms and --budget-energy-mj: give one');
    const target = args.budgetLatencyMs !== undefined ? 'latency' : args.budgetEnergyMj !== undefined ? 'energy' : args.target;
    const cfg = resolveConfig({ ...args, target }, spec.name, norm);
    cfg.budget = resolveBudget(args, platform, planLayers(platform, geometry(spec), spec.name), target);
    if (cfg.budget && cfg.fixedMapping && !BUDGET_BASELINES.includes(cfg.fixedMapping)) {
      throw new UserError('--mapping fine-tunes a fixed mapping: a budget does not apply (except to --mapping uniform and max-precise)');
    }
    if (cfg.fixedMapping) {
      checkBaseline(cfg.fixedMapping, platform, planLayers(platform, geometry(spec), spec.name), '--mapping', false,
        cfg.budget ? { ...cfg.budget, target } : null, spec);
    }
    const info = engine ?? await startEngine(args);
    const data = await locateCifar({ dataset: args.dataset, data: args.data });
    console.log(`data: ${data.source} (${data.train.n} train, ${data.test.n} test)`);
    checkDataFits(data, cfg.valSize, spec);
    // The default directory name is built from sanitised values: never a path outside runs/.
    const safe = (v: string) => v.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '-').replace(/-{2,}/g, '-').replace(/^[.-]+/, '') || 'x';
    const dir = path.resolve(args.out ?? path.join('runs', safe(`${spec.name}-${platform.name}-${target}-${cfg.budget ? `b${args.budget ?? args.budgetLatencyMs ?? args.budgetEnergyMj}` : `l${args.lambda}`}`)));
    const run = new Run(dir, cfg, spec, platform, data, { log: (l) => console.log(l), progress: showProgress() }, {
      engine: info.engine, threads: info.threads, kernels: info.kernels, versions: { hetsplit: version(), tfjs: tf.version_core, node: process.version },
      platformFile: platform.source, data: data.source,
    });
    const r = await run.start(args.resume);
    if (!r) {
      console.log(`warm-up: ${path.join(dir, 'warmup.bin')}`);
      return;
    }
    const m = r.metrics;
    const genuine = m.genuineTestAccuracy === null ? '' : ` (genuine-pixel records: ${(100 * m.genuineTestAccuracy).toFixed(2)}%)`;
    console.log(`test accuracy ${(100 * m.testAccuracy).toFixed(2)}%${genuine}; ${m.latencyCycles.toFixed(0)} cycles = ` +
      `${m.latencyMs.toFixed(3)} ms, ${m.energyMJ.toFixed(5)} mJ on ${m.platform}`);
    console.log(`mapping: ${r.mappingFile}`);
    console.log(`metrics: ${r.metricsFile}`);
  }
}
