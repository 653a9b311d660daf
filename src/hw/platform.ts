/**
 * Platforms as data: a JSON file names the SoC's compute units (CUs), what each can run,
 * its number formats, its latency as a mathjs expression over the layer geometry, and
 * its power. `loadPlatform` validates the file (zod + expression checks) and returns a
 * Platform whose expressions are parsed once; every cost in hetsplit derives from them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { LayerGeometry, LayerKind } from '../models/spec.js';
import { UserError } from '../util/errors.js';
import { ExprError, ExprSet, numberOps, type GeometryVar } from './expr.js';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, _)');
const expression = z.string().min(1, 'expected a non-empty mathjs expression');
const helpers = z.record(identifier, expression).default({});

const cuSchema = z.strictObject({
  name: identifier,
  description: z.string().optional(),
  kinds: z.array(z.enum(['conv', 'depthwise', 'fc'])).min(1, 'expected at least one layer kind (conv, depthwise, fc)'),
  /** Extra condition on the geometry (e.g. "groups == 1"); may not depend on n. */
  supports: expression.optional(),
  weights: z.union([z.int().min(2).max(32), z.literal('ternary'), z.literal('float')],
    { error: 'expected a bit width (integer 2..32), "ternary" or "float"' }),
  activations: z.union([z.int().min(2).max(32), z.literal('float')],
    { error: 'expected a bit width (integer 2..32) or "float"' }),
  helpers,
  latency: expression,
  powerMW: z.number().nonnegative(),
  /** Power while the CU idles during a layer another CU is still computing. */
  idlePowerMW: z.number().nonnegative().default(0),
});

const splitSchema = z.discriminatedUnion('style', [
  z.strictObject({ style: z.literal('per-channel') }),
  z.strictObject({
    style: z.literal('conv-vs-depthwise'),
    conv: identifier,
    depthwise: identifier,
    /** Which depthwise layers are searchable (default: all with cin == cout). */
    where: expression.optional(),
  }),
]);

const platformSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  notes: z.array(z.string()).optional(),
  clockHz: z.number().positive(),
  helpers,
  cus: z.array(cuSchema).min(1, 'expected at least one compute unit'),
  /** Power drawn while ALL CUs of a group compute at once (replaces the sum of their powers). */
  overlaps: z.array(z.strictObject({
    cus: z.array(identifier).min(2, 'expected at least two CUs'),
    powerMW: z.number().nonnegative(),
  })).default([]),
  split: splitSchema.default({ style: 'per-channel' }),
});

export type PlatformFile = z.infer<typeof platformSchema>;
export type WeightFormat = number | 'ternary' | 'float';
export type ActivationFormat = number | 'float';

export interface ComputeUnit {
  name: string;
  index: number;
  kinds: LayerKind[];
  weights: WeightFormat;
  activations: ActivationFormat;
  powerMW: number;
  idlePowerMW: number;
  /** Helpers + the CU's `#latency` and optional `#supports`. */
  exprs: ExprSet;
  hasSupports: boolean;
}

export interface Overlap { cus: number[]; powerMW: number }

export type SplitStyle =
  | { style: 'per-channel' }
  | { style: 'conv-vs-depthwise'; conv: number; depthwise: number; where: ExprSet | null };

export const LATENCY = '#latency';
export const SUPPORTS = '#supports';
const WHERE = '#where';

export interface Platform {
  name: string;
  description: string;
  notes: string[];
  clockHz: number;
  cus: ComputeUnit[];
  overlaps: Overlap[];
  split: SplitStyle;
  /** Where it was loaded from. */
  source: string;
}

/** Directory of the built-in platform files (works from src/ and dist/). */
export const BUILTIN_DIR = fileURLToPath(new URL('../../platforms/', import.meta.url));

