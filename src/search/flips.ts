/**
 * Channel flips during a search: how often the argmax mapping changes from one step to the
 * next. A search whose final mapping equals its start may still have moved channels and
 * moved them back, and a network trained through those moves is not the one its start
 * would have been. Per period (a search epoch): `moves`, the channel changes summed over
 * steps, and `channels`, the distinct channels that changed at least once.
 */
import type { Assignment } from './model.js';

export interface Flips { moves: number; channels: number }

export class FlipCounter {
  private last: Assignment | null = null;
  private moves = 0;
  private touched = new Set<string>();

  /** The mapping after a step (the first call sets the baseline). */
  observe(assignment: Assignment): void {
    const last = this.last;
    if (last) {
      assignment.forEach((layer, l) => layer.forEach((cu, c) => {
        if (cu !== last[l]![c]) { this.moves++; this.touched.add(`${l}:${c}`); }
      }));
    }
    this.last = assignment;
  }

  /** The mapping last observed (null before the first). */
  get current(): Assignment | null { return this.last; }

  /** The period's counts; the next period starts from the last mapping observed. */
  take(): Flips {
    const out = { moves: this.moves, channels: this.touched.size };
    this.moves = 0;
    this.touched = new Set();
    return out;
  }
}
