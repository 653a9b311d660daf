/**
 * A float warm-up run directory made from an imported network (hetsplit import): the
 * same files a warm-up of our own leaves (config.json, warmup.bin, warmup-metrics.json,
 * state.json) plus model.json, written into a temp directory renamed at the end, so
 * `train --from-warmup` and `sweep --from-warmup` use it as they use ours.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../data/pipeline.js';
import type { ImportedModel } from '../models/onnx_import.js';
import { initParams, type ParamStore } from '../models/params.js';
import { MODEL_FILE } from '../models/resolve.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { saveTensors } from '../models/checkpoint.js';
import { WARMUP_METRICS } from './run.js';

/** The float parameters of an imported network, as our ParamStore (shapes checked). */
export function importedParams(im: ImportedModel): ParamStore {
  const p = initParams(im.spec, 0);
  for (const [name, v] of p.trainable) {
    const w = im.weights.get(name);
    if (!w) throw new Error(`import: no weights for parameter ${name}`);
    if (w.shape.join() !== v.shape.join()) throw new Error(`import: ${name} has shape [${w.shape}], expected [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(w.data, w.shape)));
  }
  return p;
}

export interface ImportedWarmupInfo {
  dataset: string;
  norm: Normalization;
  source: { file: string; sha256: string; opset: number; producer: string; notes: string[] };
  /** Test accuracy of the float network, if evaluated. */
  metrics: { testAccuracy: number; genuineTestAccuracy: number | null; genuineTestRecords: number | null; seconds: number } | null;
}

/** Fails (before any work) if `dir` exists and is not an empty directory. */
export async function checkNewRunDir(dir: string, flag = '--out'): Promise<void> {
  if (!existsSync(dir)) return;
  const st = await fs.stat(dir);
  if (!st.isDirectory()) throw new UserError(`${flag} ${dir}: a file of that name exists`);
  if ((await fs.readdir(dir)).length > 0) throw new UserError(`${flag} ${dir}: the directory is not empty; choose another --out`);
}

export async function writeImportedWarmup(dir: string, im: ImportedModel, params: ParamStore, info: ImportedWarmupInfo): Promise<void> {
  const tmp = `${dir}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    await writeJsonAtomic(path.join(tmp, MODEL_FILE), im.spec);
    await saveTensors(path.join(tmp, 'warmup.bin'), new Map([...params.trainable].map(([k, v]) => [`p/${k}`, v])));
    await writeJsonAtomic(path.join(tmp, 'config.json'), {
      model: im.spec.name, dataset: info.dataset, norm: info.norm, epochsWarmup: 0, warmupOnly: true, imported: { ...info.source, matches: im.spec.matches ?? null },
    });
    if (info.metrics) {
      await writeJsonAtomic(path.join(tmp, WARMUP_METRICS), {
        model: im.spec.name, dataset: info.dataset, epochs: 0, bestEpoch: null, valAccuracy: null, source: 'onnx import',
        testAccuracy: info.metrics.testAccuracy, genuineTestAccuracy: info.metrics.genuineTestAccuracy,
        genuineTestRecords: info.metrics.genuineTestRecords, seconds: info.metrics.seconds, secondsPerEpoch: [],
      });
    }
    await writeJsonAtomic(path.join(tmp, 'state.json'), { phase: 'done', epoch: 0, checkpoint: null, best: null, assignment: null, adamStep: 0, log: [] });
    if (existsSync(dir)) await fs.rmdir(dir); // checked empty before the work started
    await fs.rename(tmp, dir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
