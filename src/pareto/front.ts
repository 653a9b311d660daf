/** Collects finished runs (sweeps or single runs), marks the Pareto front, hypervolume. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';

export type Objective = 'energy' | 'latency';

export interface FrontRow {
  run: string;
  kind: 'searched' | 'baseline';
  lambda: number | null;
  /** Budget-mode searched runs: the budget (cycles or mJ) and as given. */
  budget: number | null;
  budgetSpec: string | null;
  seed: number;
  testAccuracy: number;
  latencyCycles: number;
  latencyMs: number;
  energyMJ: number;
  onFront: boolean;
  /** Baselines: the mapping; searched: null. */
  mapping: string | null;
  valAccuracy: number;
  genuineTestAccuracy: number | null;
  platform: string;
  model: string;
  /** The run directory (absolute). */
  dir: string;
}

interface MetricsFile {
  testAccuracy: number; valAccuracy: number; genuineTestAccuracy: number | null;
  latencyCycles: number; latencyMs: number; energyMJ: number; lambda: number; platform: string; model: string;
  budget?: number | null;
}

function readRun(dir: string, name: string): FrontRow | null {
  const mf = path.join(dir, 'metrics.json');
  if (!existsSync(mf)) return null;
  let m: MetricsFile, cfg: { seed: number; fixedMapping?: string | null; budget?: { value: number; spec: string } | null };
  try {
    m = JSON.parse(readFileSync(mf, 'utf8')) as MetricsFile;
    cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  } catch (e) {
    throw new UserError(`${dir}: unreadable metrics.json or config.json (${(e as Error).message})`);
  }
  const fixed = cfg.fixedMapping ?? null;
  const mapping = fixed?.startsWith('random:') ? `random(${path.basename(fixed.slice(7))})` : fixed;
  return {
    run: name, kind: fixed ? 'baseline' : 'searched', lambda: fixed || cfg.budget ? null : m.lambda,
    budget: cfg.budget?.value ?? null, budgetSpec: cfg.budget?.spec ?? null, seed: cfg.seed,
    testAccuracy: m.testAccuracy, latencyCycles: m.latencyCycles, latencyMs: m.latencyMs, energyMJ: m.energyMJ,
    onFront: false, mapping, valAccuracy: m.valAccuracy, genuineTestAccuracy: m.genuineTestAccuracy ?? null,
    platform: m.platform, model: m.model, dir: path.resolve(dir),
  };
}

/** Every finished run in the given sweep directories (or run directories). */
export function collectRuns(dirs: string[]): FrontRow[] {
  const rows: FrontRow[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) throw new UserError(`${d}: no such directory`);
    const pointsDir = path.join(d, 'points');
    if (existsSync(path.join(d, 'sweep.json')) && existsSync(pointsDir)) {
      for (const e of readdirSync(pointsDir, { withFileTypes: true }).filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
        const r = readRun(path.join(pointsDir, e.name), dirs.length > 1 ? `${path.basename(d)}/${e.name}` : e.name);
        if (r) rows.push(r);
      }
    } else {
      const r = readRun(d, path.basename(path.resolve(d)));
      if (!r) throw new UserError(`${d}: neither a sweep directory (sweep.json + points/) nor a finished run (metrics.json)`);
      rows.push(r);
    }
  }
  if (rows.length === 0) throw new UserError(`no finished runs in ${dirs.join(', ')}`);
  const pm = new Set(rows.map((r) => `${r.platform}/${r.model}`));
  if (pm.size > 1) throw new UserError(`runs of different platforms/models cannot share a front: ${[...pm].join(', ')}`);
  return rows;
}

export const costOf = (r: FrontRow, o: Objective) => (o === 'energy' ? r.energyMJ : r.latencyCycles);

