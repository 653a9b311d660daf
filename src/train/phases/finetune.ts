/**
 * Fine-tuning of the fixed mapping: hard per-channel quantizers, weights and quantizer
 * parameters trained with a per-step schedule (lr warm-up, cosine to 0), optional
 * distillation; the best epoch (validation accuracy) is kept.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { SearchModel } from '../../search/model.js';
import type { RunContext } from '../context.js';
import { weightLrAt } from '../schedule.js';
import { Sgd } from '../sgd.js';
import { networkEpoch, taskLoss } from './network_epoch.js';

export async function finetunePhase(ctx: RunContext, model: SearchModel, teacher: ((x: tf.Tensor4D) => tf.Tensor2D) | null): Promise<void> {
  const { cfg, state } = ctx;
  if (!state.assignment) throw new Error('fine-tune without a mapping');
  model.fix(state.assignment);
  if (state.phase === 'done') {
    await ctx.load('final.bin', model.params.trainable);
    return;
  }
  const f = cfg.finetune;
  const sgdW = new Sgd({ lr: f.lr, momentum: f.momentum, weightDecay: f.weightDecay });
  const sgdQ = new Sgd({ lr: f.lrQuant, momentum: 0, weightDecay: 0 });
  if (state.checkpoint) await ctx.restore(state.checkpoint, model.params.trainable, { sgd: sgdW, sgdq: sgdQ });
  else {
    await ctx.load('search.bin', model.params.trainable);
    // The network fine-tuning starts from (the search's result) is its epoch-0 candidate. After
    // a budget's projection, search.bin holds the network the projection validated last, on
    // this mapping at T = 1: its accuracy is known.
    if (cfg.epochsFinetune > 0 && state.epoch === 0) {
      await ctx.startingCandidate('finetune', model, 1, 'search.bin', { valAccuracy: state.projection?.valAfter });
    }
  }
  const E = cfg.epochsFinetune, total = E * ctx.stepsPerEpoch;
  const bar = ctx.bar('finetune', E);
  const weights = model.group('weights'), quant = model.group('quant');
  const vars = [...weights.values(), ...quant.values()];
  for (let epoch = state.epoch; epoch < E; epoch++) {
    const t0 = performance.now();
    const r = networkEpoch(ctx, 'finetune', epoch, model, vars, bar, {
      beforeStep: (g) => {
        sgdW.options.lr = weightLrAt(cfg.lrSchedule ?? 'phase', f.lr, g, total, cfg.epochsSearch * ctx.stepsPerEpoch,
          (cfg.epochsSearch + E) * ctx.stepsPerEpoch, cfg.lrWarmupFrac);
        return 1;
      },
      lossOf: (out, y, t) => taskLoss(out.logits, y, t, cfg.distill),
      apply: (grads) => { sgdW.apply(weights, grads); sgdQ.apply(quant, grads); },
      teacher,
    });
    const valAccuracy = ctx.evalSearch(model, 1);
    const rec = ctx.record('finetune', epoch, r.loss / r.seen, r.correct / r.seen, valAccuracy, t0, r.seen, { assignment: state.assignment, model });
    await ctx.endEpoch(rec, model.params.trainable, { sgd: sgdW, sgdq: sgdQ }, model.params.trainable);
  }
  bar?.stop();
  sgdW.dispose(); sgdQ.dispose();
  const best = state.best;
  if (best?.phase !== 'finetune') return; // no fine-tune epochs: the model as it is
  await ctx.load(best.file, model.params.trainable);
  ctx.io.log(best.epoch === 0
    ? `fine-tune: no epoch beat the starting network (val ${(100 * best.valAccuracy).toFixed(2)}%); it is kept`
    : `fine-tune: best epoch ${best.epoch} (val ${(100 * best.valAccuracy).toFixed(2)}%)`);
}
