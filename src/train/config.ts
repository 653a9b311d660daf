/** Every setting of one run (config.json), and the run's persistent state (state.json). */
import type { Normalization } from '../data/pipeline.js';
import type { Objective } from '../hw/cost.js';
import type { Assignment } from '../search/model.js';
import type { SensitivityScore } from '../search/sensitivity.js';
import type { Flips } from '../search/flips.js';
import type { LrSchedule } from './schedule.js';

export interface RunConfig {
  platform: string;
  model: string;
  dataset: string;
  target: Objective;
  /** λ mode: the weight of the normalised cost term; budget mode: the multiplier's start value. */
  lambda: number;
  /**
   * Budget mode: the search lands on this cost (cycles for latency, mJ for energy); λ is a
   * Lagrange multiplier updated from the hard cost, and the final mapping is projected
   * exactly onto the budget. `spec` is the budget as given (e.g. "0.4 of all:digital").
   */
  budget: { value: number; spec: string } | null;
  /** Step size of the multiplier: λ ← max(0, λ + lr·(cost/budget − 1)) per step. */
  lagrangeLr: number;
  seed: number;
  batch: number;
  valSize: number;
  trainLimit: number | null;
  /** Test on the first N test records only (CIFAR-10's first 1,017 are the genuine ones); null: all. */
  testLimit?: number | null;
  epochsWarmup: number;
  epochsSearch: number;
  epochsFinetune: number;
  warmup: { lr: number; momentum: number; weightDecay: number };
  search: {
    lrWeights: number; momentum: number; weightDecay: number; lrQuant: number;
    /** Adam lr of α; null: travel / search steps. */
    lrAlpha: number | null;
    /** Logits α can move over the search when lrAlpha is automatic. */
    alphaTravel: number;
    /** Temperature of softmax(α/T), from start to end over the search's steps. */
    temperatureStart: number;
    temperatureEnd: number;
    /** τ of the smooth max/min in the soft cost. */
    costTemperature: number;
    relaxation: 'hard' | 'soft';
    ternaryGrad: 'clip' | 'pass';
    /** 'auto': budget mode starts from the sensitivity-ranked mapping on the budget; else an even split. */
    warmStart: 'auto' | 'even';
    /** Logit gap of the warm start between a channel's CU and the others. */
    warmStartMargin: number;
    /** Match each layer's output statistics to the float network's after a mapping change (SearchModel.calibrate). */
    calibrate: boolean;
  };
  finetune: { lr: number; momentum: number; weightDecay: number; lrQuant: number };
  /** Fraction of each phase's steps over which the weights' lr warms up (then cosine to 0). */
  lrWarmupFrac: number;
  /** One lr schedule per phase, or one over search + fine-tune (schedule.ts); absent in older runs: 'phase'. */
  lrSchedule?: LrSchedule;
  /** The warm start's channel score (search/sensitivity.ts); absent in older runs: 'taylor'. */
  sensitivity?: SensitivityScore;
  /** The search cost term's gradient: the soft cost model's, or exact one-channel moves (search/exact_cost.ts); absent in older runs: 'soft'. */
  costGrad?: 'soft' | 'exact';
  /** Budget mode, hard relaxation: the forward mapping, the argmax or the argmax kept within the budget (search/feasible.ts); absent in older runs: 'argmax'. */
  searchForward?: 'argmax' | 'feasible';
  /** Knowledge distillation from the float warm-up network: weight of the KL term (0: off) and its temperature. */
  distill: { weight: number; temperature: number };
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
   * Search epochs: validation accuracy of the discrete mapping (argmax α, hard quantizers)
   * with the epoch's weights, i.e. what fine-tuning starts from (with the hard relaxation,
   * the network trained is that one and this equals valAccuracy). null in other phases.
   */
  discreteValAccuracy: number | null;
  /** Temperature at the epoch's end. */
  temperature: number | null;
  /** Soft (expected) cost of the current θ, in the target's unit (cycles or mJ). */
  expectedCost: number | null;
  /** Hard cost of the current discrete mapping (argmax α, or the fixed one). */
  discreteCost: { cycles: number; ms: number; energyMJ: number } | null;
  /** Budget mode: the Lagrange multiplier at the epoch's end. */
  lagrange?: number | null;
  /** Search epochs: argmax changes summed over the epoch's steps, and the distinct channels that changed (search/flips.ts). */
  flips?: Flips;
  /** Fraction of each layer's channels per CU in the discrete mapping. */
  fractions: Record<string, Record<string, number>> | null;
  seconds: number;
  imgPerSec: number;
  numTensors: number;
}

export interface RunState {
  phase: 'warmup' | 'search' | 'finetune' | 'done';
  /** Completed epochs of `phase`. */
  epoch: number;
  checkpoint: string | null;
  /** `forward`: a feasible search's forward mapping at that epoch. */
  best: { phase: string; epoch: number; valAccuracy: number; file: string; forward?: Assignment } | null;
  assignment: Assignment | null;
  adamStep: number;
  /** --search-forward feasible: the forward mapping at the last checkpoint (restored on resume). */
  forward?: Assignment;
  /** Budget mode: the Lagrange multiplier (restored on resume). */
  lagrange?: number;
  /** What the end-of-search projection did (budget mode). */
  projection?: { cost: number; moved: number; valBefore: number; valAfter: number } | null;
  log: EpochRecord[];
}
