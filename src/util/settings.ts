/**
 * Train settings added after runs and sweeps already existed, with the value that gives
 * the behaviour those older runs had. Resuming an older run or sweep (whose saved settings
 * lack the key) at that value is the same run; any other value is a different one.
 */
export const SETTINGS_ADDED_LATER: Readonly<Record<string, unknown>> = { lrSchedule: 'phase', sensitivity: 'taylor', costGrad: 'soft', searchForward: 'argmax' };

/** True when `key`, absent from saved settings, has the value older runs implicitly had. */
export function atOlderDefault(key: string, value: unknown): boolean {
  return key in SETTINGS_ADDED_LATER && JSON.stringify(value) === JSON.stringify(SETTINGS_ADDED_LATER[key]);
}
