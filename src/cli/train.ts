/** `hetsplit train`: warm-up → search → fine-tune of one λ, in a resumable run directory. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EngineInfo } from '../backend/engine.js';
import type { Argv, CommandModule } from 'yargs';
import type { CifarName } from '../data/cifar.js';
import { locateCifar } from '../data/locate.js';
import { loadPlatform } from '../hw/platform.js';
import type { Normalization } from '../data/pipeline.js';
import { MODEL_FILE, resolveModel } from '../models/resolve.js';
import type { ModelSpec } from '../models/spec.js';
import { MODELS } from '../models/zoo.js';
import { Run, type RunConfig } from '../train/run.js';
import { UserError } from '../util/errors.js';
import { showProgress, startEngine, type GlobalArgs } from './common.js';
import { dataOptions } from './data.js';

export interface TrainArgs extends GlobalArgs {
  platform: string; model?: string; dataset: CifarName; data?: string; target: 'energy' | 'latency'; lambda: number;
  epochsWarmup: number; epochsSearch: number; epochsFinetune: number; batch: number; seed: number;
  trainLimit: number; valSize: number; out?: string; resume: boolean; fromWarmup?: string;
  lrWarmup: number; lrWeights: number; lrAlpha: number; lrQuant: number; lrFinetune: number;
  momentum: number; weightDecay: number; weightDecayWarmup: number; temperatureDecay: number; costTemperature: number;
  warmupOnly?: boolean; mapping?: string;
}

export function trainOptions<T>(y: Argv<T>) {
  return dataOptions(y)
    .option('platform', { type: 'string', default: 'diana', describe: 'built-in platform or a JSON file' })
    .option('model', {
      type: 'string',
      describe: `${Object.keys(MODELS).join(' | ')}, an .onnx file, or a directory with ${MODEL_FILE} (default: the --from-warmup's model, else resnet20)`,
    })
    .option('target', { choices: ['energy', 'latency'] as const, default: 'latency' as const })
    .option('epochs-warmup', { type: 'number', default: 40 })
    .option('epochs-search', { type: 'number', default: 20 })
    .option('epochs-finetune', { type: 'number', default: 10 })
    .option('batch', { type: 'number', default: 128 })
    .option('seed', { type: 'number', default: 42 })
    .option('train-limit', { type: 'number', default: 0, describe: 'training images per epoch (0 = the whole training split)' })
    .option('val-size', { type: 'number', default: 5000, describe: 'held-out validation images (from the training set)' })
    .option('from-warmup', { type: 'string', describe: 'reuse the float warm-up of this run directory' })
    .option('lr-warmup', { type: 'number', default: 0.1, describe: 'warm-up SGD lr (cosine schedule)' })
    .option('lr-weights', { type: 'number', default: 1e-3, describe: 'search SGD lr of the weights' })
    .option('lr-alpha', { type: 'number', default: 1e-3, describe: 'search Adam lr of the mapping logits' })
    .option('lr-quant', { type: 'number', default: 1e-5, describe: 'SGD lr of the quantizer parameters' })
    .option('lr-finetune', { type: 'number', default: 1e-3, describe: 'fine-tune SGD lr of the weights' })
    .option('momentum', { type: 'number', default: 0.9 })
    .option('weight-decay', { type: 'number', default: 1e-4, describe: 'search and fine-tune' })
    .option('weight-decay-warmup', { type: 'number', default: 5e-4 })
    .option('temperature-decay', { type: 'number', default: 0.045, describe: 'T <- T*exp(-decay) per search epoch' })
    .option('cost-temperature', { type: 'number', default: 0.05, describe: 'tau of the smooth max/min across CUs' })
    .option('warmup-only', { type: 'boolean', describe: 'stop after the float warm-up (a sweep\'s shared warm-up)' })
    .option('mapping', { type: 'string', describe: 'baseline: fine-tune this fixed mapping instead of searching (all:<cu>, min-latency, min-energy, random:<run dir>)' });
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

/** Validates flags and resolves every setting of a run. */
export function resolveConfig(a: Omit<TrainArgs, 'out' | 'resume' | 'engine'>, model = a.model ?? 'resnet20',
  norm: Normalization = 'unit'): RunConfig {
  const nonNeg = ['lambda', 'weightDecay', 'weightDecayWarmup', 'temperatureDecay', 'momentum'] as const;
  const pos = ['lrWarmup', 'lrWeights', 'lrAlpha', 'lrQuant', 'lrFinetune', 'costTemperature', 'batch'] as const;
  const flag = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  for (const k of nonNeg) if (!(Number.isFinite(a[k]) && a[k] >= 0)) throw new UserError(`${flag(k)}: expected a number >= 0, got ${a[k]}`);
  for (const k of pos) if (!(Number.isFinite(a[k]) && a[k] > 0)) throw new UserError(`${flag(k)}: expected a number > 0, got ${a[k]}`);
  for (const k of ['epochsWarmup', 'epochsSearch', 'epochsFinetune', 'trainLimit', 'valSize', 'batch', 'seed'] as const) {
    if (!Number.isInteger(a[k]) || a[k] < 0) throw new UserError(`${flag(k)}: expected a whole number >= 0, got ${a[k]}`);
  }
  return {
    platform: a.platform, model, dataset: a.dataset, target: a.target, lambda: a.lambda, seed: a.seed,
    batch: a.batch, valSize: a.valSize, trainLimit: a.trainLimit || null,
    epochsWarmup: a.epochsWarmup, epochsSearch: a.epochsSearch, epochsFinetune: a.epochsFinetune,
    warmup: { lr: a.lrWarmup, momentum: a.momentum, weightDecay: a.weightDecayWarmup },
    search: {
      lrWeights: a.lrWeights, momentum: a.momentum, weightDecay: a.weightDecay, lrAlpha: a.lrAlpha, lrQuant: a.lrQuant,
      temperatureDecay: a.temperatureDecay, costTemperature: a.costTemperature,
    },
    finetune: { lr: a.lrFinetune, momentum: a.momentum, weightDecay: a.weightDecay, lrQuant: a.lrQuant },
    lrSteps: [0.5, 0.75],
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
    const cfg = resolveConfig(args, spec.name, norm);
    const info = engine ?? await startEngine(args);
    const data = await locateCifar({ dataset: args.dataset, data: args.data });
    console.log(`data: ${data.source} (${data.train.n} train, ${data.test.n} test)`);
    if (cfg.valSize >= data.train.n) throw new UserError(`--val-size ${cfg.valSize}: the training set has only ${data.train.n} images`);
    if (spec.numClasses !== data.format.numClasses) {
      throw new UserError(`model ${spec.name} has ${spec.numClasses} outputs; ${args.dataset} has ${data.format.numClasses} classes`);
    }
    const dir = path.resolve(args.out ?? path.join('runs', `${spec.name}-${platform.name}-${args.target}-l${args.lambda}`));
    const run = new Run(dir, cfg, spec, platform, data, { log: (l) => console.log(l), progress: showProgress() }, {
      engine: info.engine, threads: info.threads, versions: { hetsplit: version(), tfjs: tf.version_core, node: process.version },
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