/** Names of the built-in platforms: the JSON files in platforms/ (diana first). */
export function builtinPlatforms(): string[] {
  const names = readdirSync(BUILTIN_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  return names.sort((a, b) => Number(b === 'diana') - Number(a === 'diana') || a.localeCompare(b));
}

/** The copy of its platform file a run directory keeps (it outlives the original). */
export const RUN_PLATFORM_FILE = 'platform.json';

/**
 * The platform of a run directory: its own copy, else the file or built-in name its
 * config.json names (runs from before the copy).
 */
export function loadRunPlatform(dir: string, config: { platform: string; platformFile?: string }): Platform {
  const own = path.join(dir, RUN_PLATFORM_FILE);
  if (existsSync(own)) return loadPlatform(own);
  return loadPlatform(config.platformFile && existsSync(config.platformFile) ? config.platformFile : config.platform);
}

/** `name` is a built-in platform name or a path to a JSON file. */
export function loadPlatform(name: string): Platform {
  const isPath = name.includes('/') || name.includes(path.sep) || name.endsWith('.json');
  const file = isPath ? path.resolve(name) : path.join(BUILTIN_DIR, `${name}.json`);
  if (!existsSync(file)) {
    throw new UserError(isPath
      ? `platform file ${name} not found`
      : `unknown platform '${name}' (expected one of ${builtinPlatforms().join(', ')}, or a path to a JSON file)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`platform file ${file}: not valid JSON (${(e as Error).message})`);
  }
  return parsePlatform(json, file);
}

function fieldPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || '(top level)';
}

/** Validates a parsed platform object. `source` names it in error messages. */
export function parsePlatform(json: unknown, source: string): Platform {
  const r = platformSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UserError(`platform file ${source}: field ${fieldPath(issue.path)}: ${issue.message}`);
  }
  const f = r.data;
  const fail = (field: string, msg: string): never => {
    throw new UserError(`platform file ${source}: field ${field}: ${msg}`);
  };
  const names = f.cus.map((c) => c.name);
  const cuIndex = (n: string, field: string): number => {
    const i = names.indexOf(n);
    if (i < 0) fail(field, `unknown compute unit '${n}' (expected one of ${names.join(', ')})`);
    return i;
  };
  names.forEach((n, i) => { if (names.indexOf(n) !== i) fail(`cus[${i}].name`, `duplicate compute unit name '${n}'`); });

  const build = (defs: Map<string, [string, string]>): ExprSet => {
    try {
      return new ExprSet(defs);
    } catch (e) {
      if (e instanceof ExprError) fail(e.path, e.message);
      throw e;
    }
  };
  const platformHelpers = Object.entries(f.helpers).map(([k, v]) => [k, [`helpers.${k}`, v]] as const);

  const cus: ComputeUnit[] = f.cus.map((c, i) => {
    const defs = new Map<string, [string, string]>(platformHelpers.map(([k, v]) => [k, [...v]]));
    for (const [k, v] of Object.entries(c.helpers)) {
      if (defs.has(k)) fail(`cus[${i}].helpers.${k}`, `helper '${k}' is already defined at platform level`);
      defs.set(k, [`cus[${i}].helpers.${k}`, v]);
    }
    defs.set(LATENCY, [`cus[${i}].latency`, c.latency]);
    if (c.supports) defs.set(SUPPORTS, [`cus[${i}].supports`, c.supports]);
    const exprs = build(defs);
    if (c.supports && exprs.dependsOnN(SUPPORTS)) {
      fail(`cus[${i}].supports`, 'may only use the layer geometry, not n');
    }
    const cu: ComputeUnit = {
      name: c.name, index: i, kinds: c.kinds, weights: c.weights, activations: c.activations,
      powerMW: c.powerMW, idlePowerMW: c.idlePowerMW, exprs, hasSupports: Boolean(c.supports),
    };
    probe(cu, (msg) => fail(`cus[${i}].latency`, msg));
    return cu;
  });

  const overlaps = f.overlaps.map((o, j) => {
    const idx = o.cus.map((n, k) => cuIndex(n, `overlaps[${j}].cus[${k}]`));
    if (new Set(idx).size !== idx.length) fail(`overlaps[${j}].cus`, 'expected distinct compute units');
    return { cus: idx, powerMW: o.powerMW };
  });

  let split: SplitStyle = { style: 'per-channel' };
  if (f.split.style === 'conv-vs-depthwise') {
    const conv = cuIndex(f.split.conv, 'split.conv');
    const depthwise = cuIndex(f.split.depthwise, 'split.depthwise');
    if (conv === depthwise) fail('split.depthwise', 'expected a compute unit other than split.conv');
    if (!cus[depthwise]!.kinds.includes('depthwise')) fail('split.depthwise', `compute unit '${f.split.depthwise}' cannot run depthwise layers`);
    if (!cus[conv]!.kinds.includes('conv')) fail('split.conv', `compute unit '${f.split.conv}' cannot run conv layers`);
    let where: ExprSet | null = null;
    if (f.split.where) {
      where = build(new Map([[WHERE, ['split.where', f.split.where]]]));
      if (where.dependsOnN(WHERE)) fail('split.where', 'may only use the layer geometry, not n');
    }
    split = { style: 'conv-vs-depthwise', conv, depthwise, where };
  }
  return {
    name: f.name, description: f.description ?? '', notes: f.notes ?? [], clockHz: f.clockHz,
    cus, overlaps, split, source,
  };
}

/**
 * A latency must be a finite, non-negative number of cycles: checked at load on a grid of
 * geometries the CU supports (and again on every layer of the model a run uses, planLayers).
 */
function probe(cu: ComputeUnit, fail: (msg: string) => never): void {
  for (const kind of cu.kinds) {
    for (const c of [1, 3, 16, 64]) {
      for (const k of kind === 'fc' ? [1] : [1, 3, 5]) {
        for (const [h, stride] of kind === 'fc' ? [[1, 1]] : [[1, 1], [8, 1], [8, 2], [32, 1]]) {
          const depthwise = kind === 'depthwise';
          const g: LayerGeometry = { name: 'probe', kind, cin: c, cout: c, kx: k, ky: k, h: h!, w: h!, stride: stride!, groups: depthwise ? c : 1 };
          if (!canRun(cu, g)) continue;
          for (const n of new Set([1, Math.ceil(c / 2), c])) { // n = 0 costs nothing (not evaluated)
            let v: number;
            try {
              v = cu.exprs.value(LATENCY, numberOps(vars(g, n)));
            } catch (e) {
              return fail(`cannot be evaluated on a ${kind} layer ${c}->${c} ${k}x${k}, ${h}x${h} output, stride ${stride}, n=${n}: ${(e as Error).message}`);
            }
            if (!Number.isFinite(v) || v < 0) {
              fail(`evaluates to ${v} on a ${kind} layer ${c}->${c} ${k}x${k}, ${h}x${h} output, stride ${stride}, n=${n}: expected a finite number of cycles >= 0`);
            }
          }
        }
      }
    }
  }
}

export function vars(g: LayerGeometry, n: number): Record<GeometryVar, number> {
  return { cin: g.cin, cout: g.cout, n, kx: g.kx, ky: g.ky, h: g.h, w: g.w, stride: g.stride, groups: g.groups };
}

/** How exactly a CU computes: float > more weight bits > ternary. */
export function precisionRank(cu: ComputeUnit): number {
  return cu.weights === 'float' ? 1000 : cu.weights === 'ternary' ? Math.log2(3) : cu.weights;
}

/** The given CUs (indices), most precise first; ties in platform order. */
export function byPrecision(p: Platform, cus: readonly number[]): number[] {
  return [...cus].sort((a, b) => precisionRank(p.cus[b]!) - precisionRank(p.cus[a]!) || a - b);
}

export function cuByName(p: Platform, name: string): ComputeUnit {
  const cu = p.cus.find((c) => c.name === name);
  if (!cu) throw new UserError(`platform ${p.name} has no compute unit '${name}' (expected one of ${p.cus.map((c) => c.name).join(', ')})`);
  return cu;
}

/** Whether `cu` can run a layer of geometry `g` (its kinds and its `supports` condition). */
export function canRun(cu: ComputeUnit, g: LayerGeometry): boolean {
  if (!cu.kinds.includes(g.kind)) return false;
  return !cu.hasSupports || cu.exprs.condition(SUPPORTS, numberOps(vars(g, g.cout)));
}

export function isSplitLayer(p: Platform, g: LayerGeometry): boolean {
  if (p.split.style !== 'conv-vs-depthwise' || g.kind !== 'depthwise' || g.cin !== g.cout) return false;
  return !p.split.where || p.split.where.condition(WHERE, numberOps(vars(g, g.cout)));
}
