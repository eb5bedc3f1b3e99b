/**
 * The soak's policy shapes (test/support/soak-model.ts): every random shape is a policy Kluis accepts, and the
 * slot times the driver stops at are the scheduler's own.
 */
import { seededRandom } from '../../emulator/seeded-random';
import { scheduledSlotsBetween } from '../../lib/domain/backup-schedule';
import { iaasVmPolicyPropertiesSchema } from '../../lib/domain/policy';
import { validatePolicy } from '../../lib/domain/policy-rules';
import { randomPolicyShape, slotsBetween, soakPolicy } from '../support/soak-model';

describe('the soak policy model', () => {
  it('draws only valid policies, and stops at exactly the slots the scheduler runs', () => {
    const random = seededRandom('soak-model');
    const start = Date.parse('2027-01-01T00:00:00Z');
    for (let i = 0; i < 100; i++) {
      const shape = randomPolicyShape(random);
      const policy = validatePolicy(iaasVmPolicyPropertiesSchema.parse(soakPolicy(shape)));
      // Ends on a slot, a millisecond either side of one, or anywhere.
      const slotOfDay = (day: number) => start + day * 86_400_000 + (shape.hour * 60 + shape.minute) * 60_000;
      const near = (day: number) => slotOfDay(day) + [-1, 0, 1, random.nextInt(86_400_000)][random.nextInt(4)];
      const from = near(random.nextInt(300));
      const to = Math.max(from, near(Math.floor((from - start) / 86_400_000) + random.nextInt(5)));
      expect({ shape, slots: slotsBetween(shape, from, to) }).toEqual({ shape, slots: scheduledSlotsBetween(policy, new Date(from), new Date(to)).map((s) => s.scheduledTime.getTime()) });
    }
  });

  it('draws the optional rules both present and absent', () => {
    const random = seededRandom('soak-model-rules');
    const shapes = Array.from({ length: 60 }, () => randomPolicyShape(random));
    for (const rule of ['weeklyWeeks', 'monthlyMonths', 'yearlyYears'] as const) {
      expect(new Set(shapes.map((s) => s[rule] === undefined))).toEqual(new Set([true, false]));
    }
  });
});
