import { describe, expect, it } from 'vitest';
import { geometry } from '../../src/models/spec.js';
import { mobilenetv1, resnet20, resnet8 } from '../../src/models/zoo.js';

describe('model geometry', () => {
  it('ResNet20 has the reference 22 searchable layers', () => {
    const g = geometry(resnet20());
    expect(g).toHaveLength(22);
    expect(g.filter((l) => l.kx === 1 && l.kind === 'conv')).toHaveLength(2); // projections
    expect(g.filter((l) => l.kx === 1 && l.stride === 2).map((l) => [l.cin, l.cout, l.h])).toEqual([[16, 32, 16], [32, 64, 8]]);
    expect(g[0]).toMatchObject({ name: 'conv1', cin: 3, cout: 16, h: 32, w: 32, stride: 1 });
    expect(g[21]).toMatchObject({ kind: 'fc', cin: 64, cout: 10, h: 1, w: 1, kx: 1 });
    // Multiply-accumulates: the well-known ~40.6 M for CIFAR ResNet20 (+ projections, FC).
    const macs = g.reduce((a, l) => a + l.h * l.w * l.kx * l.ky * l.cin * l.cout / l.groups, 0);
    expect(macs / 1e6).toBeGreaterThan(40.5);
    expect(macs / 1e6).toBeLessThan(41.5);
  });

  it('ResNet8 (MLPerf Tiny) and MobileNetV1 shapes', () => {
    expect(geometry(resnet8())).toHaveLength(10); // conv1, 3x2 block convs, 2 shortcuts, fc
    const m = geometry(mobilenetv1());
    expect(m).toHaveLength(1 + 13 * 2 + 1);
    const dw = m.filter((l) => l.kind === 'depthwise');
    expect(dw.every((l) => l.groups === l.cin && l.cout === l.cin)).toBe(true);
    expect(m[m.length - 2]).toMatchObject({ name: 'b13.pw', cout: 1024, h: 2, w: 2 });
  });
});
