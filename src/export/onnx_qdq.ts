/**
 * ONNX export in the QDQ form (opset 13) that integer runtimes and compilers map to integer
 * kernels: onnxruntime's QDQ fusion turns each DequantizeLinear → Conv → QuantizeLinear
 * into a QLinearConv (int8/uint8 in, int32 accumulator, uint8 out).
 *
 * Activations. The run's PACT quantizer floor(s·clamp(x, 0, a)) / s is computed as in
 * `--format onnx` and handed to QuantizeLinear(·, 1/s, 0:uint8), exact on values already on
 * its grid; consumers read it through DequantizeLinear.
 *
 * Convolutions. Each CU's part is Conv(DQ(q_in), DQ(W:int8, per-tensor or per-channel
 * scale), DQ(b:int32 at the accumulator scale s_in·s_w)). Where the layer's output goes
 * only to one activation quantizer (e.g. a ResNet block's first conv), that quantizer is
 * moved before the concat onto every part, with its floor shift folded into the int32 bias:
 * the part ends in QuantizeLinear and runs as an integer convolution; concat, channel order
 * and the narrower clip then work on uint8. There QuantizeLinear's rounding of
 * x·s − (0.5 − 2^-16) is the floor: uint8 saturation is the clamp at 0, an integer Clip
 * the one at 2^N − 1. Elsewhere (a conv that feeds a residual Add, the
 * classifier) the trained network has no quantizer on the conv output, so the part stays a
 * float-compute conv with dequantized integer weights, as in `--format onnx`.
 *
 * What differs from the run, in the integer convolutions only: the bias requantized to the
 * accumulator scale (the run keeps it in int16 at its own scale) moves an output by at most
 * half an accumulator step, and the floor is off within 2^-16 below an integer; either can
 * flip an activation by one quantizer step.
 */
import { walkModel, type ConvLayerSpec } from '../models/spec.js';
import { pactConstants } from '../quant/quantizers.js';
import type { LoadedRun } from './load.js';
import {
  act, actQuant, biasInput, concatInOrder, convAttrs, depthwiseInput, flattenForFc, int, ints, layerParts, OnnxGraph, partTensors,
  poolNode, weightInput, writeOnnxModel, type LayerPart,
} from './onnx.js';

/**
 * For a quantizer folded into a convolution's output: the shift that makes
 * round-half-to-even a floor: x·s − (0.5 − 2^-16) rounds to floor(x·s)
 * for every x·s below 256 except within 2^-16 below an integer (k − 0.5 + 2^-16 is exact in
 * float32 for k < 256, and s is a power of two). Half a step exactly would round integers
 * down half the time, and integers are common: re-quantizing an already quantized tensor on
 * the same or a coarser power-of-two grid gives x·s integer.
 */
const FLOOR_SHIFT = 0.5 - 2 ** -16;

/**
 * Narrow weights in integer parts are stretched over int8: levels w·m on the scale S/m with
 * m = floor(63 / L) for L levels each side (ternary {-1, 0, 1}: m = 63; 4-bit ±7: m = 9;
 * 8-bit: m = 1). The same values, and an accumulator scale s_in·S/m m times finer, so the
 * int32 bias (which must sit on that scale) is m times closer to the run's. 63, not 127:
 * u8 activations up to 255 times 63, summed in pairs, stay inside int16 on x86 kernels
 * without VNNI.
 */
const WEIGHT_INT_MAX = 63;

/** A tensor of the graph: float, or uint8 quantized by the PACT parameter `param`. */
type Val = { kind: 'float'; name: string } | { kind: 'q'; name: string; param: string; step: number };

/** What a layer's output feeds: activation quantizers (param) or anything else (null). */
function consumersOf(run: LoadedRun): Map<number, (string | null)[]> {
  const { spec, model } = run;
  const out = new Map<number, (string | null)[]>();
  const index = new Map(spec.layers.map((l, k) => [l.name, k]));
  const use = (v: string, who: string | null) => {
    const k = index.get(v);
    if (k !== undefined) out.set(k, [...(out.get(k) ?? []), who]);
  };
  walkModel<string>(spec, 'input', {
    layer: (l, k, x) => {
      for (const grp of model.inputGroups(k)) use(x, grp.param);
      return l.name;
    },
    add: (a, u, v) => { use(u, null); use(v, null); return a.name; },
    pool: (p, x) => { use(x, null); return p.name; },
  });
  return out;
}

