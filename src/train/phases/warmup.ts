/**
 * The float warm-up (or the reuse of another run's): SGD with a cosine schedule, a random
 * split point per step for conv-vs-depthwise layers ("fine" warm-up), the best epoch by
 * validation accuracy, BatchNorm statistics recalibrated, then warmup.bin and the float
 * network's test accuracy (warmup-metrics.json).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describeNorm, epochBatches } from '../../data/pipeline.js';
import { forward } from '../../models/forward.js';
import { initParams, type ParamStore } from '../../models/params.js';
import { Rng } from '../../models/rng.js';
import { copyFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { UserError } from '../../util/errors.js';
import { assignAll, loadTensors, saveTensors } from '../../models/checkpoint.js';
import type { RunConfig } from '../config.js';
import { allParams, prefixed, type RunContext } from '../context.js';
import { cosineLr, evaluate, floatLogits } from '../float.js';
import { testAccuracies } from '../evaluate.js';
import { Sgd } from '../sgd.js';
import { trainStep } from '../step.js';

/** The float network's test accuracy after the warm-up. */
export const WARMUP_METRICS = 'warmup-metrics.json';

export async function warmupPhase(ctx: RunContext): Promise<ParamStore> {
  const { cfg, dir } = ctx;
  const file = path.join(dir, 'warmup.bin');
  if (cfg.fromWarmup && !existsSync(file)) {
    const src = path.join(cfg.fromWarmup, 'warmup.bin');
    const srcCfg = path.join(cfg.fromWarmup, 'config.json');
    if (!existsSync(src)) throw new UserError(`--from-warmup ${cfg.fromWarmup}: no warmup.bin there (its warm-up has not finished)`);
    const other = JSON.parse(await fs.readFile(srcCfg, 'utf8')) as RunConfig;
    const sameNorm = JSON.stringify(other.norm ?? 'unit') === JSON.stringify(cfg.norm);
    if (other.model !== cfg.model || other.dataset !== cfg.dataset || !sameNorm) {
      throw new UserError(`--from-warmup ${cfg.fromWarmup}: its warm-up is ${other.model} on ${other.dataset} (${describeNorm(other.norm ?? 'unit')}), ` +
        `this run needs ${cfg.model} on ${cfg.dataset} (${describeNorm(cfg.norm)})`);
    }
    await copyFileAtomic(src, file);
    const srcMetrics = path.join(cfg.fromWarmup, WARMUP_METRICS);
    if (existsSync(srcMetrics)) await copyFileAtomic(srcMetrics, path.join(dir, WARMUP_METRICS));
    // Where the warm-up came from (an import's file, sha256 and producer), kept with the run.
    await copyFileAtomic(srcCfg, path.join(dir, 'warmup-config.json'));
    ctx.io.log(`warm-up: reusing ${src}`);
  }
  // Conv-vs-depthwise layers train both branches in the warm-up ("fine" warm-up).
  const splitLayers = ctx.plans.filter((p) => p.mode === 'conv-vs-depthwise' && p.searchable).map((p) => p.layer);
  const params = initParams(ctx.spec, cfg.seed, new Set(splitLayers.map((l) => l.name)));
  if (existsSync(file)) {
    const t = await loadTensors(file);
    assignAll(file, allParams(params), t, 'p/');
    tf.dispose([...t.values()]);
    // A warm-up that finished before its metrics were written (or was killed in between).
    if (!existsSync(path.join(dir, WARMUP_METRICS)) && !cfg.fromWarmup) await warmupMetrics(ctx, params);
    if (ctx.state.phase === 'warmup') await ctx.advance('search');
    return params;
  }
  if (cfg.epochsWarmup === 0 && ctx.state.phase === 'warmup') {
    ctx.io.log('warm-up: 0 epochs and no --from-warmup: the search starts from the randomly initialised network (useful for pipeline checks only)');
  }
  const opt = new Sgd({ ...cfg.warmup, lr: cfg.warmup.lr });
  if (ctx.state.phase === 'warmup' && ctx.state.checkpoint) await ctx.restore(ctx.state.checkpoint, allParams(params), { sgd: opt });
  const E = cfg.epochsWarmup;
  const bar = ctx.bar('warmup', E);
  for (let epoch = ctx.state.epoch; epoch < E; epoch++) {
    opt.options.lr = cosineLr(cfg.warmup.lr, epoch, E);
    const t0 = performance.now();
    let loss = 0, correct = 0, seen = 0, step = 0;
    for (const b of ctx.batches(epoch)) {
      try {
        // Every step draws a split point per conv-vs-depthwise layer, uniform in 0..C (seeded).
        const rng = new Rng(cfg.seed * 1_000_003 + epoch * 65_537 + step++);
        const splitPoints = new Map(splitLayers.map((l) => [l.name, Math.floor(rng.next() * (l.cout + 1))]));
        const r = trainStep(ctx.spec, params, opt, b.x, b.y, { splitPoints });
        loss += r.loss * b.size; correct += r.correct; seen += b.size;
      } catch (e) {
        throw ctx.diverged(e, 'warmup', epoch);
      } finally { tf.dispose([b.x, b.y]); }
      bar?.increment(1, { loss: (loss / seen).toFixed(3), acc: (correct / seen).toFixed(3), epoch: epoch + 1 });
    }
    const valAccuracy = evaluate(ctx.spec, params, ctx.data.train, ctx.split.val, 256, cfg.norm);
    const rec = ctx.record('warmup', epoch, loss / seen, correct / seen, valAccuracy, t0, seen);
    await ctx.endEpoch(rec, allParams(params), { sgd: opt }, allParams(params));
  }
  bar?.stop();
  opt.dispose();
  // The search starts from the best warm-up epoch (validation accuracy).
  if (ctx.state.best?.phase === 'warmup') {
    await ctx.load(ctx.state.best.file, allParams(params));
    ctx.io.log(`warm-up: best epoch ${ctx.state.best.epoch} (val ${(100 * ctx.state.best.valAccuracy).toFixed(2)}%)`);
  }
  recalibrateBatchNorm(ctx, params);
  await saveTensors(file, prefixed('p/', allParams(params)));
  await warmupMetrics(ctx, params);
  await ctx.advance('search');
  return params;
}

