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

export interface ConvLayerSpec extends LayerGeometry {
  /** Input spatial size. */
  inH: number;
  inW: number;
  pad: 'same' | 'valid';
  /** BatchNorm follows the conv in the float model (folded into it before the search). */
  bn: boolean;
  relu: boolean;
  /** Layer whose output feeds this one ('input' for the image). */
  input: string;
}

export interface ModelSpec {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  layers: ConvLayerSpec[];
  /** Residual adds: output = relu(a + b) named `name`. */
  adds: { name: string; a: string; b: string }[];
  /** Global average pool of `input` feeds the FC layer(s) whose input is `pool`. */
  pool: { name: string; input: string };
  /** Order in which nodes are evaluated (layer, add, or pool names). */
  order: string[];
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
  private pool: ModelSpec['pool'] | null = null;

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
      inH, inW, pad, bn: opts.bn ?? true, relu: opts.relu ?? true, input,
    });
    this.shapes.set(name, [h, w, cout]);
    this.order.push(name);
    return name;
  }

  add(name: string, a: string, b: string): string {
    const sa = this.shape(a), sb = this.shape(b);
    if (sa.join() !== sb.join()) throw new Error(`${name}: add of ${sa} and ${sb}`);
    this.adds.push({ name, a, b });
    this.shapes.set(name, sa);
    this.order.push(name);
    return name;
  }

  /** Global average pool then the classifier, an FC layer = 1x1 conv on a 1x1 map. */
  classifier(input: string, fcName = 'fc'): ModelSpec {
    const [, , c] = this.shape(input);
    this.pool = { name: 'pool', input };
    this.shapes.set('pool', [1, 1, c]);
    this.order.push('pool');
    this.layers.push({
      name: fcName, kind: 'fc', cin: c, cout: this.numClasses, kx: 1, ky: 1, h: 1, w: 1, stride: 1,
      groups: 1, inH: 1, inW: 1, pad: 'valid', bn: false, relu: false, input: 'pool',
    });
    this.order.push(fcName);
    return {
      name: this.name, inputShape: this.inputShape, numClasses: this.numClasses,
      layers: this.layers, adds: this.adds, pool: this.pool, order: this.order,
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
  add(a: ModelSpec['adds'][number], x: T, y: T): T;
  pool(x: T): T;
}): T {
  const values = new Map<string, T>([['input', input]]);
  const index = new Map(spec.layers.map((l, k) => [l.name, k]));
  const adds = new Map(spec.adds.map((a) => [a.name, a]));
  const get = (n: string): T => {
    if (!values.has(n)) throw new Error(`model ${spec.name}: '${n}' used before it is computed`);
    return values.get(n)!;
  };
  for (const node of spec.order) {
    const k = index.get(node);
    if (k !== undefined) { const l = spec.layers[k]!; values.set(node, h.layer(l, k, get(l.input))); continue; }
    const a = adds.get(node);
    if (a) { values.set(node, h.add(a, get(a.a), get(a.b))); continue; }
    if (node === spec.pool.name) { values.set(node, h.pool(get(spec.pool.input))); continue; }
    throw new Error(`model ${spec.name}: unknown node '${node}'`);
  }
  return get(spec.order[spec.order.length - 1]!);
}
