/**
 * The mapping search: weights, α and quantizers trained together against
 *   task loss + λ·cost/normaliser,
 * the cost evaluated on the step's channel counts (with the hard relaxation, the argmax
 * mapping's integer counts: the exact cost, with the soft gradient). Schedules are per
 * step (lr warm-up + cosine to 0, T from T0 to T_end, α's lr from its travel). In budget
 * mode λ is a Lagrange multiplier driven by the hard cost, the search starts from the
 * sensitivity-ranked mapping on the budget, and the final mapping is projected exactly
 * onto the budget. The search checkpoint kept is the epoch with the best DISCRETE
 * validation accuracy.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { epochBatches } from '../../data/pipeline.js';
import { networkObjective } from '../../hw/budget.js';
import { byPrecision } from '../../hw/platform.js';
import type { SoftCost } from '../../hw/soft.js';
import { projectToBudget, type Preferences } from '../../search/projection.js';
import { exactCostTerm } from '../../search/exact_cost.js';
import { feasibleStep, keepingPreferences } from '../../search/feasible.js';
import { FlipCounter } from '../../search/flips.js';
import { measuredPreferences, sensitivityPreferences } from '../../search/sensitivity.js';
import type { Assignment, OutputMoments, SearchModel } from '../../search/model.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { digest, LastResults, type DigestPart } from '../../util/memo.js';
import { Adam } from '../adam.js';
import { baselineAssignment } from '../baselines.js';
import { LagrangeMultiplier } from '../budget.js';
import { crossEntropy } from '../loss.js';
import type { RunContext } from '../context.js';
import { alphaLr, temperatureAt, weightLrAt } from '../schedule.js';
import { Sgd } from '../sgd.js';
import { networkEpoch, taskLoss } from './network_epoch.js';

export async function searchPhase(ctx: RunContext, model: SearchModel, soft: SoftCost, costRef: number,
  teacher: ((x: tf.Tensor4D) => tf.Tensor2D) | null): Promise<void> {
  const { cfg, state, platform, plans } = ctx;
  if (state.phase !== 'search') return; // already past it: the finetune phase restores its own checkpoint
  if (cfg.fixedMapping) {
    const assignment = await baselineAssignment(ctx, cfg.fixedMapping);
    model.fix(assignment); // validates it
    if (cfg.search.calibrate) calibrate(ctx, model, 'baseline mapping');
    await ctx.save('search.bin', model.params.trainable);
    state.assignment = assignment;
    ctx.io.log(`baseline mapping ${cfg.fixedMapping}: no search`);
    await ctx.advance('finetune');
    return;
  }
  const s = cfg.search;
  const E = cfg.epochsSearch, total = E * ctx.stepsPerEpoch;
  const sgdW = new Sgd({ lr: s.lrWeights, momentum: s.momentum, weightDecay: s.weightDecay });
  const sgdQ = new Sgd({ lr: s.lrQuant, momentum: 0, weightDecay: 0 });
  const adam = new Adam({ lr: s.lrAlpha ?? alphaLr(s.alphaTravel, total) });
  const budget = cfg.budget;
  const lagrange = budget ? new LagrangeMultiplier(state.lagrange ?? cfg.lambda, cfg.lagrangeLr, budget.value) : null;
  // --search-forward feasible: the forward mapping is the argmax moved only as far as the
  // budget allows (search/feasible.ts), restored on resume; else the argmax itself.
  const feasible = cfg.searchForward === 'feasible' && budget !== null && s.relaxation === 'hard';
  if (state.checkpoint) await ctx.restore(state.checkpoint, model.params.trainable, { sgd: sgdW, sgdq: sgdQ, adam });
  else {
    if (budget && s.warmStart === 'auto') await warmStart(ctx, model, budget.value);
    else if (s.relaxation === 'hard') evenStart(ctx, model);
    if (s.relaxation === 'hard' && s.calibrate) calibrate(ctx, model, 'starting mapping');
    // Budget mode, hard relaxation, warm start: the starting network is on the budget and is
    // the network its own mapping deploys, so it is the search's epoch-0 candidate, as the
    // search's result is the fine-tune's.
    if (budget && s.warmStart === 'auto' && s.relaxation === 'hard' && state.epoch === 0) {
      await ctx.startingCandidate('search', model, s.temperatureStart, START_FILE,
        { save: model.params.trainable, ...(feasible ? { forward: model.discretise() } : {}) });
    }
  }
  const bar = ctx.bar('search', E);
  const weights = model.group('weights'), alpha = model.group('alpha'), quant = model.group('quant');
  const vars = [...weights.values(), ...alpha.values(), ...quant.values()];
  const L = ctx.spec.layers.length, n = platform.cus.length;
  const hardCost = (counts: Float32Array) => networkObjective(platform, plans,
    Array.from({ length: L }, (_, l) => Array.from({ length: n }, (_, i) => Math.round(counts[i * L + l]!))), cfg.target);
  // The cost term: the soft cost model's, or the exact one (--cost-grad exact).
  const exact = cfg.costGrad === 'exact';
  const softCost = (counts: tf.Tensor2D): tf.Scalar => {
    const c = soft.evaluate(counts);
    return cfg.target === 'latency' ? c.latency : c.energy;
  };
  let stepT = s.temperatureStart;
  let forward: Assignment | null = feasible ? (state.forward ?? model.discretise()) : null;
  if (forward) model.setForwardMapping(forward);
  let overSteps = 0, refused = 0;
  // The forward mapping, read once per step (after each update: the next step's), for the
  // flip counts and the exact cost term.
  const flips = new FlipCounter();
  flips.observe(forward ?? model.discretise());
  for (let epoch = state.epoch; epoch < E; epoch++) {
    const t0 = performance.now();
    const r = networkEpoch(ctx, 'search', epoch, model, vars, bar, {
      beforeStep: (g) => {
        sgdW.options.lr = weightLrAt(cfg.lrSchedule ?? 'phase', s.lrWeights, g, total, 0, (E + cfg.epochsFinetune) * ctx.stepsPerEpoch, cfg.lrWarmupFrac);
        stepT = temperatureAt(s.temperatureStart, s.temperatureEnd, g, total);
        return stepT;
      },
      lossOf: (out, y, t) => {
        const cost = exact ? exactCostTerm(model, flips.current!, cfg.target, stepT) : softCost(out.counts);
        const weight = lagrange ? lagrange.lambda / budget!.value : cfg.lambda / costRef;
        return tf.add(taskLoss(out.logits, y, t, cfg.distill), tf.mul(cost, weight)) as tf.Scalar;
      },
      apply: (grads) => { sgdW.apply(weights, grads); adam.apply(alpha, grads); sgdQ.apply(quant, grads); },
      afterStep: (counts) => {
        const argmax = model.discretise();
        if (forward) {
          // The multiplier follows the argmax mapping's cost (what α asks for), the forward what fits.
          const wanted = networkObjective(platform, plans, model.countsOf(argmax), cfg.target);
          lagrange!.update(wanted);
          const f = feasibleStep(platform, plans, cfg.target, budget!.value, forward, argmax, model.preferences());
          if (wanted > budget!.value) overSteps++;
          refused += f.refused;
          forward = f.assignment;
          model.setForwardMapping(forward);
        } else if (lagrange && s.relaxation === 'hard') lagrange.update(hardCost(counts));
        flips.observe(forward ?? argmax);
      },
      teacher,
    });
    const T = r.temperature;
    if (forward) {
      ctx.say(`search: the argmax mapping was over the budget after ${overSteps} of ${ctx.stepsPerEpoch} steps; ` +
        `the forward mapping kept within it (${refused} channel move(s) refused)`);
      overSteps = 0; refused = 0;
    }
    const valAccuracy = ctx.evalSearch(model, T);
    const expected = tf.tidy(() => {
      const c = soft.evaluate(model.softCounts(T));
      return (cfg.target === 'latency' ? c.latency : c.energy).dataSync()[0]!;
    });
    const assignment = forward ?? model.discretise();
    if (lagrange && s.relaxation === 'soft') lagrange.update(networkObjective(platform, plans, model.countsOf(assignment), cfg.target));
    let discreteVal = valAccuracy;
    if (s.relaxation === 'soft') {
      model.fix(assignment);
      discreteVal = ctx.evalSearch(model, 1);
      model.unfix();
    }
    const rec = ctx.record('search', epoch, r.loss / r.seen, r.correct / r.seen, valAccuracy, t0, r.seen, {
      temperature: T, expectedCost: expected, assignment, model, discreteValAccuracy: discreteVal, lagrange: lagrange?.lambda ?? null,
      flips: flips.take(),
    });
    state.adamStep = adam.step;
    if (lagrange) state.lagrange = lagrange.lambda;
    if (forward) state.forward = forward;
    // The search snapshot kept: the best discrete validation accuracy.
    await ctx.endEpoch(rec, model.params.trainable, { sgd: sgdW, sgdq: sgdQ, adam }, model.params.trainable, discreteVal);
    if (forward && state.best?.phase === 'search' && state.best.epoch === rec.epoch && !state.best.forward) {
      state.best.forward = forward;
      await ctx.saveState();
    }
  }
  bar?.stop();
  sgdW.dispose(); sgdQ.dispose(); adam.dispose();
  if (state.best?.phase === 'search' && state.best.epoch !== E) {
    await ctx.load(state.best.file, model.params.trainable);
    if (forward) forward = state.best.forward ?? forward;
    ctx.io.log(state.best.epoch === 0
      ? `search: no search epoch beat the starting network (discrete val ${(100 * state.best.valAccuracy).toFixed(2)}%); it is kept`
      : `search: epoch ${state.best.epoch} kept (discrete val ${(100 * state.best.valAccuracy).toFixed(2)}%)`);
  }
  model.setForwardMapping(null);
  let assignment = forward ?? model.discretise();
  if (budget) {
    const costBefore = networkObjective(platform, plans, model.countsOf(assignment), cfg.target);
    // A feasible search's mapping stays; the projection only spends what is left of the budget.
    const pref = forward ? keepingPreferences(model.preferences(), forward) : model.preferences();
    const p = projectToBudget(platform, plans, cfg.target, budget.value, pref, assignment);
    model.fix(assignment);
    const valBefore = ctx.evalSearch(model, 1);
    // The trained network's own statistics under the searched mapping are the reference now.
    const images = s.calibrate && p.moved > 0 ? calibrationImages(ctx) : null;
    const before: OutputMoments | undefined = images ? model.outputMoments(images.xs, false) : undefined;
    model.fix(p.assignment);
    if (images) {
      calibrate(ctx, model, 'projected mapping', before);
      tf.dispose(images.xs);
    }
    // Nothing moved: the same network (no calibration either), so the same accuracy.
    const valAfter = p.moved > 0 ? ctx.evalSearch(model, 1) : valBefore;
    model.unfix();
    state.projection = { cost: p.cost, moved: p.moved, valBefore, valAfter };
    ctx.io.log(`search: projected onto the budget ${budget.spec}: cost ${costBefore.toPrecision(6)} → ${p.cost.toPrecision(6)} ` +
      `(${(100 * p.cost / budget.value).toFixed(2)}% of it), ${p.moved} channel(s) moved, val ${(100 * valBefore).toFixed(2)}% → ${(100 * valAfter).toFixed(2)}%`);
    assignment = p.assignment;
  }
  await ctx.save('search.bin', model.params.trainable);
  state.assignment = assignment;
  await ctx.advance('finetune');
}

/** The starting network of a budgeted hard search: the search's epoch-0 candidate. */
const START_FILE = 'search-start.bin';

