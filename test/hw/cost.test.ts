import { describe, expect, it } from 'vitest';
import {
  bestSplit, layerCost, networkCost, planLayers, referenceCost, referenceMappings, type LayerPlan,
} from '../../src/hw/cost.js';
import { loadPlatform, type Platform } from '../../src/hw/platform.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';

const F = 260e6;
const diana = loadPlatform('diana');
const darkside = loadPlatform('darkside');
const three = loadPlatform('diana-riscv');

function plansOf(p: Platform, model: string): LayerPlan[] {
  return planLayers(p, geometry(buildModel(model)), model);
}
const layer = (plans: LayerPlan[], name: string) => plans.find((x) => x.layer.name === name)!;

describe('DIANA cost model, hand-computed', () => {
  const plans = plansOf(diana, 'resnet20');

  it('has the reference 22 searchable ResNet20 layers', () => {
    expect(plans).toHaveLength(22);
    expect(plans.every((x) => x.searchable)).toBe(true);
  });

  it('conv1 (3->16, 3x3, 32x32): u = 4 on the analog array', () => {
    // digital: ceil(16/1/16)=1 * 3 * ceil(32/16)=2 * 32 * 9 = 1728; + 32*32*(16+3)/8 = 2432 -> 4160
    // analog:  8*3*9 = 216; u: 8 fails (8+2)*max(64,3)*3 = 1920 > 1152, 4 fits (6*192 = 1152)
    //          ceil(16/512)=1 * ceil(3/128)=1 * 32*32/4 = 256 MVMs * 18.2 = 4659.2 -> 4875.2
    const l = layer(plans, 'conv1');
    expect(layerCost(diana, l, [16, 0]).cycles).toEqual([4160, 0]);
    expect(layerCost(diana, l, [0, 16]).cycles[1]).toBeCloseTo(4875.2, 9);
    // split 8/8: digital ceil(8/16)=1 -> 1728 + 1024*(8+3)/8 = 1408 -> 3136; analog unchanged (u = 4)
    // latency max(3136, 4875.2) = 4875.2
    // energy = 42.39*3136 (both busy) + 28.74*(4875.2-3136) (analog alone) = 132935.04 + 49984.608 mW*cycles
    const c = layerCost(diana, l, [8, 8]);
    expect(c.cycles[0]).toBe(3136);
    expect(c.latencyCycles).toBeCloseTo(4875.2, 9);
    expect(c.energyMJ).toBeCloseTo((132935.04 + 49984.608) / F, 15);
  });

  it('s2b1.conv1 (16->32, 3x3, stride 2, out 16x16)', () => {
    // digital: ceil(32/16)=2 * 16 * ceil(16/16)=1 * 16 * 9 = 4608; + 256*(32+16)/8 = 1536 -> 6144
    // analog:  8*16*9 = 1152; u = 4 ((4+2)*64*3 = 1152); 1*1*256/4 = 64 MVMs * 18.2 = 1164.8 -> 2316.8
    const l = layer(plans, 's2b1.conv1');
    expect(l.layer).toMatchObject({ stride: 2, h: 16, w: 16, cin: 16, cout: 32 });
    expect(layerCost(diana, l, [32, 0]).cycles[0]).toBe(6144);
    const a = layerCost(diana, l, [0, 32]);
    expect(a.cycles[1]).toBeCloseTo(2316.8, 9);
    // all analog: energy = P_ana * t_A = 28.74 * 2316.8 (no overlap: min(0, t_A) = 0)
    expect(a.energyMJ).toBeCloseTo((28.74 * 2316.8) / F, 15);
  });

  it('s2b1.proj (1x1, stride 2): u = 8', () => {
    // digital: 2 * 16 * 1 * 16 * 1 = 512; + 256*48/8 = 1536 -> 2048
    // analog:  8*16 = 128; u = 8 (8*32 <= 512, (8+0)*64*1 = 512 <= 1152); 256/8 = 32 MVMs * 18.2 = 582.4 -> 710.4
    const l = layer(plans, 's2b1.proj');
    expect(l.layer).toMatchObject({ kx: 1, ky: 1, stride: 2 });
    expect(layerCost(diana, l, [32, 0]).cycles[0]).toBe(2048);
    expect(layerCost(diana, l, [0, 32]).cycles[1]).toBeCloseTo(710.4, 9);
  });

  it('fc (64->10 as a 1x1 conv on a 1x1 map)', () => {
    // digital: ceil(10/16)=1 * 64 * ceil(1/16)=1 * 1 * 1 = 64; + 1*(10+64)/8 = 9.25 -> 73.25
    // analog:  8*64 = 512; u = 8; 1 * 1 * 1/8 * 18.2 = 2.275 -> 514.275
    const l = layer(plans, 'fc');
    expect(l.layer).toMatchObject({ kind: 'fc', cin: 64, cout: 10, h: 1, w: 1 });
    expect(layerCost(diana, l, [10, 0]).cycles[0]).toBe(73.25);
    expect(layerCost(diana, l, [0, 10]).cycles[1]).toBeCloseTo(514.275, 9);
    // min latency: everything on digital
    expect(bestSplit(diana, l, 'latency')).toEqual([10, 0]);
  });

  it('network totals add the layers; ms and mJ use the clock', () => {
    const counts = plans.map((x) => [x.layer.cout, 0]);
    const c = networkCost(diana, plans, counts);
    expect(c.cycles).toBeCloseTo(c.layers.reduce((s, l) => s + l.latencyCycles, 0), 6);
    expect(c.ms).toBeCloseTo(c.cycles / F * 1e3, 9);
    // all-digital energy is P_dig * cycles exactly (only one CU ever busy)
    expect(c.energyMJ).toBeCloseTo(24.96 * c.cycles / F, 12);
  });
});

