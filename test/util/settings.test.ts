/** Settings added after older runs existed: their older value is accepted on resume, others not. */
import { describe, expect, it } from 'vitest';
import { atOlderDefault } from '../../src/util/settings.js';

describe('settings added later', () => {
  it('lrSchedule: phase is what older runs did; run is a different run; unknown keys are not exempt', () => {
    expect(atOlderDefault('lrSchedule', 'phase')).toBe(true);
    expect(atOlderDefault('lrSchedule', 'run')).toBe(false);
    expect(atOlderDefault('lrWeights', 0.001)).toBe(false);
  });
});
