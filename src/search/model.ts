/**
 * A searchable network (DIANA style, any number of CUs): every conv/FC layer holds ONE
 * float weight tensor W (BatchNorm folded in), per-channel logits α [numCUs, C_out] and
 * each eligible CU's weight quantizer. The forward pass mixes the CUs' quantized weights
 * per output channel, W_mix[c] = Σ_i θ[i,c]·Q_i(W[c]) with θ = softmax(α/T) over the
 * CUs that may run the layer, and runs ONE convolution. With a fixed (discrete) mapping θ
 * is one-hot: the same code fine-tunes and evaluates the mapped network.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerPlan } from '../hw/cost.js';
import type { ComputeUnit, Platform } from '../hw/platform.js';
import { addBias, mixChannels } from '../models/channel.js';
import { activation, convOf, pool } from '../models/forward.js';
import { ParamStore } from '../models/params.js';
import { nonNegativeNodes, walkModel, type AddSpec, type ConvLayerSpec, type ModelSpec } from '../models/spec.js';
import {
  biasQuant, initPow2Scale, pactQuant, pow2WeightQuant, ternaryWeightQuant,
} from '../quant/quantizers.js';
import { UserError } from '../util/errors.js';
import { digest, type DigestPart } from '../util/memo.js';

/** Per layer (in spec.layers order), the CU index of every output channel. */
export type Assignment = number[][];

/** Per per-channel layer (by index), the mean and standard deviation of each output channel. */
export type OutputMoments = Map<number, { mean: Float32Array; std: Float32Array }>;

export type ParamGroup = 'weights' | 'alpha' | 'quant';

export interface SearchModelOptions {
  /** Clip init of the activation quantizers (the reference: 6; the network input: 1). */
  actClipInit?: number;
  inputClipInit?: number;
  /** Bits of the residual-add quantizer. */
  addBits?: number;
  biasBits?: number;
  /** The network input can be negative (mean/std-normalised): no unsigned quantizer on it. */
  signedInput?: boolean;
  /**
   * 'hard' (default): the forward pass uses the argmax mapping (one-hot θ, integer counts),
   * the backward pass the gradient of softmax(α/T) (straight-through, as GDAS). 'soft':
   * the forward mixes the CUs' weights by softmax(α/T) (the reference's relaxation).
   */
  relaxation?: 'hard' | 'soft';
  /** Ternary weight gradient outside |w| ≤ S: 'clip' (zero) or 'pass' (straight through, as the reference). */
  ternaryGrad?: 'clip' | 'pass';
}

const BN_EPS = 1e-5;
const MASKED = -1e9;

export interface InputGroup { bits: number | null; param: string | null; cus: number[] }

interface LayerInfo {
  spec: ConvLayerSpec;
  plan: LayerPlan;
  /**
   * The layer's input as its CUs see it: one group per activation format among the CUs
   * that may run it (bits null: float), each with its own PACT clip parameter. One group on
   * most platforms; CUs with different input formats (a 7-bit accelerator beside an 8-bit
   * core) each convolve their own quantized copy of the input.
   */
  inputs: InputGroup[];
  /** [numCUs, cout] additive mask: 0 for eligible CUs, −1e9 otherwise. */
  mask: tf.Tensor2D;
  /** Conv-vs-depthwise layer: the CUs of its conv and depthwise branches. */
  split: { conv: number; dw: number } | null;
  /** θ of a layer only one CU can run (built once). */
  single: tf.Tensor2D | null;
}

/** θ of one layer [numCUs, cout]: softmax over CUs, per channel. */
function softmaxOverCus(logits: tf.Tensor2D): tf.Tensor2D {
  const e = tf.exp(tf.sub(logits, tf.max(logits, 0)));
  return tf.div(e, tf.sum(e, 0)) as tf.Tensor2D;
}

/** A conv or fc layer's pre-activation output [B, H, W, cout] (fc: [B, 1, 1, cout]). */
function linear(l: ConvLayerSpec, x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  if (l.kind === 'fc') {
    const flat = tf.reshape(x, [x.shape[0], l.cin]);
    return tf.reshape(tf.add(tf.matMul(flat, tf.reshape(w, [l.cin, l.cout])), b), [x.shape[0], 1, 1, l.cout]);
  }
  return addBias(convOf(l, x, w as tf.Tensor4D, l.kind === 'depthwise'), b);
}

export class SearchModel {
  readonly params = new ParamStore();
  private readonly layers: LayerInfo[];
  private readonly groups = new Map<string, ParamGroup>();
  /** One-hot θ of the discrete mapping, when fixed. */
  private fixed: tf.Tensor2D[] | null = null;
  /** The hard forward mapping in place of the argmax (setForwardMapping), per layer; null: the argmax. */
  private forwardHot: (tf.Tensor2D | null)[] | null = null;
  private assignmentValue: Assignment | null = null;
  /** Calibration: weights and activations unquantized (the float network the weights came from). */
  private floatPath = false;
  /** Calibration: sees (and may replace) each per-channel layer's pre-activation output. */
  private probe: ((k: number, y: tf.Tensor4D) => tf.Tensor4D) | null = null;

