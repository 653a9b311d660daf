/** Named model parameters (trainable variables + BatchNorm running statistics), seeded init. */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';
import type { ModelSpec } from './spec.js';

export class ParamStore {
  readonly trainable = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();

  get(name: string): tf.Variable {
    const v = this.trainable.get(name) ?? this.state.get(name);
    if (!v) throw new Error(`parameter '${name}' does not exist`);
    return v;
  }

  has(name: string): boolean { return this.trainable.has(name) || this.state.has(name); }

  addTrainable(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, true, `p/${name}/${tf.util.now()}`);
    value.dispose();
    this.trainable.set(name, v);
    return v;
  }

  addState(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, false, `s/${name}/${tf.util.now()}`);
    value.dispose();
    this.state.set(name, v);
    return v;
  }

  numTrainable(): number {
    let n = 0;
    for (const v of this.trainable.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of [...this.trainable.values(), ...this.state.values()]) v.dispose();
    this.trainable.clear();
    this.state.clear();
  }
}

function normal(shape: number[], std: number, rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return tf.tensor(data, shape);
}

function uniform(shape: number[], limit: number, rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rng.next() * 2 - 1) * limit;
  return tf.tensor(data, shape);
}

/**
 * Float-model parameters: conv weights He-normal (fan-out, as torchvision's ResNets),
 * FC weights and biases uniform(±1/sqrt(fan_in)) (PyTorch's Linear default),
 * BN gamma 1 / beta 0, running mean 0 / variance 1. `splitLayers` (depthwise layers of a
 * conv-vs-depthwise platform) also get a full-conv branch with its own BatchNorm.
 */
export function initParams(spec: ModelSpec, seed: number, splitLayers: ReadonlySet<string> = new Set()): ParamStore {
  const rng = new Rng(seed);
  const p = new ParamStore();
  for (const l of spec.layers) {
    const depthwise = l.kind === 'depthwise';
    const wShape = [l.ky, l.kx, l.cin, depthwise ? 1 : l.cout];
    if (l.kind === 'fc') {
      const limit = 1 / Math.sqrt(l.cin);
      p.addTrainable(`${l.name}.w`, uniform(wShape, limit, rng));
      p.addTrainable(`${l.name}.b`, uniform([l.cout], limit, rng));
      continue;
    }
    const fanOut = l.kx * l.ky * (depthwise ? 1 : l.cout);
    p.addTrainable(`${l.name}.w`, normal(wShape, Math.sqrt(2 / fanOut), rng));
    const norm = (prefix: string) => {
      if (l.bn) {
        p.addTrainable(`${prefix}.gamma`, tf.ones([l.cout]));
        p.addTrainable(`${prefix}.beta`, tf.zeros([l.cout]));
        p.addState(`${prefix}.mean`, tf.zeros([l.cout]));
        p.addState(`${prefix}.var`, tf.ones([l.cout]));
      } else {
        p.addTrainable(`${prefix}.b`, tf.zeros([l.cout]));
      }
    };
    norm(l.name);
    if (splitLayers.has(l.name)) {
      // Conv-vs-depthwise layer: the conv branch, a full C -> C convolution.
      if (!depthwise) throw new Error(`${l.name}: only depthwise layers get a conv branch`);
      p.addTrainable(`${l.name}.conv.w`, normal([l.ky, l.kx, l.cin, l.cout], Math.sqrt(2 / (l.kx * l.ky * l.cout)), rng));
      norm(`${l.name}.conv`);
    }
  }
  return p;
}
