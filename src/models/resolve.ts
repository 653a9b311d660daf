/**
 * A model reference as users give it: a built-in name (resnet20), an ONNX file (its graph
 * becomes the spec), or a run/warm-up directory (or its model.json) holding a spec.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { importOnnx } from './onnx_import.js';
import type { ModelSpec } from './spec.js';
import { buildModel, MODELS } from './zoo.js';

/** The spec of a model, as a run directory stores it. */
export const MODEL_FILE = 'model.json';

const pads = z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)]);
const name = z.string().min(1);
const specSchema = z.object({
  name,
  inputShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  numClasses: z.number().int().positive(),
  layers: z.array(z.object({
    name, kind: z.enum(['conv', 'depthwise', 'fc']),
    cin: z.number().int().positive(), cout: z.number().int().positive(), kx: z.number().int().positive(), ky: z.number().int().positive(),
    h: z.number().int().positive(), w: z.number().int().positive(), stride: z.number().int().positive(), groups: z.number().int().positive(),
    inH: z.number().int().positive(), inW: z.number().int().positive(), pad: z.union([z.enum(['same', 'valid']), pads]),
    dilation: z.number().int().positive().optional(), bn: z.boolean(), act: z.enum(['none', 'relu', 'relu6']), input: name,
  }).strict()).min(1),
  adds: z.array(z.object({ name, a: name, b: name, relu: z.boolean() }).strict()),
  pools: z.array(z.object({
    name, input: name, kind: z.enum(['global', 'max', 'avg']),
    k: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    stride: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    pad: pads.optional(), countIncludePad: z.boolean().optional(),
  }).strict()),
  order: z.array(name).min(1),
  matches: z.string().optional(),
}).strict();

/** Reads and checks a stored spec (model.json). */
export function readSpec(file: string): ModelSpec {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const r = specSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UserError(`${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  const spec = r.data as ModelSpec;
  const known = new Set(['input', ...spec.order]);
  const pools = spec.pools.filter((p) => p.kind !== 'global');
  if (pools.some((p) => !p.k || !p.stride)) throw new UserError(`${file}: pools: a max/avg pool needs k and stride`);
  for (const l of spec.layers) if (!known.has(l.input)) throw new UserError(`${file}: layer ${l.name}: unknown input '${l.input}'`);
  return spec;
}

/** A built-in name, an .onnx file, or a directory (or model.json) holding a spec. */
export function resolveModel(ref: string, numClasses = 10): ModelSpec {
  if (ref in MODELS) return buildModel(ref, numClasses);
  if (!existsSync(ref)) {
    throw new UserError(`--model ${ref}: not a built-in model (${Object.keys(MODELS).join(', ')}) and no such file or directory`);
  }
  if (statSync(ref).isDirectory()) {
    const f = path.join(ref, MODEL_FILE);
    if (!existsSync(f)) throw new UserError(`--model ${ref}: the directory holds no ${MODEL_FILE} (import an ONNX model with hetsplit import)`);
    return readSpec(f);
  }
  if (ref.toLowerCase().endsWith('.onnx')) {
    return importOnnx(readFileSync(ref), ref, { inputNonNegative: true, name: path.basename(ref).replace(/\.onnx$/i, '') }).spec;
  }
  if (ref.toLowerCase().endsWith('.json')) return readSpec(ref);
  throw new UserError(`--model ${ref}: expected a built-in model name, an .onnx file, or a directory with ${MODEL_FILE}`);
}