export async function exportOnnxQdq(run: LoadedRun, file: string): Promise<{ nodes: number; initializers: number; integerConvs: number; floatConvs: number }> {
  const { spec, model } = run;
  const g = new OnnxGraph();
  const consumers = consumersOf(run);
  const bitsOf = new Map<string, number>();
  spec.layers.forEach((_, k) => model.inputGroups(k).forEach((grp) => { if (grp.param) bitsOf.set(grp.param, grp.bits!); }));
  let integerConvs = 0, floatConvs = 0;
  const u8 = (name: string, v: number) => g.init(name, Uint8Array.of(v), []);
  const f32 = (name: string, v: number) => g.init(name, Float32Array.of(v), []);

  /** The scale s of the PACT quantizer `param` and its step 1/s (the uint8 grid). */
  const quantConsts = (param: string, bits: number) => {
    const { scale: s } = pactConstants(model.params.get(param), bits);
    return { s, step: 1 / s };
  };
  const floats = new Map<string, string>();
  const asFloat = (v: Val): string => {
    if (v.kind === 'float') return v.name;
    let f = floats.get(v.name);
    if (!f) {
      f = g.node('DequantizeLinear', [v.name, f32(`${v.name}.dq_scale`, v.step), u8(`${v.name}.dq_zero`, 0)], [], `${v.name}.dq`);
      floats.set(v.name, f);
    }
    return f;
  };
  const clipInt = (q: string, param: string, max: number): string =>
    (max >= 255 ? q : g.node('Clip', [q, u8(`${param}.${q}.qmin`, 0), u8(`${param}.${q}.qmax`, max)], [], `${q}.clip`));
  /**
   * x (float) through the quantizer `param`, as uint8: the run's own floor form (exact),
   * then QuantizeLinear, which is exact on values that already lie on its grid.
   */
  const quantize = (x: string, param: string, bits: number, tag: string): Val => {
    const { step } = quantConsts(param, bits);
    const exact = actQuant(g, tag, x, model.params.get(param), bits);
    const q = g.node('QuantizeLinear', [exact, f32(`${tag}.q_scale`, step), u8(`${tag}.q_zero`, 0)], [], `${tag}.qint`);
    return { kind: 'q', name: q, param, step };
  };

  /** The one quantizer a layer's output feeds, where that is all it feeds (and it fits uint8). */
  const outputQuantizer = (k: number, l: ConvLayerSpec): string | null => {
    const c = consumers.get(k) ?? [];
    if (c.length === 0 || c.some((p) => p === null || p !== c[0])) return null;
    const bits = bitsOf.get(c[0]!)!;
    if (bits > 8 || !['relu', 'none', 'relu6'].includes(l.act)) return null;
    return c[0]!;
  };

  const nchw = g.node('Transpose', ['input'], [ints('perm', [0, 3, 1, 2])], 'input_nchw');
  const last = walkModel<Val>(spec, { kind: 'float', name: nchw }, {
    layer: (l, k, input) => {
      const groups = model.inputGroups(k);
      // Per input group: the quantized input (uint8, with its step) or the float input.
      const inputs = groups.map((grp) => {
        let v: Val;
        if (grp.param === null) v = { kind: 'float', name: asFloat(input) };
        else if (grp.bits! > 8) v = { kind: 'float', name: actQuant(g, grp.param, asFloat(input), model.params.get(grp.param), grp.bits!) };
        else if (input.kind === 'q' && input.param === grp.param) v = input;
        else v = quantize(asFloat(input), grp.param, grp.bits!, grp.param);
        return l.kind === 'fc' && l.inH * l.inW > 1 ? { ...v, name: flattenForFc(g, grp.param ?? l.name, v.name, l.cin) } : v;
      });
      const inputOf = (cu: number) => inputs[groups.findIndex((grp) => grp.cus.includes(cu))]!;
      const outParam = outputQuantizer(k, l);
      const out = outParam ? quantConsts(outParam, bitsOf.get(outParam)!) : null;
      const parts = layerParts(run, l, k);
      const outputs = parts.map((part) => {
        const r = partConvQdq(g, run, l, part, inputOf(part.cu.index), out);
        if (r.integer) integerConvs++; else floatConvs++;
        return r.name;
      });
      const y = concatInOrder(g, l, outputs, parts);
      if (!out) return { kind: 'float', name: act(g, l.act, y, l.name) };
      // relu: uint8 saturation at 0; relu6: floor(s·min(x, 6)) = min(floor(s·x), floor(6s)).
      const bits = bitsOf.get(outParam!)!;
      const max = Math.min(2 ** bits - 1, l.act === 'relu6' ? Math.floor(6 * out.s) : 255);
      return { kind: 'q', name: clipInt(y, `${l.name}.out`, max), param: outParam!, step: out.step };
    },
    add: (a, u, v) => {
      const sum = g.node('Add', [asFloat(u), asFloat(v)], [], a.name);
      if (!a.relu) return { kind: 'float', name: sum };
      const param = `${a.name}.act`;
      return quantize(sum, param, model.options.addBits ?? 7, param);
    },
    pool: (p, x) => ({ kind: 'float', name: poolNode(g, p, asFloat(x)) }),
  });
  g.node('Flatten', [asFloat(last)], [int('axis', 1)], 'logits');
  const written = await writeOnnxModel(g, run, file,
    'QDQ form: per-CU convolutions DequantizeLinear -> Conv -> QuantizeLinear where a quantizer follows the layer');
  return { ...written, integerConvs, floatConvs };
}

