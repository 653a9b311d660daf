/**
 * Schedule-aware latency of a mapped network: each layer's per-CU parts become tasks
 * pinned to their CU, a task waits for every part of the layers it reads (adds and the
 * pool are free joins), and a list scheduler orders the ready tasks on each CU. Where the
 * graph branches (a residual block's projection shortcut), parts of different layers
 * overlap on different CUs, which the per-layer-sum model (Σ_layers max_CU) cannot show.
 */
import { cuCycles, type LayerPlan } from '../hw/cost.js';
import type { Platform } from '../hw/platform.js';
import type { ModelSpec } from '../models/spec.js';

export type Policy = 'eft' | 'etf' | 'heft';

export interface Task {
  id: string;
  layer: string;
  cu: number;
  channels: number;
  cycles: number;
  /** Tasks that must finish first. */
  deps: string[];
}

export interface Slot { task: Task; start: number; end: number }

export interface Schedule {
  policy: Policy;
  makespan: number;
  /** Σ over layers of the slowest CU part: the cost model's latency. */
  layerSum: number;
  slots: Slot[];
  /** Busy cycles per CU. */
  busy: number[];
}

/** The task graph of a mapped network; counts[l][cu] channels. */
export function buildTasks(p: Platform, spec: ModelSpec, plans: LayerPlan[], counts: number[][]): Task[] {
  const index = new Map(spec.layers.map((l, k) => [l.name, k]));
  const adds = new Map(spec.adds.map((a) => [a.name, a]));
  const pools = new Map(spec.pools.map((p) => [p.name, p]));
  const tasksOf = new Map<string, string[]>(); // node -> task ids that produce it
  const tasks: Task[] = [];
  const producers = (node: string): string[] => {
    if (node === 'input') return [];
    const known = tasksOf.get(node);
    if (!known) throw new Error(`node ${node} used before it is computed`);
    return known;
  };
  for (const node of spec.order) {
    const k = index.get(node);
    if (k !== undefined) {
      const l = spec.layers[k]!;
      const deps = producers(l.input);
      const ids: string[] = [];
      p.cus.forEach((cu, i) => {
        const n = counts[k]![i]!;
        if (n === 0) return;
        const id = `${l.name}@${cu.name}`;
        tasks.push({ id, layer: l.name, cu: i, channels: n, cycles: cuCycles(p, i, plans[k]!.views[i]!, n), deps });
        ids.push(id);
      });
      tasksOf.set(node, ids);
      continue;
    }
    const a = adds.get(node);
    if (a) { tasksOf.set(node, [...new Set([...producers(a.a), ...producers(a.b)])]); continue; }
    const pool = pools.get(node);
    if (pool) { tasksOf.set(node, producers(pool.input)); continue; }
    throw new Error(`unknown node ${node}`);
  }
  return tasks;
}

/** Longest path from each task to the end (its own cycles included): HEFT's upward rank. */
function upwardRanks(tasks: Task[]): Map<string, number> {
  const succ = new Map<string, Task[]>(tasks.map((t) => [t.id, []]));
  for (const t of tasks) for (const d of t.deps) succ.get(d)!.push(t);
  const rank = new Map<string, number>();
  for (const t of [...tasks].reverse()) {
    rank.set(t.id, t.cycles + Math.max(0, ...succ.get(t.id)!.map((s) => rank.get(s.id)!)));
  }
  return rank;
}

/**
 * List scheduling on pinned CUs. Each step picks one ready task (all deps scheduled):
 *  - eft:  the one that would FINISH earliest;
 *  - etf:  the one that can START earliest (ties: longer first);
 *  - heft: the one with the highest upward rank (critical path first).
 * The picked task starts at max(its deps' end, its CU's free time).
 */
export function listSchedule(tasks: Task[], numCUs: number, policy: Policy): Omit<Schedule, 'layerSum'> {
  const end = new Map<string, number>();
  const free = new Array<number>(numCUs).fill(0);
  const busy = new Array<number>(numCUs).fill(0);
  const rank = policy === 'heft' ? upwardRanks(tasks) : null;
  const pending = new Set(tasks);
  const slots: Slot[] = [];
  while (pending.size > 0) {
    let best: { t: Task; start: number; key: number } | null = null;
    for (const t of pending) {
      if (!t.deps.every((d) => end.has(d))) continue;
      const start = Math.max(free[t.cu]!, ...t.deps.map((d) => end.get(d)!));
      const key = policy === 'eft' ? start + t.cycles : policy === 'etf' ? start - 1e-9 * t.cycles : -rank!.get(t.id)!;
      if (!best || key < best.key) best = { t, start, key };
    }
    if (!best) throw new Error('task graph has a cycle');
    const { t, start } = best;
    end.set(t.id, start + t.cycles);
    free[t.cu] = start + t.cycles;
    busy[t.cu]! += t.cycles;
    slots.push({ task: t, start, end: start + t.cycles });
    pending.delete(t);
  }
  return { policy, makespan: Math.max(0, ...slots.map((s) => s.end)), slots, busy };
}

export function schedule(p: Platform, spec: ModelSpec, plans: LayerPlan[], counts: number[][], policy: Policy): Schedule {
  const tasks = buildTasks(p, spec, plans, counts);
  const s = listSchedule(tasks, p.cus.length, policy);
  const byLayer = new Map<string, number>();
  for (const t of tasks) byLayer.set(t.layer, Math.max(byLayer.get(t.layer) ?? 0, t.cycles));
  return { ...s, layerSum: [...byLayer.values()].reduce((a, b) => a + b, 0) };
}
