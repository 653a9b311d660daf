/**
 * A model is a small DAG of layer specs. The same spec drives the forward pass, the
 * parameter shapes and the layer geometry the hardware cost models need, so geometry
 * is written once.
 */
export type LayerKind = 'conv' | 'depthwise' | 'fc';

export interface LayerGeometry {
  name: string;
  kind: LayerKind;
  cin: number;
  cout: number;
  kx: number;
  ky: number;
  /** Output spatial size. */
  h: number;
  w: number;
  stride: number;
  groups: number;
}

/** Activation after a layer (or a residual add). */
export type Activation = 'none' | 'relu' | 'relu6';

/** Explicit padding: rows added at the top and bottom, columns at the left and right. */
export type ExplicitPads = [top: number, bottom: number, left: number, right: number];

/** TF-style 'same' / 'valid', or explicit per-side amounts (imported graphs). */
export type Padding = 'same' | 'valid' | ExplicitPads;

export interface ConvLayerSpec extends LayerGeometry {
  /** Input spatial size. */
  inH: number;
  inW: number;
  pad: Padding;
  /** Dilation of the kernel (both axes); 1 when absent. */
  dilation?: number;
  /** BatchNorm follows the conv in the float model (folded into it before the search). */
  bn: boolean;
  act: Activation;
  /** Layer whose output feeds this one ('input' for the image). */
  input: string;
}

/** Residual add: output = act(a + b) named `name`. */
export interface AddSpec { name: string; a: string; b: string; relu: boolean }

/**
 * A pooling node. 'global': the mean over all positions (keeps a 1x1 map). 'max' / 'avg':
 * a k×k window with the given stride and explicit pads; 'max' ignores padded positions,
 * 'avg' counts them only with countIncludePad (ONNX semantics).
 */
export interface PoolSpec {
  name: string;
  input: string;
  kind: 'global' | 'max' | 'avg';
  k?: [number, number];
  stride?: [number, number];
  pad?: ExplicitPads;
  countIncludePad?: boolean;
}

/** Network input preprocessing: x = (pixel·scale − mean[c]) / std[c]. */
export interface InputTransform { scale: number; mean: number[]; std: number[] }

export interface ModelSpec {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  layers: ConvLayerSpec[];
  adds: AddSpec[];
  pools: PoolSpec[];
  /** Order in which nodes are evaluated (layer, add, or pool names). */
  order: string[];
  /** A built-in model this one has the structure of (imported graphs). */
  matches?: string;
}

export function geometry(spec: ModelSpec): LayerGeometry[] {
  return spec.layers.map(({ name, kind, cin, cout, kx, ky, h, w, stride, groups }) =>
    ({ name, kind, cin, cout, kx, ky, h, w, stride, groups }));
}

/** Builds specs with shapes inferred as layers are appended. */
export class SpecBuilder {
  readonly layers: ConvLayerSpec[] = [];
  readonly adds: ModelSpec['adds'] = [];
  readonly order: string[] = [];
  private readonly shapes = new Map<string, [number, number, number]>();
  readonly pools: PoolSpec[] = [];

  constructor(readonly name: string, readonly inputShape: [number, number, number], readonly numClasses: number) {
    this.shapes.set('input', inputShape);
  }

  shape(node: string): [number, number, number] {
    const s = this.shapes.get(node);
    if (!s) throw new Error(`spec ${this.name}: unknown node '${node}'`);
    return s;
  }

  conv(name: string, input: string, cout: number, k: number, stride: number,
    opts: { bn?: boolean; relu?: boolean; kind?: 'conv' | 'depthwise'; pad?: 'same' | 'valid' } = {}): string {
    const [inH, inW, cin] = this.shape(input);
    const kind = opts.kind ?? 'conv';
    const pad = opts.pad ?? 'same';
    const h = pad === 'same' ? Math.ceil(inH / stride) : Math.ceil((inH - k + 1) / stride);
    const w = pad === 'same' ? Math.ceil(inW / stride) : Math.ceil((inW - k + 1) / stride);
    if (kind === 'depthwise' && cout !== cin) throw new Error(`${name}: depthwise needs cout == cin`);
    this.layers.push({
      name, kind, cin, cout, kx: k, ky: k, h, w, stride, groups: kind === 'depthwise' ? cin : 1,
      inH, inW, pad, bn: opts.bn ?? true, act: (opts.relu ?? true) ? 'relu' : 'none', input,
    });
    this.shapes.set(name, [h, w, cout]);
    this.order.push(name);
    return name;
  }

  add(name: string, a: string, b: string): string {
    const sa = this.shape(a), sb = this.shape(b);
    if (sa.join() !== sb.join()) throw new Error(`${name}: add of ${sa} and ${sb}`);
    this.adds.push({ name, a, b, relu: true });
    this.shapes.set(name, sa);
    this.order.push(name);
    return name;
  }

