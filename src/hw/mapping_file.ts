/**
 * mapping.json: a network's channel-to-CU mapping as a run writes it and as a person reads
 * or writes it by hand, per layer the output channels of each compute unit:
 *   { platform, model, layers: [{ name, channels: { <cu name>: [channel, …] } }] }
 * Reading checks it against the model and platform (layer names in order, known CUs, every
 * channel exactly once); whether a CU may run a layer is the model's check (SearchModel.fix).
 */
import type { ModelSpec } from '../models/spec.js';
import type { Platform } from './platform.js';
import { UserError } from '../util/errors.js';

/** Per layer, per output channel, the index of its compute unit (platform order). */
type Assignment = number[][];

export interface MappingFile { platform: string; model: string; layers: { name: string; channels: Record<string, number[]> }[] }

export function mappingFileOf(platform: Platform, spec: ModelSpec, assignment: Assignment): MappingFile {
  return {
    platform: platform.name, model: spec.name,
    layers: spec.layers.map((l, k) => ({
      name: l.name,
      channels: Object.fromEntries(platform.cus.map((cu) => [cu.name, assignment[k]!.flatMap((c, ch) => (c === cu.index ? [ch] : []))])),
    })),
  };
}

/** The assignment a parsed mapping file describes; `where` names the file in errors. */
export function assignmentOf(where: string, m: unknown, spec: ModelSpec, platform: Platform): Assignment {
  const layers = (m as Partial<MappingFile> | null)?.layers;
  if (!Array.isArray(layers)) throw new UserError(`${where}: expected an object with a 'layers' array (a mapping.json)`);
  if (layers.length !== spec.layers.length) throw new UserError(`${where}: ${layers.length} layers, ${spec.name} has ${spec.layers.length}`);
  return spec.layers.map((l, k) => {
    const entry = layers[k] as Partial<MappingFile['layers'][number]> | undefined;
    if (entry?.name !== l.name) throw new UserError(`${where}: layer ${k} is '${String(entry?.name)}', ${spec.name}'s is '${l.name}' (another model?)`);
    if (!entry.channels || typeof entry.channels !== 'object') throw new UserError(`${where}: layer ${l.name}: expected 'channels': { <compute unit>: [channel, …] }`);
    const cus = new Array<number>(l.cout).fill(-1);
    for (const [cu, chans] of Object.entries(entry.channels)) {
      const i = platform.cus.findIndex((c) => c.name === cu);
      if (i < 0) throw new UserError(`${where}: layer ${l.name}: unknown compute unit '${cu}' (${platform.name} has ${platform.cus.map((c) => c.name).join(', ')})`);
      if (!Array.isArray(chans)) throw new UserError(`${where}: layer ${l.name}: '${cu}' is not a list of channels`);
      for (const c of chans) {
        if (!Number.isInteger(c) || c < 0 || c >= l.cout) throw new UserError(`${where}: layer ${l.name}: channel ${String(c)} is not one of 0..${l.cout - 1}`);
        if (cus[c] !== -1) throw new UserError(`${where}: layer ${l.name}: channel ${c} is mapped twice`);
        cus[c] = i;
      }
    }
    const missing = cus.indexOf(-1);
    if (missing >= 0) throw new UserError(`${where}: layer ${l.name}: channel ${missing} is not mapped (every channel needs a compute unit)`);
    return cus;
  });
}
