/**
 * Deployment JSON of a mapped network: per layer and CU, the channels it computes, their
 * quantized integer weights and scale (intN + scale 2^k/(2^(N-1)-1); ternary + per-channel
 * scale; float values for float CUs), integer biases, and the activation quantizers.
 * Weight layout per part: TF's HWIO ([ky, kx, cin, n]; depthwise [ky, kx, n, 1]).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ComputeUnit } from '../hw/platform.js';
import { explicitPads, type ConvLayerSpec } from '../models/spec.js';
import { integerBias, integerWeights, pactConstants } from '../quant/quantizers.js';
import { writeJsonStreamAtomic } from '../util/atomic.js';
import type { LoadedRun } from './load.js';

interface ActivationQuant { bits: number; clip: number; scale: number; clipEffective: number }

function activation(clip: tf.Tensor, bits: number): ActivationQuant & { format: string } {
  const c = pactConstants(clip, bits);
  return {
    bits, clip: clip.dataSync()[0]!, ...c,
    // What is computed: the learned clip is rounded to the power-of-two step 1/scale, so the
    // effective clip is (2^bits - 1)/scale (a learned 6 on 7 bits: scale 16, clip 7.9375).
    format: `uint${bits}: x_q = floor(scale * clamp(x, 0, clipEffective)) / scale; scale = 2^floor(log2((2^${bits} - 1) / clip)) = ${c.scale}, ` +
      `clipEffective = (2^${bits} - 1) / scale = ${c.clipEffective}`,
  };
}

/** Output channel axis of a weight tensor: last, except depthwise [k, k, C, 1]. */
const channelAxis = (l: ConvLayerSpec) => (l.kind === 'depthwise' ? 2 : l.kind === 'fc' ? 1 : 3);

function part(run: LoadedRun, l: ConvLayerSpec, cu: ComputeUnit, prefix: string, channels: number[]) {
  const p = run.model.params;
  let w!: tf.Tensor, bias!: tf.Tensor, param: tf.Tensor | null = null;
  tf.tidy(() => {
    const idx = tf.tensor1d(channels, 'int32');
    const wAll = l.kind === 'fc' ? tf.reshape(p.get(`${prefix}.w`), [l.cin, l.cout]) : p.get(`${prefix}.w`);
    w = tf.keep(tf.gather(wAll, idx, channelAxis(l)));
    bias = tf.keep(tf.gather(p.get(`${prefix}.b`), idx));
    if (cu.weights === 'ternary') param = tf.keep(tf.gather(p.get(`${prefix}.q.${cu.name}`), idx));
    else if (typeof cu.weights === 'number') param = tf.keep(tf.clone(p.get(`${prefix}.q.${cu.name}`)));
  });
  try {
    const q = integerWeights(w, cu.weights, param, channelAxis(l));
    const L = typeof cu.weights === 'number' ? 2 ** (cu.weights - 1) - 1 : 1;
    const weights = cu.weights === 'float' ? { format: 'float32', quantizer: 'none: float32 values', shape: w.shape, values: Array.from(q.values) }
      : cu.weights === 'ternary' ? {
        format: 'ternary', quantizer: 'w = value * scalePerChannel[c], value in {-1, 0, 1}; scalePerChannel = exp(learned log-scale) (any positive float)',
        scalePerChannel: q.scale, shape: w.shape, values: Array.from(q.values),
      }
        : {
          // The step is a power of two DIVIDED BY L: 2^k / ${L}, not a power of two itself.
          format: `int${cu.weights}`, quantizer: `w = value * scale, value in [-${L}, ${L}]; scale = S / ${L} with S = 2^k = ${q.scale[0]! * L} (the learned range, rounded down to a power of two)`,
          scale: q.scale[0]!, powerOfTwoRange: q.scale[0]! * L, levels: L, shape: w.shape, values: Array.from(q.values),
        };
    // One bias scale per layer, covering max|b| over ALL its channels (as the quantizer does).
    const b = cu.weights === 'float' ? null : integerBias(bias, p.get(`${prefix}.b`), 16);
    const biasOut = b ? { format: 'int16', quantizer: `b = value * scale; scale = 2^ceil(log2(max|layer bias|)) / 32767 = ${b.scale}`, scale: b.scale, values: Array.from(b.values) }
      : { format: 'float32', values: Array.from(bias.dataSync()) };
    return { cu: cu.name, channels, weights, bias: biasOut };
  } finally {
    tf.dispose([w, bias, ...(param ? [param] : [])]);
  }
}

export async function exportJson(run: LoadedRun, file: string): Promise<void> {
  const { spec, platform, model, assignment } = run;
  const layers = spec.layers.map((l, k) => {
    const groups = model.inputGroups(k);
    const quantizer = (cu: number) => {
      const grp = groups.find((x) => x.cus.includes(cu))!;
      return grp.param === null ? null : activation(model.params.get(grp.param), grp.bits!);
    };
    const plan = run.plans[k]!;
    const parts = platform.cus.flatMap((cu) => {
      const channels = assignment[k]!.flatMap((c, ch) => (c === cu.index ? [ch] : []));
      if (channels.length === 0) return [];
      const convBranch = plan.mode === 'conv-vs-depthwise' && platform.split.style === 'conv-vs-depthwise' && platform.split.conv === cu.index && plan.searchable;
      const geom = convBranch ? { ...l, kind: 'conv' as const, groups: 1 } : l;
      return [{ ...part(run, geom, cu, convBranch ? `${l.name}.conv` : l.name, channels), computes: convBranch ? 'conv' : l.kind, inputQuantizer: quantizer(cu.index) }];
    });
    return {
      name: l.name, kind: l.kind, input: l.input, cin: l.cin, cout: l.cout, kx: l.kx, ky: l.ky, stride: l.stride,
      padding: explicitPads(l), dilation: l.dilation ?? 1, groups: l.groups, activation: l.act,
      // The layer's input quantizer when its CUs share one input format; else null and each
      // part carries its own (parts[].inputQuantizer, always present).
      inputQuantizer: groups.length === 1 ? quantizer(plan.eligible[0]!) : null,
      parts,
    };
  });
  const adds = spec.adds.map((a) => ({
    name: a.name, inputs: [a.a, a.b], relu: a.relu,
    outputQuantizer: a.relu ? activation(model.params.get(`${a.name}.act`), model.options.addBits ?? 7) : null,
  }));
  // Streamed: a large model's weights do not fit one JSON string.
  await writeJsonStreamAtomic(file, {
    format: 'hetsplit-mapped-network/1',
    platform: platform.name, model: spec.name, inputShape: spec.inputShape, numClasses: spec.numClasses,
    input: 'NHWC image in [0, 1] (pixels / 255)',
    semantics: 'y = activation(conv(Q_in(x), W) + b) per layer (padding: explicit [top, bottom, left, right]); ' +
      'W = integer values x scale; each CU computes its channels; the layer output is the channels of all parts in index order. ' +
      'Q(x) = floor(scale * clamp(x, 0, clipEffective)) / scale. FC layers flatten their NHWC input in (h, w, c) order.',
    metrics: run.metrics,
    order: spec.order, pools: spec.pools, layers, adds,
  });
}
