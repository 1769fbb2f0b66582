/**
 * The panel's user settings (schema/plugin.json, Settings > Settings Editor > MLOps panel),
 * with the defaults that apply before the registry answers or without one.
 */

export interface PanelSettings {
  /** Milliseconds between two looks at a running job execution. */
  executionPollInterval: number;
  /** Milliseconds before a run listed as RUNNING is looked at again. */
  runRecheckInterval: number;
  /** How many runs one page (and each "Load more") fetches. */
  runsPageSize: number;
}

export const DEFAULT_SETTINGS: PanelSettings = {
  executionPollInterval: 1000,
  runRecheckInterval: 2000,
  runsPageSize: 20
};

const LIMITS: Record<keyof PanelSettings, [number, number]> = {
  executionPollInterval: [250, 60000],
  runRecheckInterval: [500, 60000],
  runsPageSize: [1, 200]
};

/** The settings from the registry's composite values: a missing or out-of-range value falls
 * back to its default or is clamped into its range (the schema says the same). */
export function readSettings(composite: Record<string, unknown>): PanelSettings {
  const settings = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(LIMITS) as (keyof PanelSettings)[]) {
    const value = composite[key];
    if (typeof value === 'number' && Number.isFinite(value)) {
      const [low, high] = LIMITS[key];
      settings[key] = Math.min(high, Math.max(low, Math.round(value)));
    }
  }
  return settings;
}
