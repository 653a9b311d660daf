/**
 * report.html in a real browser: Debian's chromium driven by playwright-core opens the
 * page offline, the plots render (SVG with one mark per run, per layer and CU, per
 * scheduled task) and choosing another run updates the split view. Skipped, saying so,
 * where chromium is not installed (.ci/run installs it where apt exists).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planLayers, networkCost } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { geometry } from '../../src/models/spec.js';
import { resnet8 } from '../../src/models/zoo.js';
import { cli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/fake_cifar.js';

const CHROMIUM = '/usr/bin/chromium';
const spec = resnet8();
const platform = loadPlatform('diana');
const plans = planLayers(platform, geometry(spec), spec.name);

/** A finished run directory as train writes it: `digital` of each layer's channels on the digital CU. */
function fakeRun(dir: string, digital: number, kind: 'searched' | 'baseline', acc: number): void {
  mkdirSync(dir, { recursive: true });
  const counts = spec.layers.map((l, k) => {
    const d = plans[k]!.eligible.includes(1) ? Math.round(digital * l.cout) : l.cout;
    return [d, l.cout - d];
  });
  const cost = networkCost(platform, plans, counts);
  const layers = spec.layers.map((l, k) => ({
    name: l.name,
    channels: { digital: Array.from({ length: counts[k]![0]! }, (_, c) => c), analog: Array.from({ length: counts[k]![1]! }, (_, c) => counts[k]![0]! + c) },
  }));
  const w = (f: string, v: unknown) => writeFileSync(path.join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
  w('mapping.json', { platform: 'diana', model: spec.name, layers });
  w('model.json', spec);
  w('config.json', { platform: 'diana', seed: 42, fixedMapping: kind === 'baseline' ? 'min-latency' : null, budget: kind === 'searched' ? { value: cost.cycles, spec: `${digital} x all:digital` } : null });
  w('metrics.json', { testAccuracy: acc, valAccuracy: acc, genuineTestAccuracy: acc + 0.05, latencyCycles: cost.cycles, latencyMs: cost.ms, energyMJ: cost.energyMJ, lambda: 0, platform: 'diana', model: spec.name });
  w('log.jsonl', [1, 2, 3].map((e) => JSON.stringify({ phase: e < 3 ? 'search' : 'finetune', epoch: e, loss: 1 / e, valAccuracy: acc - 0.1 / e, discreteCost: { cycles: cost.cycles, ms: cost.ms * (1 + 0.1 / e), energyMJ: cost.energyMJ } })).join('\n') + '\n');
}

describe.skipIf(!existsSync(CHROMIUM))('report.html in chromium', () => {
  it('renders both fronts, the split, the schedule and the curves, and follows the selected run', async () => {
    const root = tmpDir();
    const sweep = path.join(root, 'sweep');
    mkdirSync(path.join(sweep, 'points'), { recursive: true });
    writeFileSync(path.join(sweep, 'sweep.json'), '{}');
    fakeRun(path.join(sweep, 'points', 'b0.8-s42'), 0.75, 'searched', 0.86);
    fakeRun(path.join(sweep, 'points', 'b0.5-s42'), 0.25, 'searched', 0.82);
    fakeRun(path.join(sweep, 'points', 'min-latency-s42'), 0.05, 'baseline', 0.78);
    const out = path.join(root, 'report.html');
    const r = await cli('report', sweep, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      // Offline: any request that leaves the file fails the test.
      const remote: string[] = [];
      await page.route(/^(?!file:)/, (route) => { remote.push(route.request().url()); return route.abort(); });
      await page.goto('file://' + out);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      expect(errors).toEqual([]);
      expect(remote).toEqual([]);
      const count = (sel: string) => page.locator(sel).count();
      // one symbol per run on each front
      expect(await count('#front-latency svg .mark-symbol.role-mark path')).toBe(3);
      expect(await count('#front-energy svg .mark-symbol.role-mark path')).toBe(3);
      // split: one bar per layer and CU; timeline: one bar per scheduled task (> one per layer)
      expect(await count('#split svg .mark-rect.role-mark path')).toBe(spec.layers.length * 2);
      expect(await count('#timeline svg .mark-rect.role-mark path')).toBeGreaterThanOrEqual(spec.layers.length);
      expect(await count('#curve svg .mark-line.role-mark path')).toBeGreaterThan(0);
      // the most accurate searched run is selected first
      expect(await page.locator('body').getAttribute('data-selected')).toBe('r1'); // b0.8-s42 (runs are sorted by name)
      const bars = () => page.locator('#split svg .mark-rect.role-mark path').evaluateAll((ps) => ps.map((p) => p.getAttribute('d')).join('|'));
      const before = await bars();
      await page.selectOption('#run-select', 'r2');
      await page.waitForFunction(() => document.body.dataset.selected === 'r2');
      expect(await bars()).not.toBe(before);
      expect(await page.locator('#run-summary').textContent()).toContain('min-latency-s42');
      expect(await page.locator('#runs tr.sel').getAttribute('data-id')).toBe('r2');
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe.skipIf(existsSync(CHROMIUM))('report.html in chromium', () => {
  it.skip(`skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`, () => {});
});
