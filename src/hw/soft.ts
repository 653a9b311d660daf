/**
 * Differentiable (soft) cost for the search: soft channel counts per CU and layer
 * (tensors, e.g. Σ_c θ[i,c]) → expected latency and energy (tensors). It walks the SAME
 * parsed expression trees as the hard cost (src/hw/expr.ts), with tensor operations, and
 * the SAME `combine` formula (src/hw/cost.ts) with smooth max/min. Vectorised over layers:
 * each CU's expression is evaluated once per call on [layers] tensors.
 *
 * Surrogates (each equals the hard function at integer counts, or in the limit τ → 0):
 *  - ceil / floor / round of an n-dependent value: exact forward, straight-through
 *    gradient (d ceil(x)/dx := 1).
 *  - a comparison of n-dependent values used as a number, e.g. the gate [n ≥ 1]:
 *    a ramp of width `gateWidth` ending at the threshold, [a ≥ b] ≈ clamp(1 + (a − b)/w, 0, 1)
 *    (and [a > b] = [a − 1 ≥ b] for integers). Exact whenever a − b is an integer and
 *    0 < w ≤ 1; between, its gradient pulls a CU's last channels off it (removing the
 *    CU's fixed overhead). Comparisons used as conditions (`c ? x : y`, and/or) are
 *    evaluated exactly and carry no gradient.
 *  - every CU is charged nothing for n = 0: t(n) = [n ≥ 1]·latency(n), same ramp.
 *  - max and min across CUs (layer latency, overlap time): softmax-weighted means with an
 *    explicit temperature τ on costs normalised per layer by s = the layer's cheapest
 *    all-on-one-CU latency:  max ≈ Σ_i w_i·t_i, w = softmax(t/(s·τ));  min: w = softmax(−t/(s·τ)).
 *    They stay within [min, max], are exact at ties (e.g. two idle CUs: min(0, 0) = 0) and
 *    when the gaps are ≫ s·τ; the error is at most (#CUs − 1)·s·τ/e and vanishes as τ → 0.
 *    The reference had no temperature (or an arbitrary 1e7 on raw cycles, which made its
 *    "max" an average).
 */
import * as tf from '@tensorflow/tfjs-core';
import { combine, cuCycles, type CombineOps, type LayerPlan } from './cost.js';
import { type CompareOp, type FunctionName, type GeometryVar, type Ops } from './expr.js';
import { LATENCY, type Platform } from './platform.js';

export interface SoftCostOptions {
  /** τ of the smooth max/min across CUs, relative to each layer's cost scale. */
  temperature?: number;
  /** Width of the ramp that replaces a step such as [n ≥ 1]; in (0, 1]. */
  gateWidth?: number;
}

export interface SoftCostResult {
  /** Σ over layers of the (smooth) max latency, cycles. */
  latency: tf.Scalar;
  /** Σ over layers, mJ. */
  energy: tf.Scalar;
  layerLatency: tf.Tensor1D;
  layerEnergy: tf.Tensor1D;
  /** Busy cycles per CU and layer [numCUs, layers]. */
  cycles: tf.Tensor2D;
}

