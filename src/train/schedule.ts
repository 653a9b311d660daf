/**
 * Per-step schedules, sized to the phase whatever its length: the weights' learning rate
 * warms up linearly over the first steps and decays to ~0 by a cosine at the phase's end;
 * the search temperature goes geometrically from T0 to T_end; the α learning rate is set
 * so that Adam (which moves a parameter by about lr per step when its gradient keeps its
 * sign) can carry a logit `travel` units over the search.
 */

/** Learning rate at `step` of `total` (0-based): linear warm-up over `warmupFrac`, then cosine to 0. */
export function lrAt(base: number, step: number, total: number, warmupFrac = 0.05): number {
  if (total <= 0) return base;
  const warm = Math.max(1, Math.round(warmupFrac * total));
  if (step < warm) return (base * (step + 1)) / warm;
  const t = (step - warm) / Math.max(1, total - warm);
  return 0.5 * base * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

/**
 * How the weights' lr runs over the post-warm-up training: 'phase' gives the search and
 * the fine-tune each their own warm-up and cosine; 'run' gives them one, warming up at the
 * start of the search and reaching 0 at the end of the fine-tune, so the fine-tune goes on
 * where the search stopped instead of warming up again.
 */
export type LrSchedule = 'phase' | 'run';
export const LR_SCHEDULES: readonly LrSchedule[] = ['phase', 'run'];

/**
 * The weights' lr at `step` of a phase of `phaseSteps` steps that begins `before` steps
 * into a run of `runSteps` post-warm-up steps (search + fine-tune), peak `base`.
 */
export function weightLrAt(mode: LrSchedule, base: number, step: number, phaseSteps: number, before: number,
  runSteps: number, warmupFrac: number): number {
  return mode === 'run' ? lrAt(base, before + step, runSteps, warmupFrac) : lrAt(base, step, phaseSteps, warmupFrac);
}

/** Search temperature at `step` of `total`: T0·(T_end/T0)^(step/(total−1)). */
export function temperatureAt(t0: number, tEnd: number, step: number, total: number): number {
  if (total <= 1) return tEnd;
  return t0 * (tEnd / t0) ** (Math.min(step, total - 1) / (total - 1));
}

/** α's Adam learning rate for a search of `steps` steps: `travel` logits in all. */
export function alphaLr(travel: number, steps: number): number {
  return travel / Math.max(1, steps);
}
