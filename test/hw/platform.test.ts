import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_DIR, builtinPlatforms, loadPlatform } from '../../src/hw/platform.js';
import { UserError } from '../../src/util/errors.js';

const diana = () => JSON.parse(readFileSync(path.join(BUILTIN_DIR, 'diana.json'), 'utf8'));

function loadError(content: string | object): UserError {
  const dir = mkdtempSync(path.join(tmpdir(), 'hetsplit-platform-'));
  const file = path.join(dir, 'soc.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  try {
    loadPlatform(file);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as Error).message).toContain(file);
    expect((e as Error).message).not.toContain('\n');
    return e as UserError;
  }
  throw new Error('expected the platform to be rejected');
}

describe('platform files', () => {
  it('loads every built-in platform', () => {
    for (const name of builtinPlatforms()) {
      const p = loadPlatform(name);
      expect(p.name).toBe(name);
      expect(p.cus.length).toBeGreaterThanOrEqual(2);
    }
    expect(loadPlatform('diana-riscv').cus.map((c) => c.name)).toEqual(['digital', 'analog', 'riscv']);
  });

  it('loads a user file by path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hetsplit-platform-'));
    const f = diana(); f.name = 'my-soc';
    writeFileSync(path.join(dir, 'my-soc.json'), JSON.stringify(f));
    expect(loadPlatform(path.join(dir, 'my-soc.json')).name).toBe('my-soc');
  });

  it('names an unknown built-in and a missing file', () => {
    expect(() => loadPlatform('tpu')).toThrow(/unknown platform 'tpu' \(expected one of diana, darkside, diana-riscv/);
    expect(() => loadPlatform('./nope/soc.json')).toThrow(/platform file .*nope\/soc.json not found/);
  });

  it('rejects bad JSON', () => {
    expect(loadError('{ "name": "x", ').message).toMatch(/not valid JSON/);
  });

  it('rejects a missing field with its path', () => {
    const f = diana(); delete f.cus[1].latency;
    expect(loadError(f).message).toMatch(/field cus\[1\]\.latency: .*expected string/);
  });

  it('rejects a negative power', () => {
    const f = diana(); f.cus[0].powerMW = -3;
    expect(loadError(f).message).toMatch(/field cus\[0\]\.powerMW: .*>=0/);
  });

  it('rejects a CU that supports no layer kind', () => {
    const f = diana(); f.cus[1].kinds = [];
    expect(loadError(f).message).toMatch(/field cus\[1\]\.kinds: expected at least one layer kind/);
  });

  it('rejects an unknown variable in an expression', () => {
    const f = diana(); f.cus[0].latency = 'cin * n * depth';
    expect(loadError(f).message).toMatch(/field cus\[0\]\.latency: unknown variable 'depth' \(expected one of cin, cout, n/);
  });

  it('rejects an unknown variable inside a helper', () => {
    const f = diana(); f.cus[1].helpers.u = 'fits8 ? 8 : unroll';
    expect(loadError(f).message).toMatch(/field cus\[1\]\.helpers\.u: unknown variable 'unroll'/);
  });

  it('rejects unknown keys, unknown CUs in overlaps, duplicate names', () => {
    const a = diana(); a.cus[0].power = 3;
    expect(loadError(a).message).toMatch(/field cus\[0\]: Unrecognized key.*power/);
    const b = diana(); b.overlaps[0].cus = ['digital', 'gpu'];
    expect(loadError(b).message).toMatch(/field overlaps\[0\]\.cus\[1\]: unknown compute unit 'gpu'/);
    const c = diana(); c.cus[1].name = 'digital';
    expect(loadError(c).message).toMatch(/field cus\[1\]\.name: duplicate compute unit name/);
  });

  it('rejects a latency that is not a finite non-negative number', () => {
    const f = diana(); f.cus[0].latency = 'cin - 100 * n';
    expect(loadError(f).message).toMatch(/field cus\[0\]\.latency: evaluates to -\d+ .*expected a finite number of cycles >= 0/);
  });

  it('rejects a supports condition that depends on n', () => {
    const f = diana(); f.cus[1].supports = 'n < 512';
    expect(loadError(f).message).toMatch(/field cus\[1\]\.supports: may only use the layer geometry/);
  });
});