describe('Darkside cost model, hand-computed', () => {
  const plans = plansOf(darkside, 'mobilenetv1');

  it('searches exactly the stride-1 3x3 depthwise positions', () => {
    const names = plans.filter((x) => x.searchable).map((x) => x.layer.name);
    expect(names).toEqual(['b1.dw', 'b3.dw', 'b5.dw', 'b7.dw', 'b8.dw', 'b9.dw', 'b10.dw', 'b11.dw', 'b13.dw']);
  });

  it('b3.dw (128 channels, 16x16): the cluster computes a full conv, the DWE a depthwise', () => {
    const l = layer(plans, 'b3.dw');
    // cluster as conv (cin 128): ceil(16/2)*ceil(16/8) = 16 iterations *
    //   [2*9*128 = 2304 + ceil(128/4)=32 * (14*ceil(9*128/4)=14*288 + 15 = 4047) = 129504] = 2108928
    expect(layerCost(darkside, l, [128, 0]).cycles[0]).toBe(2108928);
    // DWE: ceil(128/16)=8 * (9 + 9*16 + 4*256) = 8 * 1177 = 9416
    expect(layerCost(darkside, l, [0, 128]).cycles[1]).toBe(9416);
    // split 4/124: cluster 16 * [2304 + 1*4047] = 101616; DWE ceil(124/16)=8 -> 9416; L = 101616
    // energy = 168*101616 + 118*9416 + 1.32*[(L - 101616) + (L - 9416)] = 17071488 + 1111088 + 121704
    const c = layerCost(darkside, l, [4, 124]);
    expect(c.cycles).toEqual([101616, 9416]);
    expect(c.latencyCycles).toBe(101616);
    expect(c.energyMJ).toBeCloseTo((17071488 + 1111088 + 121704) / F, 14);
  });

  it('b3.pw (1x1, fixed on the cluster) with the DWE idling', () => {
    // 16 * [2*1*128 = 256 + 32 * (14*ceil(128/4)=448 + 15)] = 16 * 15072 = 241152
    const l = layer(plans, 'b3.pw');
    expect(l.searchable).toBe(false);
    const c = layerCost(darkside, l, [128, 0]);
    expect(c.cycles[0]).toBe(241152);
    // energy = 168*241152 + 1.32*(0 + 241152): the cluster never idles, the DWE idles all along
    expect(c.energyMJ).toBeCloseTo(169.32 * 241152 / F, 14);
  });

  it('b2.dw (stride 2, fixed on the DWE)', () => {
    // ceil(64/16)=4 * (9 + 9*16 + 4*16*16) = 4 * 1177 = 4708
    const l = layer(plans, 'b2.dw');
    expect(l).toMatchObject({ searchable: false, eligible: [1] });
    expect(l.layer.stride).toBe(2);
    expect(layerCost(darkside, l, [0, 64]).cycles[1]).toBe(4708);
  });

  it('fc (1024->10)', () => {
    // 1*1 * [2*1024 + ceil(10/4)=3 * (14*ceil(1024/4)=3584 + 15)] = 2048 + 10797 = 12845
    expect(layerCost(darkside, layer(plans, 'fc'), [10, 0]).cycles[0]).toBe(12845);
  });
});

