/**
 * Results of pure computations kept by a digest of everything they read, so that the
 * points of a sweep, which run in one process, compute what they share once (a warm
 * start's channel scores, the float network's output moments) and the same as alone.
 */
import { createHash } from 'node:crypto';

export type DigestPart = string | number | ArrayBufferView;

/** SHA-256 of a sequence of parts; each part is length-prefixed, so no two sequences collide by concatenation. */
export function digest(parts: Iterable<DigestPart>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (typeof p === 'string' || typeof p === 'number') {
      const s = `${typeof p === 'string' ? 's' : 'n'}${String(p)}`;
      h.update(`${Buffer.byteLength(s)}:`);
      h.update(s);
    } else {
      h.update(`b${p.byteLength}:`);
      h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    }
  }
  return h.digest('hex');
}

/**
 * The last `size` results of one computation, by key (a digest of its inputs). `get`
 * returns a structured clone, so a caller that changes its copy cannot change another's.
 */
export class LastResults<T> {
  private readonly entries: { key: string; value: T }[] = [];

  constructor(private readonly size = 1) {
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`LastResults: size must be a whole number >= 1, got ${size}`);
  }

  /** `compute()`'s result for `key`, computed now or kept from an earlier call; `reused` says which. */
  get(key: string, compute: () => T): { value: T; reused: boolean } {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i >= 0) {
      const [e] = this.entries.splice(i, 1);
      this.entries.push(e!);
      return { value: structuredClone(e!.value), reused: true };
    }
    const value = compute();
    this.entries.push({ key, value: structuredClone(value) });
    if (this.entries.length > this.size) this.entries.shift();
    return { value, reused: false };
  }

  clear(): void { this.entries.length = 0; }
}
