// Within-layer channel choice, the adversarial end: from a run's mapping (its per-layer counts)
// and a sensitivity.json (per channel, the loss change Δ when quantized the cheaper CU's way),
// writes the mapping with the same counts whose precise-CU channels are the LEAST sensitive
// (so the most sensitive go to the cheaper CU): the opposite of the warm start's choice.
// It also checks that the most-sensitive choice reproduces the given mapping (the warm start).
// With a 4th argument `most`, it writes the MOST sensitive channels on the precise CU instead:
// the given counts ranked by another score's sensitivity.json.
// usage: node within-layer.mjs <mapping.json> <sensitivity.json> <out.json> [least|most]
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const [mappingFile, sensFile, out, end = 'least'] = process.argv.slice(2);
if (!out || !['least', 'most'].includes(end)) {
  console.error('usage: node within-layer.mjs <mapping.json> <sensitivity.json> <out.json> [least|most]');
  process.exit(2);
}
const m = JSON.parse(readFileSync(mappingFile, 'utf8'));
const s = JSON.parse(readFileSync(sensFile, 'utf8'));
let differs = 0, moved = 0;
const layers = m.layers.map((l, k) => {
  const sl = s.layers[k];
  if (sl.name !== l.name) throw new Error(`${sensFile}: layer ${k} is ${sl.name}, ${mappingFile}'s is ${l.name}`);
  const cheap = Object.keys(sl.delta);
  if (cheap.length !== 1) return l; // not a two-CU split layer: kept as it is
  const delta = sl.delta[cheap[0]];
  const k1 = l.channels[sl.precise].length;
  if (k1 === 0 || k1 === delta.length) return l;
  // Stable order by Δ, the ties by channel index (as the projection sorts).
  const byDelta = delta.map((d, c) => c).sort((a, b) => delta[b] - delta[a] || a - b);
  const top = new Set(byDelta.slice(0, k1));
  differs += l.channels[sl.precise].filter((c) => !top.has(c)).length;
  const chosen = (end === 'most' ? byDelta.slice(0, k1) : byDelta.slice(delta.length - k1)).sort((a, b) => a - b);
  const rest = delta.map((_, c) => c).filter((c) => !chosen.includes(c));
  moved += chosen.filter((c) => top.has(c)).length;
  return { name: l.name, channels: { [sl.precise]: chosen, [cheap[0]]: rest } };
});
const tmp = `${out}.tmp`;
writeFileSync(tmp, JSON.stringify({ ...m, layers }, null, 1));
renameSync(tmp, out);
console.log(end === 'least'
  ? `${out}: same counts, least sensitive channels on the precise CU (${moved} kept from the most-sensitive choice; ` +
    `${differs} channel(s) of the given mapping are not the most sensitive)`
  : `${out}: same counts, most sensitive channels on the precise CU (${differs} channel(s) of the given mapping's are not)`);