  constructor(readonly spec: ModelSpec, readonly platform: Platform, readonly plans: LayerPlan[],
    readonly options: SearchModelOptions = {}) {
    if (plans.length !== spec.layers.length) throw new Error('one plan per layer expected');
    const nonNegative = nonNegativeNodes(spec, !options.signedInput);
    this.layers = spec.layers.map((l, k) => {
      const plan = plans[k]!;
      const sp = platform.split;
      const split = plan.mode === 'conv-vs-depthwise' && plan.searchable && sp.style === 'conv-vs-depthwise'
        ? { conv: sp.conv, dw: sp.depthwise } : null;
      const inputs: InputGroup[] = [];
      for (const i of plan.eligible) {
        const act = platform.cus[i]!.activations;
        const bits = act === 'float' ? null : act;
        const g = inputs.find((x) => x.bits === bits);
        if (g) { g.cus.push(i); continue; }
        // The first quantized group keeps the historical name (checkpoints of one-format platforms).
        const param = bits === null ? null : inputs.some((x) => x.param !== null) ? `${l.name}.act${bits}` : `${l.name}.act`;
        inputs.push({ bits, param, cus: [i] });
        if (bits !== null && !nonNegative.has(l.input)) {
          throw new UserError(`platform ${platform.name}: ${l.name} quantizes its input to ${bits}-bit unsigned values on ` +
            `${platform.cus[i]!.name}, but its input (${l.input}) can be negative in ${spec.name}`);
        }
      }
      if (split && inputs.length > 1) {
        throw new UserError(`platform ${platform.name}: the conv and depthwise CUs of ${l.name} ` +
          `(${plan.eligible.map((i) => platform.cus[i]!.name).join(', ')}) use different activation formats; ` +
          'a conv-vs-depthwise split needs one shared input format');
      }
      const mask = new Float32Array(platform.cus.length * l.cout).fill(MASKED);
      for (const i of plan.eligible) mask.fill(0, i * l.cout, (i + 1) * l.cout);
      return {
        spec: l, plan, inputs, mask: tf.tensor2d(mask, [platform.cus.length, l.cout]), split,
        single: plan.searchable ? null : this.oneHot(Array(l.cout).fill(plan.eligible[0]!)),
      };
    });
  }

  /**
   * Builds the searchable network from a trained float one: folds each BatchNorm into
   * its conv, then initialises α (even split), activation clips and weight quantizers.
   */
  static fromFloat(spec: ModelSpec, float: ParamStore, platform: Platform, plans: LayerPlan[],
    options: SearchModelOptions = {}): SearchModel {
    const m = new SearchModel(spec, platform, plans, options);
    for (const info of m.layers) {
      const l = info.spec;
      const { w, b } = foldBatchNorm(l, float);
      m.add(`${l.name}.w`, w, 'weights');
      m.add(`${l.name}.b`, b, 'weights');
      if (info.split) {
        if (!float.has(`${l.name}.conv.w`)) throw new Error(`${l.name}: the float model has no conv branch to search`);
        const c = foldBatchNorm({ ...l, kind: 'conv' }, float, `${l.name}.conv`);
        m.add(`${l.name}.conv.w`, c.w, 'weights');
        m.add(`${l.name}.conv.b`, c.b, 'weights');
      }
      m.initQuantAndAlpha(info);
    }
    // A rectified add's output is quantized (unsigned, shared by both operands).
    for (const a of spec.adds) if (a.relu) m.add(`${a.name}.act`, tf.scalar(options.actClipInit ?? 6), 'quant');
    return m;
  }

  private add(name: string, value: tf.Tensor, group: ParamGroup): void {
    this.params.addTrainable(name, value);
    this.groups.set(name, group);
  }

  private initQuantAndAlpha(info: LayerInfo): void {
    const l = info.spec;
    for (const g of info.inputs) {
      if (g.param === null) continue;
      const clip = l.input === 'input' ? this.options.inputClipInit ?? 1 : this.options.actClipInit ?? 6;
      this.add(g.param, tf.scalar(clip), 'quant');
    }
    for (const i of info.plan.eligible) {
      const cu = this.platform.cus[i]!;
      const prefix = info.split?.conv === i ? `${l.name}.conv` : l.name;
      const wData = this.params.get(`${prefix}.w`).dataSync() as Float32Array;
      if (typeof cu.weights === 'number') {
        this.add(`${prefix}.q.${cu.name}`, tf.scalar(initPow2Scale(wData)), 'quant');
      } else if (cu.weights === 'ternary') {
        this.add(`${prefix}.q.${cu.name}`, tf.tensor1d(ternaryInit(wData, l.cout)), 'quant');
      }
    }
    if (info.split) {
      // The reference's init: the first half of the channels on the conv branch.
      const half = Math.floor(l.cout / 2);
      this.add(`${l.name}.alpha`, tf.tensor1d(Array.from({ length: l.cout }, (_, c) => (c < half ? 1 : 0))), 'alpha');
    } else if (info.plan.searchable) {
      this.add(`${l.name}.alpha`, tf.zeros([this.platform.cus.length, l.cout]), 'alpha');
    }
  }

