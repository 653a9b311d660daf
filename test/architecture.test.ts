/**
 * The house rule: folders are concepts and data flows one way,
 * cli → export/train/report → search/pareto/schedule → hw/data/quant → models/backend/util.
 * Every relative import in src/ must point to the same folder or a later level (type-only
 * imports may also reach a sibling of the same level).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
// util (errors, atomic files, locks) is below everything.
const LEVEL: Record<string, number> = {
  cli: 0, export: 1, train: 1, report: 1, search: 2, pareto: 2, schedule: 2, hw: 3, data: 3, quant: 3, models: 4, backend: 4, util: 5,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('architecture', () => {
  it('every folder of src/ has a level', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(path.join(SRC, f)).isDirectory());
    expect(folders.filter((f) => !(f in LEVEL))).toEqual([]);
  });

  it('imports flow one way: to the same folder or a later level, never back', () => {
    const back: string[] = [];
    for (const file of files(SRC)) {
      const from = path.relative(SRC, file).split(path.sep)[0]!;
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^\s*(import type|import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), m[2]!)).split(path.sep)[0]!;
        if (target === from) continue;
        // A sibling's types (export reads the run directory train writes) carry no code.
        if (m[1] === 'import type' && LEVEL[target] === LEVEL[from]) continue;
        if (!(LEVEL[target]! > LEVEL[from]!)) back.push(`${path.relative(SRC, file)} -> ${m[2]} (${from} ${LEVEL[from]} -> ${target} ${LEVEL[target]})`);
      }
    }
    expect(back).toEqual([]);
  });
});