/** Calibration images: the first 512 of the training split, not augmented. */
function calibrationImages(ctx: RunContext): { xs: tf.Tensor4D[]; n: number } {
  const idx = ctx.trainIdx.subarray(0, Math.min(512, ctx.trainIdx.length));
  const xs: tf.Tensor4D[] = [];
  for (const b of epochBatches(ctx.data.train, idx, { batchSize: 128, shuffle: false, augment: false, norm: ctx.cfg.norm, seed: 0, dropLast: false }, 0)) {
    xs.push(b.x);
    b.y.dispose();
  }
  return { xs, n: idx.length };
}

/**
 * Output calibration of the network's current mapping (SearchModel.calibrate), logged:
 * to the float network's statistics, or to `reference` (the network before a mapping change).
 */
function calibrate(ctx: RunContext, model: SearchModel, what: string, reference?: OutputMoments): void {
  const { xs, n } = calibrationImages(ctx);
  try {
    const t0 = performance.now();
    // The float network's moments are the same for every point of a sweep that starts from
    // one warm-up: kept by the digest of the float weights and the images.
    const float = reference ? null : floatMoments.get(digest([model.digest('float-network'), ...tensorParts(xs)]), () => model.outputMoments(xs, true));
    const r = model.calibrate(xs, reference ?? float!.value);
    ctx.io.log(`search: ${what} calibrated (${r.layers} layers' output statistics matched to the ${reference ? 'searched mapping\'s' : 'float network\'s'} ` +
      `on ${n} images, ${((performance.now() - t0) / 1000).toFixed(1)} s${float?.reused ? '; the float network\'s statistics from an earlier run in this process' : ''})`);
  } finally {
    tf.dispose(xs);
  }
}

