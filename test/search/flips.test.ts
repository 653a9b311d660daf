/** FlipCounter (search/flips.ts) on hand-made mapping sequences. */
import { describe, expect, it } from 'vitest';
import { FlipCounter } from '../../src/search/flips.js';

describe('FlipCounter', () => {
  it('counts step-to-step changes and distinct channels per period, a move and its return both counted', () => {
    const f = new FlipCounter();
    f.observe([[0, 0, 1], [1, 1]]); // baseline
    f.observe([[1, 0, 1], [1, 1]]); // layer 0 channel 0 moves
    f.observe([[0, 0, 1], [1, 0]]); // it moves back; layer 1 channel 1 moves
    expect(f.take()).toEqual({ moves: 3, channels: 2 });
    f.observe([[0, 0, 1], [1, 0]]); // nothing changes from the last mapping
    expect(f.take()).toEqual({ moves: 0, channels: 0 });
    f.observe([[0, 1, 0], [1, 0]]);
    expect(f.take()).toEqual({ moves: 2, channels: 2 });
  });
});