/** Indices of the non-dominated rows: no other row is at least as accurate AND at least as cheap, one strictly. */
export function paretoFront<T>(rows: T[], acc: (r: T) => number, cost: (r: T) => number): Set<number> {
  const front = new Set<number>();
  rows.forEach((r, i) => {
    const dominated = rows.some((q, j) => j !== i && acc(q) >= acc(r) && cost(q) <= cost(r) && (acc(q) > acc(r) || cost(q) < cost(r)));
    if (!dominated) front.add(i);
  });
  return front;
}

/**
 * Area dominated by a front in (cost / refCost, accuracy) space, within [0, 1] x [0, 1]
 * with reference point (1, 0): Σ over the front sorted by cost of (x_{i+1} − x_i)·acc_i,
 * x_{n+1} = 1. 1 would be a perfect network at zero cost.
 */
export function hypervolume(points: { cost: number; accuracy: number }[], refCost: number): number {
  const f = points.filter((p) => p.cost <= refCost).sort((a, b) => a.cost - b.cost || b.accuracy - a.accuracy);
  let hv = 0, best = 0;
  f.forEach((p, i) => {
    best = Math.max(best, p.accuracy);
    const next = i + 1 < f.length ? f[i + 1]!.cost : refCost;
    hv += ((next - p.cost) / refCost) * best;
  });
  return hv;
}

export interface FrontResult {
  objective: Objective;
  platform: string;
  model: string;
  /** Cost normaliser of the hypervolume: the most expensive run. */
  referenceCost: number;
  /**
   * searched: the searched runs; baselines: the heuristic mappings (all:<cu>, min-latency,
   * min-energy, uniform); randomTwins: the random-channel controls, which copy searched
   * runs' per-layer counts (so they are not a heuristic a user could have), when present.
   */
  hypervolume: { searched: number; baselines: number; randomTwins?: number };
  rows: FrontRow[];
}

export function buildFront(rows: FrontRow[], objective: Objective): FrontResult {
  const searched = rows.filter((r) => r.kind === 'searched');
  const front = paretoFront(searched, (r) => r.testAccuracy, (r) => costOf(r, objective));
  const marked = rows.map((r) => ({ ...r, onFront: r.kind === 'searched' && front.has(searched.indexOf(r)) }));
  const ref = Math.max(...rows.map((r) => costOf(r, objective)));
  const twins = rows.filter(isRandomTwin);
  const hv = (set: FrontRow[]) => hypervolume(set.map((r) => ({ cost: costOf(r, objective), accuracy: r.testAccuracy })), ref);
  return {
    objective, platform: rows[0]!.platform, model: rows[0]!.model, referenceCost: ref,
    hypervolume: {
      searched: hv(searched), baselines: hv(rows.filter((r) => r.kind === 'baseline' && !isRandomTwin(r))),
      ...(twins.length ? { randomTwins: hv(twins) } : {}),
    },
    rows: marked,
  };
}

/** A random-channel control (`--mapping random:<run>`): the searched run's counts, channels at random. */
export function isRandomTwin(r: FrontRow): boolean {
  return r.kind === 'baseline' && (r.mapping?.startsWith('random(') ?? false);
}

export const CSV_COLUMNS = ['run', 'kind', 'lambda', 'budget', 'seed', 'testAccuracy', 'latencyCycles', 'latencyMs', 'energyMJ', 'onFront'] as const;

/** Printed precision per column: accuracy as a fraction to 0.01%, costs to 6 significant digits. */
const ROUND: Partial<Record<(typeof CSV_COLUMNS)[number], (v: number) => number>> = {
  testAccuracy: (v) => Number(v.toFixed(4)),
  latencyCycles: (v) => Number(v.toFixed(1)),
  latencyMs: (v) => Number(v.toPrecision(6)),
  energyMJ: (v) => Number(v.toPrecision(6)),
  budget: (v) => Number(v.toPrecision(6)),
};

export function frontCsv(f: FrontResult): string {
  return stringify(f.rows.map((r) => CSV_COLUMNS.map((c) => {
    const v = r[c], round = ROUND[c];
    return typeof v === 'number' && round ? round(v) : v;
  })), {
    header: true, columns: [...CSV_COLUMNS], cast: { boolean: (v) => String(v) },
  });
}