/**
 * One CU's part in QDQ form. With `out` (the quantizer the layer's output feeds) and an
 * integer input and weights ≤ 8 bits, an integer convolution ending in QuantizeLinear;
 * otherwise a float-compute conv of dequantized integers (as `--format onnx`).
 */
function partConvQdq(g: OnnxGraph, run: LoadedRun, l: ConvLayerSpec, part: LayerPart, x: Val,
  out: { step: number } | null): { name: string; integer: boolean } {
  const t = partTensors(run, l, part.cu, part.prefix, part.channels, part.depthwise, part.cu.name);
  const n = part.channels.length;
  const perChannel = t.weightScale.length > 1;
  const integer = out !== null && x.kind === 'q' && t.format !== 'float' && !(typeof t.format === 'number' && t.format > 8);
  if (integer) {
    const levels = t.format === 'ternary' ? 1 : 2 ** ((t.format as number) - 1) - 1;
    const m = Math.max(1, Math.floor(WEIGHT_INT_MAX / levels));
    t.weights = t.weights.map((v) => v * m);
    t.weightScale = t.weightScale.map((v) => v / m);
  }
  const input = part.depthwise ? depthwiseInput(g, t.name, x.name, part.channels) : x.name;
  const W = weightInput(g, t);
  let B: string;
  if (integer) {
    // int32 bias at the accumulator scale s_in·s_w[c], with the output quantizer's floor shift.
    const stepIn = (x as { step: number }).step;
    const acc = Float32Array.from({ length: n }, (_, c) => stepIn * t.weightScale[perChannel ? c : 0]!);
    const bi = Int32Array.from(t.bias, (v, c) => Math.round((Math.fround(v * t.biasScale) - FLOOR_SHIFT * out!.step) / acc[c]!));
    B = g.node('DequantizeLinear', [g.init(`${t.name}.bias_int`, bi, [n]), g.init(`${t.name}.bias_scale`, acc, [n]),
      g.init(`${t.name}.bias_zero`, new Int32Array(n), [n])], [int('axis', 0)], `${t.name}.bias`);
  } else {
    // As `--format onnx` writes it, so the float-compute parts compute what that export does.
    B = biasInput(g, t);
  }
  const inputF = x.kind === 'q'
    ? g.node('DequantizeLinear', [input, g.init(`${t.name}.in_scale`, Float32Array.of(x.step), []), g.init(`${t.name}.in_zero`, Uint8Array.of(0), [])], [], `${t.name}.in`)
    : input;
  const conv = g.node('Conv', [inputF, W, B], convAttrs(l, part.depthwise, n), out ? `${t.name}.conv` : t.name);
  if (!out) return { name: conv, integer: false };
  // A float-compute part feeding the quantizer: the same quantizer on its output.
  const shifted = integer ? conv : g.node('Add', [conv, g.init(`${t.name}.floor_shift`, Float32Array.of(-FLOOR_SHIFT * out.step), [])], [], `${t.name}.shift`);
  const q = g.node('QuantizeLinear', [shifted, g.init(`${t.name}.out_scale`, Float32Array.of(out.step), []), g.init(`${t.name}.out_zero`, Uint8Array.of(0), [])], [], t.name);
  return { name: q, integer };
}