  /** Trainable variables of one parameter group, by parameter name. */
  group(g: ParamGroup): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, v] of this.params.trainable) if (this.groups.get(name) === g) out.set(name, v);
    return out;
  }

  get assignment(): Assignment | null { return this.assignmentValue; }

  /** θ of layer k: soft (search) or the fixed one-hot mapping. */
  private theta(k: number, temperature: number): tf.Tensor2D {
    if (this.fixed) return this.fixed[k]!;
    const info = this.layers[k]!;
    if (info.single) return info.single;
    const alpha = this.params.get(`${info.spec.name}.alpha`) as tf.Tensor2D;
    const soft = softmaxOverCus(tf.add(tf.div(alpha, temperature), info.mask) as tf.Tensor2D);
    if (this.options.relaxation === 'soft') return soft;
    const forward = this.forwardHot?.[k];
    return forward ? steTo(soft, forward) : hardSte(soft);
  }

  /**
   * The hard relaxation's forward mapping in place of the argmax (search/feasible.ts: the
   * argmax moved only as far as a budget allows); the backward pass is still the gradient
   * of softmax(α/T). null: the argmax again.
   */
  setForwardMapping(assignment: Assignment | null): void {
    this.forwardHot?.forEach((t) => t?.dispose());
    this.forwardHot = assignment
      ? assignment.map((cus, k) => (this.layers[k]!.plan.searchable && !this.layers[k]!.split && !this.layers[k]!.single ? this.oneHot(cus) : null))
      : null;
  }

  private oneHot(cus: number[]): tf.Tensor2D {
    const n = this.platform.cus.length, c = cus.length;
    const data = new Float32Array(n * c);
    cus.forEach((cu, ch) => { data[cu * c + ch] = 1; });
    return tf.tensor2d(data, [n, c]);
  }

  private quantizeWeights(cu: ComputeUnit, name: string, w: tf.Tensor): tf.Tensor {
    if (typeof cu.weights === 'number') return pow2WeightQuant(w, this.params.get(`${name}.q.${cu.name}`), cu.weights);
    if (cu.weights === 'ternary') {
      const ls = this.params.get(`${name}.q.${cu.name}`);
      // Output channels are W's last axis, except for depthwise weights [k, k, C, 1].
      return ternaryWeightQuant(w, w.shape[w.rank - 1] === ls.shape[0] ? ls : tf.reshape(ls, [ls.shape[0]!, 1]),
        this.options.ternaryGrad === 'pass');
    }
    return w;
  }

  /**
   * Conv-vs-depthwise mask m [C] (1: conv branch). Search: the reference parametrisation,
   * θ_i = Σ_{j≥i} |α_j| (non-increasing, so m is a prefix), m_i = [θ_i > 0.5] with a
   * straight-through gradient. Fixed: the discrete mapping.
   */
  private splitMask(k: number): tf.Tensor1D {
    const info = this.layers[k]!;
    if (this.fixed) return tf.unstack(this.fixed[k]!)[info.split!.conv]! as tf.Tensor1D;
    const alpha = this.params.get(`${info.spec.name}.alpha`);
    const theta = tf.cumsum(tf.abs(alpha), 0, false, true);
    return stepSte(theta) as tf.Tensor1D;
  }

  /** Soft channel counts per CU of layer k [numCUs]. */
  private layerCounts(k: number, temperature: number, mask?: tf.Tensor1D): tf.Tensor1D {
    const info = this.layers[k]!;
    if (!info.split) return tf.sum(this.theta(k, temperature), 1) as tf.Tensor1D;
    const nConv = tf.sum(mask ?? this.splitMask(k));
    const nDw = tf.sub(info.spec.cout, nConv);
    const zero = tf.scalar(0);
    return tf.stack(this.platform.cus.map((_, i) => (i === info.split!.conv ? nConv : i === info.split!.dw ? nDw : zero))) as tf.Tensor1D;
  }

  private bias(cu: ComputeUnit, b: tf.Tensor): tf.Tensor {
    return cu.weights === 'float' ? b : biasQuant(b, this.options.biasBits ?? 16);
  }

  private splitLayer(k: number, xq: tf.Tensor4D, counts: tf.Tensor1D[]): tf.Tensor4D {
    const info = this.layers[k]!;
    const l = info.spec;
    const conv = this.platform.cus[info.split!.conv]!, dw = this.platform.cus[info.split!.dw]!;
    const m = this.splitMask(k);
    counts.push(this.layerCounts(k, 1, m));
    const wc = this.quantizeWeights(conv, `${l.name}.conv`, this.params.get(`${l.name}.conv.w`));
    const wd = this.quantizeWeights(dw, l.name, this.params.get(`${l.name}.w`));
    const yc = addBias(convOf(l, xq, wc as tf.Tensor4D, false), this.bias(conv, this.params.get(`${l.name}.conv.b`)));
    const yd = addBias(convOf(l, xq, wd as tf.Tensor4D, true), this.bias(dw, this.params.get(`${l.name}.b`)));
    return mixChannels(activation(l.act, yc), activation(l.act, yd), m);
  }

  /** W_mix[c] = Σ_i θ[i,c]·Q_i(W[c]) and b_mix likewise, over `cus` (default: every CU that may run layer k). */
  private mix(k: number, theta: tf.Tensor2D, cus: number[] = this.layers[k]!.plan.eligible): { w: tf.Tensor; b: tf.Tensor } {
    const l = this.layers[k]!.spec;
    const w = this.params.get(`${l.name}.w`), b = this.params.get(`${l.name}.b`);
    const rows = tf.unstack(theta);
    let wMix: tf.Tensor | null = null, bMix: tf.Tensor | null = null;
    for (const i of cus) {
      const cu = this.platform.cus[i]!;
      const th = rows[i]!;
      const thW = l.kind === 'depthwise' ? tf.reshape(th, [l.cout, 1]) : th; // output channel axis of W
      const qw = tf.mul(this.quantizeWeights(cu, l.name, w), thW);
      const qb = tf.mul(this.bias(cu, b), th);
      wMix = wMix ? tf.add(wMix, qw) : qw;
      bMix = bMix ? tf.add(bMix, qb) : qb;
    }
    return { w: wMix!, b: bMix! };
  }

  /** Layer k's input as the CUs of input group `g` see it (unquantized on the float path or for float CUs). */
  private quantInput(k: number, x: tf.Tensor4D, g = 0): tf.Tensor4D {
    const group = this.layers[k]!.inputs[g]!;
    return group.param === null || this.floatPath ? x : pactQuant(x, this.params.get(group.param), group.bits!) as tf.Tensor4D;
  }

  /**
   * Layer k's pre-activation output for the input `x` under the channel weights θ: per
   * input group, its quantized input through the mixed weights of its CUs, summed (θ
   * splits each channel among CUs, so the groups' parts add up to the layer's output).
   */
  private preActivation(k: number, x: tf.Tensor4D, theta: tf.Tensor2D): tf.Tensor4D {
    const info = this.layers[k]!;
    const l = info.spec;
    // The float network: its own weights on the unquantized input, whatever θ (θ sums to 1
    // over CUs, and one-hot θ gives these values exactly through the mixed path).
    if (this.floatPath) return linear(l, x, this.params.get(`${l.name}.w`), this.params.get(`${l.name}.b`));
    let out: tf.Tensor4D | null = null;
    info.inputs.forEach((g, gi) => {
      const xq = this.quantInput(k, x, gi);
      const { w: wMix, b: bMix } = this.mix(k, theta, info.inputs.length === 1 ? info.plan.eligible : g.cus);
      const y = linear(l, xq, wMix, bMix);
      out = out ? tf.add(out, y) as tf.Tensor4D : y;
    });
    return out!;
  }

  private layer(k: number, x: tf.Tensor4D, temperature: number, counts: tf.Tensor1D[]): tf.Tensor4D {
    const info = this.layers[k]!;
    if (info.split) return this.splitLayer(k, this.quantInput(k, x), counts);
    const theta = this.theta(k, temperature);
    counts.push(tf.sum(theta, 1) as tf.Tensor1D);
    let y = this.preActivation(k, x, theta);
    if (this.probe) y = this.probe(k, y);
    return activation(info.spec.act, y);
  }

  /**
   * A residual add: the sum (≥ 0 after ReLU) goes through one 7-bit PACT quantizer shared
   * by both operands; quantizing the signed conv operand with an unsigned PACT would drop
   * its negative part.
   */
  private addNode(a: AddSpec, u: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
    if (!a.relu) return tf.add(u, v);
    if (this.floatPath) return tf.relu(tf.add(u, v)) as tf.Tensor4D;
    return pactQuant(tf.relu(tf.add(u, v)), this.params.get(`${a.name}.act`), this.options.addBits ?? 7) as tf.Tensor4D;
  }

  /**
   * A digest of what a computation on this network reads. 'float-network': what the float
   * path reads (the graph, the weights, and what picks a split layer's branches: its α or the
   * fixed mapping).
   * 'network': everything (platform, options, every parameter, the fixed or forward mapping).
   * Two networks with the same digest give the same outputMoments / sensitivity results.
   */
  digest(of: 'float-network' | 'network'): string {
    const model = this;
    function* parts(): Generator<DigestPart> {
      yield of;
      yield JSON.stringify(model.spec); // the graph: layers, adds, pools, order
      const splitAlpha = new Set(model.layers.filter((i) => i.split).map((i) => `${i.spec.name}.alpha`));
      const names = [...model.params.trainable.keys(), ...model.params.state.keys()].sort()
        .filter((n) => of === 'network' || model.groups.get(n) === 'weights' || splitAlpha.has(n) || model.params.state.has(n));
      for (const n of names) {
        const v = model.params.get(n);
        yield n;
        yield JSON.stringify(v.shape);
        yield v.dataSync() as Float32Array;
      }
      // A split layer's branches follow its α, or the fixed mapping when there is one.
      if (of === 'float-network' && splitAlpha.size) yield JSON.stringify(model.assignmentValue);
      if (of === 'network') {
        yield JSON.stringify(model.platform);
        yield JSON.stringify(model.plans.map((p) => [p.layer.name, p.mode, p.searchable, p.eligible]));
        yield JSON.stringify(model.options);
        yield JSON.stringify(model.assignmentValue);
        for (const t of model.forwardHot ?? []) yield t ? t.dataSync() as Float32Array : 'argmax';
      }
    }
    return digest(parts());
  }

  /**
   * Per-channel mean and standard deviation of each per-channel layer's pre-activation
   * output over the images `xs` (layer index → moments), through the quantized network with
   * the current θ, or through the float network the weights came from (`floatPath`).
   */
  outputMoments(xs: tf.Tensor4D[], floatPath: boolean): OutputMoments {
    const acc = new Map<number, { mean: Float32Array; sq: Float32Array }>();
    const total = xs.reduce((n, x) => n + x.shape[0], 0);
    this.floatPath = floatPath;
    this.probe = (k, y) => {
      const [m, q] = tf.tidy(() => [tf.mean(y, [0, 1, 2]).dataSync(), tf.mean(tf.square(y), [0, 1, 2]).dataSync()]) as [Float32Array, Float32Array];
      const a = acc.get(k) ?? { mean: new Float32Array(m.length), sq: new Float32Array(m.length) };
      const share = y.shape[0] / total; // each image weighs the same, whatever its batch's size
      for (let c = 0; c < m.length; c++) { a.mean[c]! += share * m[c]!; a.sq[c]! += share * q[c]!; }
      acc.set(k, a);
      return y;
    };
    try {
      for (const x of xs) tf.tidy(() => { this.forward(x, 1); });
    } finally {
      this.probe = null;
      this.floatPath = false;
    }
    return new Map([...acc].map(([k, a]) => [k, { mean: a.mean, std: a.mean.map((m, c) => Math.sqrt(Math.max(a.sq[c]! - m * m, 0))) }]));
  }

  /**
   * Output calibration after a mapping change (statistics matching, as BatchNorm
   * re-estimation does for a network whose BatchNorm is folded): layer by layer in order,
   * each channel's pre-activation output is given the mean and standard deviation it has
   * in the float network on the same images, by scaling the channel's float weights (and
   * ternary scales, so the quantized weights scale exactly) and setting its bias. Without
   * it, a ResNet20 switched at once to mostly ternary channels starts at chance accuracy
   * and plain SGD does not bring it back. Uses the current θ (call after fix / setAlpha).
   * `reference`: the moments to match instead of the float network's (e.g. the same
   * network's under its previous mapping, after training has moved it away from the float one).
   */
  calibrate(xs: tf.Tensor4D[], reference?: OutputMoments): { layers: number } {
    const ref = reference ?? this.outputMoments(xs, true);
    // One pass through the graph, node by node over all image batches: a layer is
    // calibrated on its (already calibrated) inputs, then its outputs are computed with the
    // calibrated weights and passed on. Activations are freed after their last consumer, so
    // memory is that of an inference pass and the cost about two forward passes (layer by
    // layer through whole forward passes costs one per layer).
    const spec = this.spec;
    const index = new Map(spec.layers.map((l, k) => [l.name, k]));
    const adds = new Map(spec.adds.map((a) => [a.name, a]));
    const pools = new Map(spec.pools.map((p) => [p.name, p]));
    const inputsOf = (node: string): string[] => {
      const k = index.get(node);
      if (k !== undefined) return [spec.layers[k]!.input];
      const a = adds.get(node);
      if (a) return [a.a, a.b];
      return [pools.get(node)!.input];
    };
    const lastUse = new Map<string, number>();
    spec.order.forEach((node, i) => { for (const n of inputsOf(node)) lastUse.set(n, i); });
    const values = new Map<string, tf.Tensor4D[]>([['input', xs]]);
    const total = xs.reduce((n, x) => n + x.shape[0], 0);
    let done = 0;
    try {
      spec.order.forEach((node, i) => {
        const inputs = inputsOf(node).map((n) => values.get(n)!);
        const k = index.get(node);
        let out: tf.Tensor4D[];
        if (k !== undefined) {
          if (!this.layers[k]!.split) { this.calibrateLayer(k, inputs[0]!, ref.get(k)!, total); done++; }
          out = inputs[0]!.map((x) => tf.tidy(() => this.layer(k, x, 1, [])));
        } else if (adds.has(node)) {
          out = inputs[0]!.map((u, c) => tf.tidy(() => this.addNode(adds.get(node)!, u, inputs[1]![c]!)));
        } else {
          out = inputs[0]!.map((x) => tf.tidy(() => pool(pools.get(node)!, x)));
        }
        values.set(node, out);
        for (const n of new Set(inputsOf(node))) {
          if (n !== 'input' && lastUse.get(n) === i) { tf.dispose(values.get(n)!); values.delete(n); }
        }
      });
    } finally {
      for (const [n, v] of values) if (n !== 'input') tf.dispose(v);
    }
    return { layers: done };
  }

  /**
   * Gives each channel of layer k's pre-activation output, over the input batches `xs`,
   * the reference mean and standard deviation `f`: scales its float weights (and ternary
   * scales, so the quantized weights scale exactly) and sets its bias.
   */
  private calibrateLayer(k: number, xs: tf.Tensor4D[], f: { mean: Float32Array; std: Float32Array }, total: number): void {
    const info = this.layers[k]!;
    const l = info.spec;
    const mean = new Float64Array(l.cout), sq = new Float64Array(l.cout);
    for (const x of xs) {
      const [m, q] = tf.tidy(() => {
        const y = this.preActivation(k, x, this.theta(k, 1));
        return [tf.mean(y, [0, 1, 2]).dataSync(), tf.mean(tf.square(y), [0, 1, 2]).dataSync()];
      }) as [Float32Array, Float32Array];
      const share = x.shape[0] / total;
      for (let c = 0; c < l.cout; c++) { mean[c]! += share * m[c]!; sq[c]! += share * q[c]!; }
    }
    const a = new Float32Array(l.cout), shift = new Float32Array(l.cout);
    for (let c = 0; c < l.cout; c++) {
      const sf = f.std[c]!, sqd = Math.sqrt(Math.max(sq[c]! - mean[c]! * mean[c]!, 0));
      a[c] = sqd > 1e-8 && sf > 1e-8 ? Math.min(10, Math.max(0.1, sf / sqd)) : 1;
      shift[c] = f.mean[c]! - a[c]! * mean[c]!;
    }
    tf.tidy(() => {
      const w = this.params.get(`${l.name}.w`), b = this.params.get(`${l.name}.b`);
      const av = tf.tensor1d(a);
      w.assign(tf.mul(w, l.kind === 'depthwise' ? tf.reshape(av, [l.cout, 1]) : av));
      b.assign(tf.add(tf.mul(b, av), tf.tensor1d(shift)));
      for (const i of info.plan.eligible) {
        const cu = this.platform.cus[i]!;
        if (cu.weights === 'float') continue;
        const qp = this.params.get(`${l.name}.q.${cu.name}`);
        if (cu.weights === 'ternary') qp.assign(tf.add(qp, tf.log(av)));
        else qp.assign(tf.scalar(initPow2Scale(w.dataSync() as Float32Array)));
      }
    });
  }

  /**
   * Logits [B, classes] and the soft channel counts per CU [numCUs, layers] (one-hot
   * counts when the mapping is fixed). Call inside tf.tidy / variableGrads.
   */
  forward(x: tf.Tensor4D, temperature = 1): { logits: tf.Tensor2D; counts: tf.Tensor2D } {
    const counts: tf.Tensor1D[] = [];
    const out = walkModel<tf.Tensor4D>(this.spec, x, {
      layer: (_l, k, input) => this.layer(k, input, temperature, counts),
      add: (a, u, v) => this.addNode(a, u, v),
      pool: (p, input) => pool(p, input),
    });
    return { logits: tf.reshape(out, [x.shape[0], this.spec.numClasses]), counts: tf.stack(counts, 1) as tf.Tensor2D };
  }

  /**
   * θ [numCUs, C] of each per-channel searchable layer at temperature T, as the forward
   * pass computes it (one-hot with the hard relaxation, straight-through to softmax(α/T));
   * null for the other layers. Call inside tf.tidy / variableGrads.
   */
  channelThetas(temperature: number): (tf.Tensor2D | null)[] {
    return this.layers.map((info, k) => (info.plan.searchable && !info.split && !info.single ? this.theta(k, temperature) : null));
  }

  /** Soft channel counts per CU [numCUs, layers] at temperature T, without a forward pass. */
  softCounts(temperature: number): tf.Tensor2D {
    return tf.tidy(() => tf.stack(this.layers.map((_, k) => this.layerCounts(k, temperature)), 1) as tf.Tensor2D);
  }

  /** Clamps the quantizers' scale parameters to stay positive after an update. */
  clampQuantParams(): void {
    tf.tidy(() => {
      for (const [name, v] of this.group('quant')) {
        if (name.endsWith('.act') || v.rank === 0) v.assign(tf.maximum(v, 1e-4));
      }
    });
  }

  /** Argmax of α per channel over the CUs that may run the layer (ties: the first CU). */
  discretise(): Assignment {
    return this.layers.map((info, k) => {
      const l = info.spec;
      if (!info.plan.searchable) return Array(l.cout).fill(info.plan.eligible[0]!);
      if (info.split) {
        const m = tf.tidy(() => this.splitMask(k).arraySync()) as number[];
        return m.map((v) => (v > 0.5 ? info.split!.conv : info.split!.dw));
      }
      const a = this.params.get(`${l.name}.alpha`).arraySync() as number[][];
      return Array.from({ length: l.cout }, (_, c) => {
        let best = info.plan.eligible[0]!;
        for (const i of info.plan.eligible) if (a[i]![c]! > a[best]![c]!) best = i;
        return best;
      });
    });
  }

  /**
   * Sets α so the argmax mapping is `assignment`: per channel, `margin`/2 on its CU and
   * −`margin`/2 on the others (a warm start; per-channel layers only).
   */
  setAlpha(assignment: Assignment, margin: number): void {
    this.layers.forEach((info, k) => {
      if (!info.plan.searchable || info.split) return;
      const n = this.platform.cus.length, c = info.spec.cout;
      const data = new Float32Array(n * c).fill(-margin / 2);
      assignment[k]!.forEach((cu, ch) => { data[cu * c + ch] = margin / 2; });
      const v = this.params.get(`${info.spec.name}.alpha`);
      tf.tidy(() => v.assign(tf.tensor2d(data, [n, c])));
    });
  }

  /**
   * Per layer, channel and CU: the learned preference α[i, c] (CUs that cannot run the layer:
   * −∞; conv-vs-depthwise layers: +1 on the CU of the current prefix mapping, 0 elsewhere).
   */
  preferences(): number[][][] {
    const current = this.discretise();
    return this.layers.map((info, k) => {
      const l = info.spec, n = this.platform.cus.length;
      if (!info.plan.searchable || info.split) {
        return current[k]!.map((cu) => Array.from({ length: n }, (_, i) => (i === cu ? 1 : info.plan.eligible.includes(i) ? 0 : -Infinity)));
      }
      const a = this.params.get(`${l.name}.alpha`).arraySync() as number[][];
      return Array.from({ length: l.cout }, (_, c) => Array.from({ length: n }, (_, i) => (info.plan.eligible.includes(i) ? a[i]![c]! : -Infinity)));
    });
  }

  /** Weights of layer k as CU i quantizes them (HWIO; depthwise [k, k, C, 1]). Caller owns the tensor. */
  quantizedWeights(k: number, cu: number): tf.Tensor {
    const l = this.layers[k]!.spec;
    return tf.tidy(() => this.quantizeWeights(this.platform.cus[cu]!, l.name, this.params.get(`${l.name}.w`)));
  }

  /** Freezes the mapping: θ becomes one-hot; α no longer trains. */
  fix(assignment: Assignment): void {
    assignment.forEach((cus, k) => {
      const info = this.layers[k]!;
      if (cus.length !== info.spec.cout) throw new Error(`${info.spec.name}: ${cus.length} channels assigned, layer has ${info.spec.cout}`);
      for (const cu of cus) {
        if (!info.plan.eligible.includes(cu)) throw new Error(`${info.spec.name}: channel on ${this.platform.cus[cu]?.name}, which cannot run it`);
      }
      if (info.split) {
        const k = cus.filter((c) => c === info.split!.conv).length;
        if (cus.some((c, ch) => (c === info.split!.conv) !== (ch < k))) {
          throw new Error(`${info.spec.name}: a conv-vs-depthwise mapping must put channels [0, k) on the conv branch`);
        }
      }
    });
    this.fixed?.forEach((t) => t.dispose());
    this.fixed = assignment.map((cus) => this.oneHot(cus));
    this.assignmentValue = assignment.map((a) => a.slice());
  }

  /** Back to the soft θ of the search (undoes fix). */
  unfix(): void {
    this.fixed?.forEach((t) => t.dispose());
    this.fixed = null;
    this.assignmentValue = null;
  }

  /**
   * The mapped layer k as the forward pass computes it (fixed mapping): the mixed,
   * dequantized weights and bias, and for a conv-vs-depthwise layer the conv branch and
   * the mask; `group`: only the CUs of that input group (the other channels' weights zero).
   * The caller owns the tensors.
   */
  materialise(k: number, group?: number): { w: tf.Tensor; b: tf.Tensor; conv: { w: tf.Tensor; b: tf.Tensor; mask: tf.Tensor1D } | null } {
    if (!this.fixed) throw new Error('materialise needs a fixed mapping');
    type Out = { w: tf.Tensor; b: tf.Tensor; conv: { w: tf.Tensor; b: tf.Tensor; mask: tf.Tensor1D } | null };
    return tf.tidy((() => {
      const info = this.layers[k]!;
      const l = info.spec;
      const w = this.params.get(`${l.name}.w`), b = this.params.get(`${l.name}.b`);
      if (info.split) {
        const conv = this.platform.cus[info.split.conv]!, dw = this.platform.cus[info.split.dw]!;
        // Cloned: a float CU's "quantized" weights are the variables themselves, and the
        // caller disposes what it gets.
        return {
          w: tf.clone(this.quantizeWeights(dw, l.name, w)), b: tf.clone(this.bias(dw, b)),
          conv: {
            w: tf.clone(this.quantizeWeights(conv, `${l.name}.conv`, this.params.get(`${l.name}.conv.w`))),
            b: tf.clone(this.bias(conv, this.params.get(`${l.name}.conv.b`))), mask: this.splitMask(k),
          },
        };
      }
      return { ...this.mix(k, this.fixed![k]!, group === undefined ? info.plan.eligible : info.inputs[group]!.cus), conv: null };
    }) as unknown as () => tf.TensorContainer) as unknown as Out;
  }

  /**
   * Layer k's input groups (one per activation format among its CUs): the bits (null:
   * float), the name of the clip parameter, and the CUs that see that input.
   */
  inputGroups(k: number): InputGroup[] { return this.layers[k]!.inputs.map((g) => ({ ...g, cus: [...g.cus] })); }

  /** Integer channel counts per layer and CU of an assignment. */
  countsOf(assignment: Assignment): number[][] {
    return assignment.map((cus) => {
      const c = this.platform.cus.map(() => 0);
      for (const cu of cus) c[cu]!++;
      return c;
    });
  }

  dispose(): void {
    this.params.dispose();
    this.layers.forEach((l) => { l.mask.dispose(); l.single?.dispose(); });
    this.fixed?.forEach((t) => t.dispose());
    this.forwardHot?.forEach((t) => t?.dispose());
  }
}