const floatMoments = new LastResults<OutputMoments>(1);
const warmStartScores = new LastResults<Preferences>(1);

/** Digest parts of tensors: shape and values. */
function* tensorParts(ts: tf.Tensor[]): Generator<DigestPart> {
  for (const t of ts) {
    yield JSON.stringify(t.shape);
    yield t.dataSync() as Float32Array;
  }
}

/**
 * The hard relaxation's even split: a layer's channels dealt round-robin over its CUs,
 * with the warm start's logit gap. Starting from all channels on one CU would hide the
 * marginal cost of the others behind their fixed overheads; tiny gaps (0.02 was tried)
 * let channels flip back and forth every step and the network collapsed (10.6% val).
 */
function evenStart(ctx: RunContext, model: SearchModel): void {
  model.setAlpha(ctx.plans.map((plan) => Array.from({ length: plan.layer.cout }, (_, c) => plan.eligible[c % plan.eligible.length]!)),
    ctx.cfg.search.warmStartMargin);
}

/** Micro-batch of the fisher scores: they estimate the curvature from the spread of micro-batch gradients. */
const FISHER_BATCH = 16;

/**
 * Budget mode's starting mapping: channels ranked by sensitivity (--sensitivity: the loss
 * change when quantized a cheaper CU's way, first or second order), the counts chosen by the exact knapsack for the
 * budget, then α set so that mapping is the argmax. The scores are kept in the run's
 * sensitivity.json: per layer and channel, the loss change Δ of each cheaper CU.
 */