/** Straight-through rounding: forward f(x), gradient 1. */
const steRound = (fn: (x: tf.Tensor) => tf.Tensor) => tf.customGrad(((x: tf.Tensor) =>
  ({ value: fn(x), gradFunc: (dy: tf.Tensor) => dy })) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
const STE = { ceil: steRound(tf.ceil), floor: steRound(tf.floor), round: steRound(tf.round) };

function tensorOps(vars: Map<GeometryVar, tf.Tensor>, size: number, gateWidth: number): Ops<tf.Tensor, tf.Tensor> {
  const shape = [size];
  const full = (t: tf.Tensor) => (t.shape.length === 1 && t.shape[0] === size ? t : tf.broadcastTo(t, shape));
  // Conditions carry no gradient: compare detached copies, so the tape never needs the
  // (missing) gradients of comparisons and logical ops.
  const detach = (t: tf.Tensor) => tf.tensor(t.dataSync(), t.shape, t.dtype);
  const cmp = (op: CompareOp, x: tf.Tensor, y: tf.Tensor): tf.Tensor => {
    const a = detach(x), b = detach(y);
    switch (op) {
      case '>=': return tf.greaterEqual(a, b);
      case '>': return tf.greater(a, b);
      case '<=': return tf.lessEqual(a, b);
      case '<': return tf.less(a, b);
      case '==': return tf.equal(a, b);
      case '!=': return tf.notEqual(a, b);
    }
  };
  return {
    num: (v) => tf.scalar(v),
    variable: (name) => vars.get(name)!,
    neg: (a) => tf.neg(a),
    arith: (op, a, b) => op === '+' ? tf.add(a, b) : op === '-' ? tf.sub(a, b) : op === '*' ? tf.mul(a, b)
      : op === '/' ? tf.div(a, b) : tf.pow(a, b),
    call: (fn: FunctionName, args, soft) => {
      switch (fn) {
        case 'ceil': case 'floor': case 'round': return soft ? STE[fn](args[0]!) : tf[fn](args[0]!);
        case 'abs': return tf.abs(args[0]!);
        case 'max': return args.slice(1).reduce((m, x) => tf.maximum(m, x), args[0]!);
        case 'min': return args.slice(1).reduce((m, x) => tf.minimum(m, x), args[0]!);
      }
    },
    compare: cmp,
    indicator: (op, a, b, soft) => {
      if (!soft || op === '==' || op === '!=') return tf.cast(cmp(op, a, b), 'float32');
      // Distance past the threshold, in integer units: [d ≥ 0].
      const d = op === '>=' ? tf.sub(a, b) : op === '>' ? tf.sub(tf.sub(a, b), 1)
        : op === '<=' ? tf.sub(b, a) : tf.sub(tf.sub(b, a), 1);
      return tf.clipByValue(tf.add(1, tf.div(d, gateWidth)), 0, 1);
    },
    and: (a, b) => tf.logicalAnd(a, b),
    or: (a, b) => tf.logicalOr(a, b),
    not: (a) => tf.logicalNot(a),
    truthy: (a) => tf.notEqual(a, 0),
    select: (c, a, b) => tf.where(full(c), full(a), full(b)),
  };
}

/** Per-CU constants, built once: which layers it may run and their geometry as it sees them. */
interface CuSlice {
  cu: number;
  layers: number[];
  vars: Map<GeometryVar, tf.Tensor>;
  /** One-hot [eligible layers, layers]: puts the CU's values back in layer order. */
  scatter: tf.Tensor2D;
  /** Its transpose: picks the CU's layers (a matmul, because WASM lacks Gather's gradient kernel). */
  gather: tf.Tensor2D;
}

/** Softmax-weighted mean of xs ([layers] each) with weights softmax(sign·x/(s·τ)) per layer. */
function softExtreme(xs: tf.Tensor1D[], scaleTau: tf.Tensor1D, sign: 1 | -1): tf.Tensor1D {
  if (xs.length === 1) return xs[0]!;
  const x = tf.stack(xs);
  const z = tf.div(x, sign > 0 ? scaleTau : tf.neg(scaleTau));
  const e = tf.exp(tf.sub(z, tf.max(z, 0)));
  const w = tf.div(e, tf.sum(e, 0));
  return tf.sum(tf.mul(w, x), 0) as tf.Tensor1D;
}

export class SoftCost {
  readonly temperature: number;
  readonly gateWidth: number;
  private readonly slices: CuSlice[];
  /** s·τ per layer, [layers]. */
  private readonly scaleTau: tf.Tensor1D;
  private readonly numLayers: number;

  constructor(readonly platform: Platform, readonly plans: LayerPlan[], opts: SoftCostOptions = {}) {
    this.temperature = opts.temperature ?? 0.05;
    this.gateWidth = opts.gateWidth ?? 1;
    if (!(this.temperature > 0)) throw new Error(`temperature must be > 0, got ${this.temperature}`);
    if (!(this.gateWidth > 0 && this.gateWidth <= 1)) throw new Error(`gateWidth must be in (0, 1], got ${this.gateWidth}`);
    this.numLayers = plans.length;
    const L = plans.length;
    this.slices = platform.cus.flatMap((_, cu) => {
      const layers = plans.flatMap((p, l) => (p.views[cu] ? [l] : []));
      if (layers.length === 0) return [];
      const views = layers.map((l) => plans[l]!.views[cu]!);
      const vars = new Map<GeometryVar, tf.Tensor>();
      for (const key of ['cin', 'cout', 'kx', 'ky', 'h', 'w', 'stride', 'groups'] as const) {
        vars.set(key, tf.tensor1d(views.map((v) => v[key]), 'float32'));
      }
      const onehot = new Float32Array(layers.length * L);
      layers.forEach((l, k) => { onehot[k * L + l] = 1; });
      return [{
        cu, layers, vars, scatter: tf.tensor2d(onehot, [layers.length, L]),
        gather: tf.tidy(() => tf.transpose(tf.tensor2d(onehot, [layers.length, L]))) as tf.Tensor2D,
      }];
    });
    // Per-layer scale: the cheapest latency with all channels on one eligible CU.
    const scale = plans.map((plan) => Math.min(...plan.eligible.map((cu) =>
      cuCycles(platform, cu, plan.views[cu]!, plan.layer.cout))));
    this.scaleTau = tf.tensor1d(scale.map((s) => Math.max(s, 1e-9) * this.temperature));
  }

  /**
   * @param counts soft channel counts [numCUs, layers]; entries of CUs that cannot run a
   *   layer are ignored.
   */
  evaluate(counts: tf.Tensor2D): SoftCostResult {
    const p = this.platform;
    const [numCUs, L] = counts.shape;
    if (numCUs !== p.cus.length || L !== this.numLayers) {
      throw new Error(`counts must be [${p.cus.length}, ${this.numLayers}], got [${counts.shape}]`);
    }
    return tf.tidy(() => {
      const rows = tf.unstack(counts);
      const zero = tf.zeros([L]);
      const t: tf.Tensor1D[] = p.cus.map(() => zero as tf.Tensor1D);
      for (const s of this.slices) {
        const n = tf.reshape(tf.matMul(tf.reshape(rows[s.cu]!, [1, L]), s.gather), [-1]);
        const vars = new Map(s.vars);
        vars.set('n', n);
        const ops = tensorOps(vars, s.layers.length, this.gateWidth);
        const used = ops.indicator('>=', n, tf.scalar(1), true);
        const cyc = tf.mul(used, tf.broadcastTo(p.cus[s.cu]!.exprs.value(LATENCY, ops), [s.layers.length]));
        t[s.cu] = tf.reshape(tf.matMul(tf.reshape(cyc, [1, -1]), s.scatter), [L]) as tf.Tensor1D;
      }
      const st = this.scaleTau;
      const smooth: CombineOps<tf.Tensor1D> = {
        add: (a, b) => tf.add(a, b), sub: (a, b) => tf.sub(a, b), scale: (a, k) => tf.mul(a, k),
        max: (xs) => softExtreme(xs, st, 1),
        min: (xs) => softExtreme(xs, st, -1),
      };
      const { latency, energy } = combine(p, smooth, t);
      const layerEnergy = tf.div(energy, p.clockHz) as tf.Tensor1D;
      return {
        latency: tf.sum(latency) as tf.Scalar,
        energy: tf.sum(layerEnergy) as tf.Scalar,
        layerLatency: latency,
        layerEnergy,
        cycles: tf.stack(t) as tf.Tensor2D,
      };
    });
  }

  dispose(): void {
    for (const s of this.slices) {
      for (const v of s.vars.values()) v.dispose();
      s.scatter.dispose();
      s.gather.dispose();
    }
    this.scaleTau.dispose();
  }
}