  /** Global average pool then the classifier, an FC layer = 1x1 conv on a 1x1 map. */
  classifier(input: string, fcName = 'fc'): ModelSpec {
    const [, , c] = this.shape(input);
    this.pools.push({ name: 'pool', input, kind: 'global' });
    this.shapes.set('pool', [1, 1, c]);
    this.order.push('pool');
    this.layers.push({
      name: fcName, kind: 'fc', cin: c, cout: this.numClasses, kx: 1, ky: 1, h: 1, w: 1, stride: 1,
      groups: 1, inH: 1, inW: 1, pad: 'valid', bn: false, act: 'none', input: 'pool',
    });
    this.order.push(fcName);
    return {
      name: this.name, inputShape: this.inputShape, numClasses: this.numClasses,
      layers: this.layers, adds: this.adds, pools: this.pools, order: this.order,
    };
  }
}

/**
 * Walks a model's DAG in order: every layer, residual add and the pool is computed from
 * the values of its inputs by the given handlers; returns the value of the last node.
 * Forward passes (float, searchable) and exporters all walk the graph this way.
 */
export function walkModel<T>(spec: ModelSpec, input: T, h: {
  layer(l: ConvLayerSpec, index: number, x: T): T;
  add(a: AddSpec, x: T, y: T): T;
  pool(p: PoolSpec, x: T): T;
}): T {
  const values = new Map<string, T>([['input', input]]);
  const index = new Map(spec.layers.map((l, k) => [l.name, k]));
  const adds = new Map(spec.adds.map((a) => [a.name, a]));
  const pools = new Map(spec.pools.map((p) => [p.name, p]));
  const get = (n: string): T => {
    if (!values.has(n)) throw new Error(`model ${spec.name}: '${n}' used before it is computed`);
    return values.get(n)!;
  };
  for (const node of spec.order) {
    const k = index.get(node);
    if (k !== undefined) { const l = spec.layers[k]!; values.set(node, h.layer(l, k, get(l.input))); continue; }
    const a = adds.get(node);
    if (a) { values.set(node, h.add(a, get(a.a), get(a.b))); continue; }
    const p = pools.get(node);
    if (p) { values.set(node, h.pool(p, get(p.input))); continue; }
    throw new Error(`model ${spec.name}: unknown node '${node}'`);
  }
  return get(spec.order[spec.order.length - 1]!);
}

/** A layer's padding as explicit per-side amounts (TF's rule for 'same': the extra row/column at the end). */
export function explicitPads(l: ConvLayerSpec): ExplicitPads {
  if (Array.isArray(l.pad)) return l.pad;
  if (l.pad === 'valid') return [0, 0, 0, 0];
  const d = l.dilation ?? 1;
  const th = Math.max((l.h - 1) * l.stride + d * (l.ky - 1) + 1 - l.inH, 0);
  const tw = Math.max((l.w - 1) * l.stride + d * (l.kx - 1) + 1 - l.inW, 0);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

/** The padding argument of tf.conv2d / tf.depthwiseConv2d for a layer. */
export function tfPadding(l: ConvLayerSpec): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (!Array.isArray(l.pad)) return l.pad;
  const [t, b, left, r] = l.pad;
  return [[0, 0], [t, b], [left, r], [0, 0]];
}

/** Output size of a window op along one axis (floor mode). */
export function windowOut(size: number, k: number, stride: number, padBefore: number, padAfter: number, dilation = 1): number {
  return Math.floor((size + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1;
}

/**
 * Nodes whose values are never negative: the input (when its preprocessing keeps it so),
 * ReLU/ReLU6 outputs, rectified adds, and pools of non-negative values. Quantizers with
 * an unsigned range need a non-negative input.
 */
export function nonNegativeNodes(spec: ModelSpec, inputNonNegative: boolean): Set<string> {
  const out = new Set<string>(inputNonNegative ? ['input'] : []);
  const layers = new Map(spec.layers.map((l) => [l.name, l]));
  const adds = new Map(spec.adds.map((a) => [a.name, a]));
  const pools = new Map(spec.pools.map((p) => [p.name, p]));
  for (const node of spec.order) {
    const l = layers.get(node), a = adds.get(node), p = pools.get(node);
    if ((l && l.act !== 'none') || (a && (a.relu || (out.has(a.a) && out.has(a.b)))) || (p && out.has(p.input))) out.add(node);
  }
  return out;
}

/** Output shape [h, w, c] of every node of a model (input, layers, adds, pools). */
export function nodeShapes(spec: ModelSpec): Map<string, [number, number, number]> {
  const shapes = new Map<string, [number, number, number]>([['input', spec.inputShape]]);
  walkModel<[number, number, number]>(spec, spec.inputShape, {
    layer: (l) => { const s: [number, number, number] = [l.h, l.w, l.cout]; shapes.set(l.name, s); return s; },
    add: (a, x) => { shapes.set(a.name, x); return x; },
    pool: (p, [h, w, c]) => {
      if (p.kind === 'global') { shapes.set(p.name, [1, 1, c]); return [1, 1, c]; }
      const [t, b, l, r] = p.pad ?? [0, 0, 0, 0];
      const s: [number, number, number] = [windowOut(h, p.k![0], p.stride![0], t, b), windowOut(w, p.k![1], p.stride![1], l, r), c];
      shapes.set(p.name, s);
      return s;
    },
  });
  return shapes;
}

export function nodeShape(spec: ModelSpec, node: string): [number, number, number] {
  const s = nodeShapes(spec).get(node);
  if (!s) throw new Error(`model ${spec.name}: unknown node '${node}'`);
  return s;
}
