/**
 * What a sweep's points may share in one process (util/memo.ts): the float network's
 * output moments read only the weights, and SearchModel.digest tells which computations
 * read the same network.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { planLayers } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { initParams } from '../../src/models/params.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { SearchModel } from '../../src/search/model.js';

beforeAll(async () => { await initEngine('wasm'); });

const spec = buildModel('tinycnn');

function model(platform: string, seed = 3, sp = spec): SearchModel {
  const p = loadPlatform(platform);
  const plans = planLayers(p, geometry(sp), sp.name);
  const split = new Set(plans.filter((q) => q.mode === 'conv-vs-depthwise' && q.searchable).map((q) => q.layer.name));
  const float = initParams(sp, seed, split);
  const m = SearchModel.fromFloat(sp, float, p, plans, { relaxation: 'hard' });
  float.dispose();
  return m;
}

function bump(m: SearchModel, name: string, by = 0.25): void {
  const v = m.params.get(name);
  tf.tidy(() => v.assign(tf.add(v, by)));
}

describe('the float network\'s output moments', () => {
  it('are those of conv(x, W) + b on the unquantized input (first layer, by hand), whatever the mapping', () => {
    const m = model('diana');
    const xs = [tf.randomUniform([6, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D, tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D];
    const l = spec.layers[0]!;
    const y = tf.concat(xs.map((x) => tf.add(tf.conv2d(x, m.params.get(`${l.name}.w`) as tf.Tensor4D, l.stride, l.pad), m.params.get(`${l.name}.b`))));
    const mean = tf.mean(y, [0, 1, 2]).dataSync(), std = tf.sqrt(tf.moments(y, [0, 1, 2]).variance).dataSync();
    const free = m.outputMoments(xs, true);
    const got = free.get(0)!;
    for (let c = 0; c < l.cout; c++) {
      expect(got.mean[c]).toBeCloseTo(mean[c]!, 4);
      expect(got.std[c]).toBeCloseTo(std[c]!, 4);
    }
    // two different fixed mappings, and α moved: the float path reads none of them
    const plans = m.plans;
    for (const pick of [0, 1]) {
      m.fix(plans.map((p) => Array.from({ length: p.layer.cout }, (_, c) => p.eligible[(c + pick) % p.eligible.length]!)));
      const f = m.outputMoments(xs, true);
      for (const [k, a] of free) {
        expect(Array.from(f.get(k)!.mean)).toEqual(Array.from(a.mean));
        expect(Array.from(f.get(k)!.std)).toEqual(Array.from(a.std));
      }
      m.unfix();
    }
    // the quantized path does depend on the mapping
    m.fix(plans.map((p) => Array(p.layer.cout).fill(p.eligible[p.eligible.length - 1]!)));
    expect(Array.from(m.outputMoments(xs, false).get(1)!.std)).not.toEqual(Array.from(free.get(1)!.std));
    m.unfix();
    tf.dispose([...xs, y]);
    m.dispose();
  });
});

describe('SearchModel.digest', () => {
  it("'float-network' follows the weights only; 'network' follows every parameter and the mapping", () => {
    const m = model('diana'), twin = model('diana'), other = model('diana', 4);
    expect(m.digest('network')).toBe(twin.digest('network'));
    expect(m.digest('float-network')).toBe(twin.digest('float-network'));
    expect(m.digest('float-network')).not.toBe(other.digest('float-network'));
    expect(m.digest('float-network')).not.toBe(m.digest('network'));
    const searchable = spec.layers.find((l, k) => m.plans[k]!.searchable)!.name;
    const f0 = m.digest('float-network'), n0 = m.digest('network');
    bump(m, `${searchable}.alpha`);
    expect(m.digest('float-network')).toBe(f0);
    expect(m.digest('network')).not.toBe(n0);
    const quant = [...m.group('quant').keys()][0]!;
    const n1 = m.digest('network');
    bump(m, quant);
    expect(m.digest('float-network')).toBe(f0);
    expect(m.digest('network')).not.toBe(n1);
    const n2 = m.digest('network');
    m.fix(m.discretise());
    expect(m.digest('network')).not.toBe(n2);
    expect(m.digest('float-network')).toBe(f0);
    m.unfix();
    bump(m, `${spec.layers[0]!.name}.b`, 1e-3);
    expect(m.digest('float-network')).not.toBe(f0);
    // another graph with the same parameters is another network (the first conv's padding changed)
    const own = buildModel('tinycnn');
    const graph = model('diana', 3, own);
    expect(graph.digest('float-network')).toBe(twin.digest('float-network'));
    own.layers[0] = { ...own.layers[0]!, pad: own.layers[0]!.pad === 'same' ? 'valid' : 'same' };
    expect(graph.digest('float-network')).not.toBe(twin.digest('float-network'));
    graph.dispose();
    // another platform with the same parameter values is another network
    const d = model('darkside');
    expect(d.digest('network')).not.toBe(twin.digest('network'));
    [m, twin, other, d].forEach((x) => x.dispose());
  });

  it("a split layer's α picks its branches, so 'float-network' follows it", () => {
    const d = model('darkside');
    const split = d.plans.find((p) => p.mode === 'conv-vs-depthwise' && p.searchable)!.layer.name;
    const f0 = d.digest('float-network');
    bump(d, `${split}.alpha`);
    expect(d.digest('float-network')).not.toBe(f0);
    d.dispose();
  });
});
