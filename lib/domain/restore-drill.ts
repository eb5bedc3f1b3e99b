/**
 * Restore drills (a Kluis feature; Azure Backup has none): how often each protected item's backups are proven
 * restorable, and which point a drill restores. Set per vault (`kluisRestoreDrill` in `backupconfig/vaultconfig`,
 * the vault's backup settings, as soft delete is) and per policy (`kluisRestoreDrill` in the policy's properties,
 * which wins over the vault's). Azure's SDKs and `az` ignore a property they do not know, in requests and answers.
 *
 * A drill's slot is the drill period (day or ISO week, UTC) the clock is in: one drill per item per period,
 * whichever tick or host asks first (its job id derives from the item and the slot). `Random` picks a point
 * from a hash of the seed, the item and the slot: the same pick on every host and every re-run, a different one
 * from period to period.
 */
import { z } from 'zod';

export const RESTORE_DRILL_PROPERTY = 'kluisRestoreDrill';

export const restoreDrillSettingsSchema = z
  .object({
    frequency: z.enum(['Off', 'Daily', 'Weekly'], { error: "frequency must be 'Off', 'Daily' or 'Weekly'." }),
    pointSelection: z.enum(['Latest', 'Random'], { error: "pointSelection must be 'Latest' or 'Random'." }).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict();

export type RestoreDrillSettingsInput = z.infer<typeof restoreDrillSettingsSchema>;

export interface RestoreDrillSettings {
  frequency: 'Off' | 'Daily' | 'Weekly';
  pointSelection: 'Latest' | 'Random';
  seed: number;
}

export const RESTORE_DRILLS_OFF: RestoreDrillSettings = { frequency: 'Off', pointSelection: 'Latest', seed: 0 };

export function normalizeRestoreDrill(input: RestoreDrillSettingsInput): RestoreDrillSettings {
  return { frequency: input.frequency, pointSelection: input.pointSelection ?? 'Latest', seed: input.seed ?? 0 };
}

/** The policy's settings when it has them, else the vault's, else off. */
export function effectiveRestoreDrill(policy: RestoreDrillSettings | undefined, vault: RestoreDrillSettings | undefined): RestoreDrillSettings {
  return policy ?? vault ?? RESTORE_DRILLS_OFF;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** 1970-01-01 was a Thursday: ISO weeks start 3 days before it (Monday 1969-12-29). */
const MONDAY_EPOCH_OFFSET_MS = 3 * DAY_MS;

/** The drill period `now` is in (e.g. `Weekly-2920`), or undefined when drills are off. */
export function restoreDrillSlot(settings: RestoreDrillSettings, now: Date): string | undefined {
  switch (settings.frequency) {
    case 'Off':
      return undefined;
    case 'Daily':
      return `Daily-${Math.floor(now.getTime() / DAY_MS)}`;
    case 'Weekly':
      return `Weekly-${Math.floor((now.getTime() + MONDAY_EPOCH_OFFSET_MS) / (7 * DAY_MS))}`;
  }
}

/** The point a drill restores: the newest, or a seeded pick (the same for the same seed, item and slot). */
export function chooseDrillPoint<T>(pointsOldestFirst: readonly T[], settings: RestoreDrillSettings, itemId: string, slot: string): T | undefined {
  if (pointsOldestFirst.length === 0) return undefined;
  if (settings.pointSelection === 'Latest') return pointsOldestFirst[pointsOldestFirst.length - 1];
  return pointsOldestFirst[fnv1a(`${settings.seed}|${itemId}|${slot}`) % pointsOldestFirst.length];
}

/** 32-bit FNV-1a: a small, stable hash (not for security). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
