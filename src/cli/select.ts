/** `hetsplit select front.json --max-latency-ms X | --max-energy-mj Y`: the best network within a budget. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import type { FrontResult, FrontRow } from '../pareto/front.js';
import { ExitStatus, UserError } from '../util/errors.js';
import type { GlobalArgs } from './common.js';

interface SelectArgs extends GlobalArgs { front: string; maxLatencyMs?: number; maxEnergyMj?: number; json: boolean; includeBaselines: boolean }

export interface Selection { chosen: FrontRow | null; cheapest: FrontRow; candidates: number }

/** The most accurate run within the budget (ties: the cheaper, then the lower energy). */
export function selectWithin(rows: FrontRow[], maxLatencyMs: number, maxEnergyMJ: number): Selection {
  const fits = rows.filter((r) => r.latencyMs <= maxLatencyMs && r.energyMJ <= maxEnergyMJ);
  const byBudget = (r: FrontRow) => Math.max(r.latencyMs / maxLatencyMs, r.energyMJ / maxEnergyMJ);
  const chosen = [...fits].sort((a, b) => b.testAccuracy - a.testAccuracy || a.latencyMs - b.latencyMs || a.energyMJ - b.energyMJ)[0] ?? null;
  const cheapest = [...rows].sort((a, b) => byBudget(a) - byBudget(b))[0]!;
  return { chosen, cheapest, candidates: fits.length };
}

export const selectCommand: CommandModule<GlobalArgs, SelectArgs> = {
  command: 'select <front>',
  describe: 'the most accurate mapped network within a latency or energy budget (exit 1 if none fits)',
  builder: (y) => y
    .positional('front', { type: 'string', demandOption: true, describe: 'front.json written by hetsplit pareto' })
    .option('max-latency-ms', { type: 'number' })
    .option('max-energy-mj', { type: 'number' })
    .option('include-baselines', { type: 'boolean', default: true, describe: 'baseline runs are candidates too' })
    .option('json', { type: 'boolean', default: false })
    .check((a) => {
      if (a.maxLatencyMs === undefined && a.maxEnergyMj === undefined) throw new UserError('give --max-latency-ms and/or --max-energy-mj');
      for (const k of ['maxLatencyMs', 'maxEnergyMj'] as const) {
        const v = a[k] as number | undefined;
        if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new UserError(`--${k === 'maxLatencyMs' ? 'max-latency-ms' : 'max-energy-mj'}: expected a number > 0, got ${v}`);
      }
      return true;
    }) as never,
  handler: (args) => {
    if (!existsSync(args.front)) throw new UserError(`${args.front}: no such file (write it with hetsplit pareto)`);
    let f: FrontResult;
    try { f = JSON.parse(readFileSync(args.front, 'utf8')) as FrontResult; } catch (e) {
      throw new UserError(`${args.front}: not valid JSON (${(e as Error).message})`);
    }
    if (!f || typeof f !== 'object' || !Array.isArray(f.rows) || f.rows.length === 0) throw new UserError(`${args.front}: field rows: expected a non-empty list of runs`);
    f.rows.forEach((r, i) => {
      if (!r || typeof r !== 'object') throw new UserError(`${args.front}: rows[${i}]: expected a run object`);
      for (const k of ['testAccuracy', 'latencyMs', 'energyMJ'] as const) {
        if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) throw new UserError(`${args.front}: rows[${i}].${k}: expected a number, got ${JSON.stringify(r[k])}`);
      }
      for (const k of ['run', 'dir', 'kind'] as const) {
        if (typeof r[k] !== 'string') throw new UserError(`${args.front}: rows[${i}].${k}: expected a string, got ${JSON.stringify(r[k])}`);
      }
    });
    const rows = args.includeBaselines ? f.rows : f.rows.filter((r) => r.kind === 'searched');
    const s = selectWithin(rows, args.maxLatencyMs ?? Infinity, args.maxEnergyMj ?? Infinity);
    const artifacts = (r: FrontRow) => ({ run: r.dir, mapping: path.join(r.dir, 'mapping.json'), metrics: path.join(r.dir, 'metrics.json'), weights: path.join(r.dir, 'final.bin') });
    if (args.json) {
      process.stdout.write(JSON.stringify({
        budget: { maxLatencyMs: args.maxLatencyMs ?? null, maxEnergyMJ: args.maxEnergyMj ?? null },
        chosen: s.chosen ? { ...s.chosen, artifacts: artifacts(s.chosen) } : null,
        cheapest: { ...s.cheapest, artifacts: artifacts(s.cheapest) }, candidates: s.candidates,
      }, null, 2) + '\n');
    }
    const describe = (r: FrontRow) => `${r.run} (${r.kind}${r.lambda !== null ? `, λ=${r.lambda}` : r.mapping ? `, ${r.mapping}` : ''}): ` +
      `test ${(100 * r.testAccuracy).toFixed(2)}%, ${r.latencyMs.toPrecision(4)} ms, ${r.energyMJ.toPrecision(4)} mJ`;
    if (!s.chosen) {
      if (!args.json) console.log(`no network fits the budget; the cheapest is ${describe(s.cheapest)}`);
      throw new ExitStatus(1);
    }
    if (!args.json) {
      console.log(`best within budget (${s.candidates} of ${rows.length} fit): ${describe(s.chosen)}`);
      const a = artifacts(s.chosen);
      console.log(`run: ${a.run}\nmapping: ${a.mapping}\nmetrics: ${a.metrics}\nweights: ${a.weights}`);
    }
  },
};