/** Forward: the one-hot argmax over CUs (axis 0; ties: the first CU); gradient straight through. */
const hardSte = tf.customGrad(((soft: tf.Tensor) => {
  const n = soft.shape[0]!;
  const hot = tf.transpose(tf.oneHot(tf.argMax(soft, 0), n));
  return { value: tf.cast(hot, 'float32'), gradFunc: (dy: tf.Tensor) => dy };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;

/** Forward: the given one-hot mapping `hot`; gradient straight through to `soft`. */
const steTo = tf.customGrad(((soft: tf.Tensor, hot: tf.Tensor) => ({
  value: tf.clone(hot),
  gradFunc: (dy: tf.Tensor) => [dy, tf.zerosLike(hot)],
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (soft: tf.Tensor2D, hot: tf.Tensor2D) => tf.Tensor2D;

/** Forward [x > 0.5], gradient straight through. */
const stepSte = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.cast(tf.greater(x, 0.5), 'float32'),
  gradFunc: (dy: tf.Tensor) => dy,
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * W' = W·γ/√(var+ε) per output channel, b' = β − γ·mean/√(var+ε) (or the layer's own
 * bias), for the parameters `prefix.*` of layer l.
 */
export function foldBatchNorm(l: ConvLayerSpec, p: ParamStore, prefix = l.name): { w: tf.Tensor; b: tf.Tensor } {
  return tf.tidy(() => {
    const w = p.get(`${prefix}.w`);
    if (!l.bn) return { w: tf.clone(w), b: tf.clone(p.get(`${prefix}.b`)) };
    const gamma = p.get(`${prefix}.gamma`), beta = p.get(`${prefix}.beta`);
    const mean = p.get(`${prefix}.mean`), variance = p.get(`${prefix}.var`);
    const scale = tf.div(gamma, tf.sqrt(tf.add(variance, BN_EPS)));
    const ws = l.kind === 'depthwise' ? tf.mul(w, tf.reshape(scale, [l.cout, 1])) : tf.mul(w, scale);
    return { w: ws, b: tf.sub(beta, tf.mul(mean, scale)) };
  });
}

/**
 * Ternary scales, per output channel: the S that minimises the channel's quantization
 * error Σ_w (w − S·round(clamp(w/S, −1, 1)))², searched on a grid of S/σ_c in [0.2, 3]
 * and refined around the best point. (The reference's equiprobable-levels rule,
 * S = 0.861σ, leaves the non-zero level well below the weights it stands for: a ResNet20
 * mapped all-analog that way starts at chance accuracy.) `mode` 'equiprobable' keeps the
 * reference's rule.
 */
export function ternaryInit(w: Float32Array, cout: number, mode: 'mse' | 'equiprobable' = 'mse'): number[] {
  const n = w.length / cout;
  return Array.from({ length: cout }, (_, c) => {
    let s = 0, s2 = 0;
    for (let j = 0; j < n; j++) { const v = w[j * cout + c]!; s += v; s2 += v * v; }
    const sd = Math.max(Math.sqrt(Math.max(s2 / n - (s / n) ** 2, 0)), 1e-6);
    if (mode === 'equiprobable') return Math.log(0.861 * sd);
    const err = (S: number) => {
      let e = 0;
      for (let j = 0; j < n; j++) {
        const v = w[j * cout + c]!;
        const q = S * Math.round(Math.max(-1, Math.min(1, v / S)));
        e += (v - q) ** 2;
      }
      return e;
    };
    let best = 0.861 * sd, bestErr = err(best);
    for (let k = 0.2; k <= 3.0001; k += 0.05) { const e = err(k * sd); if (e < bestErr) { bestErr = e; best = k * sd; } }
    for (let k = -10; k <= 10; k++) { const S = best * (1 + k * 0.005); const e = err(S); if (e < bestErr) { bestErr = e; best = S; } }
    return Math.log(best);
  });
}
