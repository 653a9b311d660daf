/**
 * The budget controller of a search: λ is a Lagrange multiplier of the constraint
 * cost ≤ budget, raised by dual ascent while the hard cost of the current mapping is
 * above the budget and lowered (not below 0) while it is under:
 *   λ ← max(0, λ + lr·(cost/budget − 1))   after every step.
 */
export class LagrangeMultiplier {
  constructor(public lambda: number, readonly lr: number, readonly budget: number) {}

  update(cost: number): number {
    this.lambda = Math.max(0, this.lambda + this.lr * (cost / this.budget - 1));
    return this.lambda;
  }
}