async function warmStart(ctx: RunContext, model: SearchModel, budget: number): Promise<void> {
  const t0 = performance.now();
  const score = ctx.cfg.sensitivity ?? 'taylor';
  const idx = ctx.trainIdx.subarray(0, Math.min(512, ctx.trainIdx.length));
  const batchSize = score === 'fisher' || score === 'channel-fisher' ? FISHER_BATCH : ctx.cfg.batch;
  const batches: { x: tf.Tensor4D; y: tf.Tensor1D }[] = [...epochBatches(ctx.data.train, idx,
    { batchSize, shuffle: false, augment: false, norm: ctx.cfg.norm, seed: 0, dropLast: false }, 0)];
  let scores: { value: Preferences; reused: boolean };
  try {
    // The same for every budget of a sweep from one warm-up: kept by the digest of the
    // network (before its mapping is set) and the images.
    scores = warmStartScores.get(digest([score, model.digest('network'), ...tensorParts(batches.flatMap((b) => [b.x, b.y]))]), () => {
      const taylor = sensitivityPreferences(model, batches, crossEntropy, score === 'measured' ? 'taylor' : score);
      return score === 'measured' ? measuredPreferences(model, batches, crossEntropy, taylor) : taylor;
    });
  } finally {
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
  }
  const pref = scores.value;
  const p = projectToBudget(ctx.platform, ctx.plans, ctx.cfg.target, budget, pref);
  model.setAlpha(p.assignment, ctx.cfg.search.warmStartMargin);
  await writeJsonAtomic(path.join(ctx.dir, 'sensitivity.json'), sensitivityFile(ctx, score, idx.length, pref));
  ctx.io.log(`search: warm start on the budget (cost ${p.cost.toPrecision(6)}, ${(100 * p.cost / budget).toFixed(2)}% of it; ` +
    `${score} sensitivity on ${idx.length} images, ${((performance.now() - t0) / 1000).toFixed(1)} s${scores.reused ? ', the scores from an earlier run in this process' : ''})`);
}

/** sensitivity.json: per layer, per cheaper CU, each channel's Δ (−preference; higher = hurts more there). */
function sensitivityFile(ctx: RunContext, score: string, images: number, pref: Preferences) {
  const cus = ctx.platform.cus;
  return {
    score, images,
    layers: ctx.spec.layers.map((l, k) => {
      const plan = ctx.plans[k]!;
      const precise = byPrecision(ctx.platform, plan.eligible)[0]!;
      const split = plan.searchable && plan.mode === 'per-channel' && plan.eligible.length > 1;
      return {
        name: l.name, precise: cus[precise]!.name,
        delta: split ? Object.fromEntries(plan.eligible.filter((i) => i !== precise).map((i) => [cus[i]!.name, pref[k]!.map((row) => -row[i]!)])) : {},
      };
    }),
  };
}
