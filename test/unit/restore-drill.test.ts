/**
 * Restore drill rules (lib/domain/restore-drill.ts): the period a drill belongs to, the point it picks, which
 * setting wins, and the policy and vault config bodies that carry `kluisRestoreDrill`.
 */
import { vaultConfigBodySchema } from '../../lib/domain/arm/vault-resource';
import { defaultPolicy, validatePolicy } from '../../lib/domain/policy-rules';
import { iaasVmPolicyPropertiesSchema } from '../../lib/domain/policy';
import { chooseDrillPoint, effectiveRestoreDrill, restoreDrillSlot, RESTORE_DRILLS_OFF, type RestoreDrillSettings } from '../../lib/domain/restore-drill';

const weekly: RestoreDrillSettings = { frequency: 'Weekly', pointSelection: 'Latest', seed: 0 };

describe('restore drill rules', () => {
  it('gives one slot per UTC day or ISO week (Monday to Sunday), none when off', () => {
    const slot = (at: string, settings = weekly) => restoreDrillSlot(settings, new Date(at));
    expect(slot('2026-03-02T00:00:00Z')).toBe(slot('2026-03-08T23:59:59Z')); // Monday … Sunday
    expect(slot('2026-03-08T23:59:59Z')).not.toBe(slot('2026-03-09T00:00:00Z'));
    const daily = { ...weekly, frequency: 'Daily' as const };
    expect(slot('2026-03-02T00:00:00Z', daily)).toBe(slot('2026-03-02T23:59:59Z', daily));
    expect(slot('2026-03-02T23:59:59Z', daily)).not.toBe(slot('2026-03-03T00:00:00Z', daily));
    expect(slot('2026-03-02T00:00:00Z', RESTORE_DRILLS_OFF)).toBeUndefined();
  });

  it('picks the latest point, or a seeded one that is stable for the same seed, item and slot and varies across slots', () => {
    const points = Array.from({ length: 20 }, (_, i) => `p${i}`);
    expect(chooseDrillPoint(points, weekly, 'item', 'Weekly-1')).toBe('p19');
    expect(chooseDrillPoint([], weekly, 'item', 'Weekly-1')).toBeUndefined();
    const random = { ...weekly, pointSelection: 'Random' as const, seed: 7 };
    expect(chooseDrillPoint(points, random, 'item', 'Weekly-1')).toBe(chooseDrillPoint(points, random, 'item', 'Weekly-1'));
    const picks = new Set(Array.from({ length: 30 }, (_, week) => chooseDrillPoint(points, random, 'item', `Weekly-${week}`)));
    expect(picks.size).toBeGreaterThan(5);
  });

  it('lets a policy setting win over the vault default', () => {
    expect(effectiveRestoreDrill(undefined, undefined)).toEqual(RESTORE_DRILLS_OFF);
    expect(effectiveRestoreDrill(undefined, weekly)).toBe(weekly);
    const daily = { ...weekly, frequency: 'Daily' as const };
    expect(effectiveRestoreDrill(daily, weekly)).toBe(daily);
  });

  it('takes kluisRestoreDrill in a policy (normalized) and in the vault config body, and refuses bad values', () => {
    const properties = iaasVmPolicyPropertiesSchema.parse({ ...defaultPolicy(), kluisRestoreDrill: { frequency: 'Weekly', pointSelection: 'Random' } });
    expect(validatePolicy(properties).kluisRestoreDrill).toEqual({ frequency: 'Weekly', pointSelection: 'Random', seed: 0 });
    expect(validatePolicy(defaultPolicy()).kluisRestoreDrill).toBeUndefined();
    expect(iaasVmPolicyPropertiesSchema.safeParse({ ...defaultPolicy(), kluisRestoreDrill: { frequency: 'Hourly' } }).success).toBe(false);
    expect(vaultConfigBodySchema.safeParse({ properties: { kluisRestoreDrill: { frequency: 'Daily', seed: 3 } } }).success).toBe(true);
    expect(vaultConfigBodySchema.safeParse({ properties: { kluisRestoreDrill: { frequency: 'Daily', extra: 1 } } }).success).toBe(false);
  });
});