/**
 * The float network's accuracy after the warm-up (the best epoch, BN recalibrated): the
 * accuracy the mapping search starts from, on the test set and its genuine records.
 */
async function warmupMetrics(ctx: RunContext, params: ParamStore): Promise<void> {
  const { cfg, state, data } = ctx;
  const { all, genuine } = ctx.testIndices();
  const warm = state.log.filter((r) => r.phase === 'warmup');
  const test = testAccuracies(floatLogits(ctx.spec, params), data.test, all, genuine?.length ?? null, cfg.norm);
  const m = {
    model: ctx.spec.name, dataset: cfg.dataset, epochs: cfg.epochsWarmup,
    bestEpoch: state.best?.phase === 'warmup' ? state.best.epoch : null,
    valAccuracy: state.best?.phase === 'warmup' ? state.best.valAccuracy : null,
    testAccuracy: test.testAccuracy,
    testRecords: all.length,
    genuineTestAccuracy: test.genuineTestAccuracy,
    genuineTestRecords: genuine ? genuine.length : null,
    seconds: warm.reduce((a, r) => a + r.seconds, 0),
    secondsPerEpoch: warm.map((r) => Math.round(r.seconds)),
  };
  await writeJsonAtomic(path.join(ctx.dir, WARMUP_METRICS), m);
  ctx.io.log(`warm-up: float test accuracy ${(100 * m.testAccuracy).toFixed(2)}%` +
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
function recalibrateBatchNorm(ctx: RunContext, params: ParamStore): void {
  if (![...params.state.keys()].some((k) => k.endsWith('.mean'))) return;
  const idx = ctx.trainIdx.subarray(0, Math.min(2048, ctx.trainIdx.length));
  let k = 0;
  for (const b of epochBatches(ctx.data.train, idx, { batchSize: ctx.cfg.batch, shuffle: false, augment: false, norm: ctx.cfg.norm, seed: 0, dropLast: false }, 0)) {
    // Momentum 1/(k+1): the running value becomes the mean over the k+1 batches so far.
    tf.tidy(() => { forward(ctx.spec, params, b.x, { training: true, bnMomentum: 1 / (k + 1) }); });
    k++;
    tf.dispose([b.x, b.y]);
  }
  ctx.io.log(`warm-up: BatchNorm statistics recalibrated on ${idx.length} training images`);
}