describe('three compute units (diana-riscv)', () => {
  const plans = plansOf(three, 'resnet20');

  it('costs a three-way split by hand', () => {
    // conv1 split 8/4/4: digital 3136 (as above); analog 4875.2 (u = 4);
    // riscv: 4*3*9*32*32 = 110592 MACs / 1.5 = 73728 + 4*32*12 = 1536 -> 75264
    // energy = 24.96*3136 + 28.74*4875.2 + 6*75264 + (42.39-24.96-28.74)*min(3136, 4875.2)
    const c = layerCost(three, layer(plans, 'conv1'), [8, 4, 4]);
    expect(c.cycles[0]).toBe(3136);
    expect(c.cycles[1]).toBeCloseTo(4875.2, 9);
    expect(c.cycles[2]).toBe(75264);
    expect(c.latencyCycles).toBe(75264);
    expect(c.energyMJ).toBeCloseTo((78274.56 + 140113.248 + 451584 - 11.31 * 3136) / F, 14);
  });

  it('min-latency split over three CUs equals brute force', () => {
    const l = layer(plans, 's2b1.conv1');
    let best = Infinity;
    for (let a = 0; a <= 32; a++) for (let b = 0; a + b <= 32; b++) {
      best = Math.min(best, layerCost(three, l, [a, b, 32 - a - b]).latencyCycles);
    }
    const split = bestSplit(three, l, 'latency');
    expect(split.reduce((s, x) => s + x, 0)).toBe(32);
    expect(layerCost(three, l, split).latencyCycles).toBe(best);
  });
});

describe('reference mappings', () => {
  it('min-latency is never slower than any all-on-one mapping, per layer exact by brute force', () => {
    for (const [p, model] of [[diana, 'resnet20'], [darkside, 'mobilenetv1'], [diana, 'resnet8']] as const) {
      const plans = plansOf(p, model);
      const maps = referenceMappings(p, plans);
      const ml = maps.find((m) => m.name === 'min-latency')!;
      for (const m of maps) expect(ml.cost.cycles).toBeLessThanOrEqual(m.cost.cycles + 1e-6);
      plans.forEach((plan, l) => {
        if (plan.eligible.length !== 2) return;
        let best = Infinity;
        const [i, j] = plan.eligible as [number, number];
        for (let a = 0; a <= plan.layer.cout; a++) {
          const counts = p.cus.map(() => 0); counts[i] = a; counts[j] = plan.layer.cout - a;
          best = Math.min(best, layerCost(p, plan, counts).latencyCycles);
        }
        expect(ml.cost.layers[l]!.latencyCycles).toBe(best);
      });
    }
  });

  it('names all:<cu> for the CUs that can run every searchable layer', () => {
    const names = (p: Platform, m: string) => referenceMappings(p, plansOf(p, m)).map((x) => x.name);
    expect(names(diana, 'resnet20')).toEqual(['all:digital', 'all:analog', 'min-latency']);
    expect(names(darkside, 'mobilenetv1')).toEqual(['all:cluster', 'all:dwe', 'min-latency']);
    expect(names(three, 'resnet20')).toEqual(['all:digital', 'all:analog', 'all:riscv', 'min-latency']);
    // DIANA's analog array cannot run depthwise layers: they are not searchable and stay
    // on the digital CU in every mapping, all:analog included.
    const plans = plansOf(diana, 'mobilenetv1');
    expect(names(diana, 'mobilenetv1')).toEqual(['all:digital', 'all:analog', 'min-latency']);
    const analog = referenceMappings(diana, plans).find((m) => m.name === 'all:analog')!;
    plans.forEach((plan, l) => {
      expect(analog.counts[l]).toEqual(plan.layer.kind === 'depthwise' ? [plan.layer.cout, 0] : [0, plan.layer.cout]);
    });
  });

  it('the search normaliser is the cheapest all-on-one mapping', () => {
    const plans = plansOf(diana, 'resnet20');
    const maps = referenceMappings(diana, plans);
    const ref = referenceCost(diana, plans, 'energy');
    const all = maps.filter((m) => m.name.startsWith('all:')).map((m) => m.cost.energyMJ);
    expect(ref.value).toBe(Math.min(...all));
  });

  it('a model a platform cannot run is a one-line user error', () => {
    const dwOnly = { ...darkside, cus: [darkside.cus[1]!], split: { style: 'per-channel' as const }, overlaps: [] };
    expect(() => planLayers(dwOnly, geometry(buildModel('resnet20')), 'resnet20'))
      .toThrow(/cannot run layer conv1 of resnet20 \(kind conv, 3x3, groups 1\)/);
  });
});
