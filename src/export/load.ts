/** A finished run, loaded back: its platform, model, fixed mapping and final weights. */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { planLayers, type LayerPlan } from '../hw/cost.js';
import { loadRunPlatform, type Platform } from '../hw/platform.js';
import { initParams } from '../models/params.js';
import { geometry, type ModelSpec } from '../models/spec.js';
import { normNonNegative } from '../data/pipeline.js';
import { MODEL_FILE, readSpec } from '../models/resolve.js';
import { buildModel } from '../models/zoo.js';
import { SearchModel, type Assignment } from '../search/model.js';
import { assignmentOf, type MappingFile } from '../hw/mapping_file.js';
import { assignAll, loadTensors } from '../models/checkpoint.js';
import type { Metrics, RunConfig } from '../train/run.js';
import { UserError } from '../util/errors.js';

export interface LoadedRun {
  dir: string;
  config: RunConfig & { platformFile?: string };
  metrics: Metrics;
  mapping: MappingFile;
  platform: Platform;
  spec: ModelSpec;
  plans: LayerPlan[];
  assignment: Assignment;
  /** The fine-tuned network with its mapping fixed; dispose() when done. */
  model: SearchModel;
}

async function readJson<T>(file: string): Promise<T> {
  if (!existsSync(file)) throw new UserError(`${file}: missing (is this a finished hetsplit run?)`);
  try { return JSON.parse(await fs.readFile(file, 'utf8')) as T; } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

export async function loadRun(dir: string): Promise<LoadedRun> {
  const config = await readJson<LoadedRun['config']>(path.join(dir, 'config.json'));
  const metrics = await readJson<Metrics>(path.join(dir, 'metrics.json'));
  const mapping = await readJson<MappingFile>(path.join(dir, 'mapping.json'));
  const platform = loadRunPlatform(dir, config);
  // Runs store their network (model.json); older ones name a built-in model.
  const specFile = path.join(dir, MODEL_FILE);
  const spec = existsSync(specFile) ? readSpec(specFile) : buildModel(config.model, config.dataset === 'cifar100' ? 100 : 10);
  const plans = planLayers(platform, geometry(spec), spec.name);
  const assignment: Assignment = assignmentOf(`${dir}/mapping.json`, mapping, spec, platform);
  const split = new Set(plans.filter((p) => p.mode === 'conv-vs-depthwise' && p.searchable).map((p) => p.layer.name));
  const dummy = initParams(spec, 0, split);
  const model = SearchModel.fromFloat(spec, dummy, platform, plans, { signedInput: !normNonNegative(config.norm ?? 'unit') });
  dummy.dispose();
  const file = path.join(dir, 'final.bin');
  const t = await loadTensors(file);
  try {
    assignAll(file, model.params.trainable, t, 'p/');
  } finally {
    tf.dispose([...t.values()]);
  }
  model.fix(assignment);
  return { dir, config, metrics, mapping, platform, spec, plans, assignment, model };
}
