/**
 * When scheduled backups of a policy fall due: the slots of a time range, the next slot, and a
 * human description of the schedule. Pure; the scheduler timer passes the range it has not covered.
 *
 * Slots are wall-clock times in the policy's zone (policy-rules.ts reads run times that way), so a
 * backup set for 19:00 stays at 19:00 local across daylight saving changes. Hourly (Enhanced) slots
 * are window start + k × interval on the wall clock too. DST follows time-zones.ts: a slot in a
 * spring-forward gap runs right after the gap by the gap's length (02:30 → 03:30), a slot in a
 * fall-back overlap runs once, at its first occurrence.
 *
 * A slot's id is its UTC instant, `YYYYMMDDTHHmmZ`: deterministic, unique per item (no two slots of
 * one policy share an instant) and free of the zone's ambiguities. The scheduler derives the backup's
 * instance id from item and slot id, so a slot never runs twice.
 */
import { DAYS_OF_WEEK } from './policy';
import { formatTimeOfDay, policyScheduleOf, type NormalizedPolicy, type PolicySchedule } from './policy-rules';
import { fromZonedWallClock, zonedWallClock } from './time-zones';

export interface ScheduleSlot {
  /** `YYYYMMDDTHHmmZ` of scheduledTime. */
  slotId: string;
  /** The UTC instant the backup is due. */
  scheduledTime: Date;
}

export type SchedulePolicyView = Pick<NormalizedPolicy, 'schedulePolicy' | 'ianaTimeZone' | 'timeZone'>;

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
/** Every valid schedule has a slot within a week; two weeks leave room for DST and gaps. */
const NEXT_SLOT_HORIZON_DAYS = 14;

/** The slots with from < scheduledTime ≤ to, earliest first. */
export function scheduledSlotsBetween(policy: SchedulePolicyView, from: Date, to: Date): ScheduleSlot[] {
  if (!(to.getTime() > from.getTime())) return [];
  const zone = policy.ianaTimeZone;
  const schedule = policyScheduleOf(policy);
  const offsets = dailyWallOffsetsInMinutes(schedule);
  const runDays = schedule.runDays === undefined ? undefined : new Set(schedule.runDays.map((day) => DAYS_OF_WEEK.indexOf(day)));

  // Local calendar days to visit: the day before `from` (a window may run past midnight, a gap may
  // push a slot into the next day) through the day of `to`.
  const first = localMidnightAsUtc(zonedWallClock(from, zone)) - MS_PER_DAY;
  const last = localMidnightAsUtc(zonedWallClock(to, zone));
  const slots = new Map<string, ScheduleSlot>();
  for (let day = first; day <= last; day += MS_PER_DAY) {
    if (runDays !== undefined && !runDays.has(new Date(day).getUTCDay())) continue;
    for (const minutes of offsets) {
      const wall = new Date(day + minutes * MS_PER_MINUTE);
      const scheduledTime = fromZonedWallClock(
        {
          year: wall.getUTCFullYear(),
          month: wall.getUTCMonth() + 1,
          day: wall.getUTCDate(),
          hour: wall.getUTCHours(),
          minute: wall.getUTCMinutes(),
          second: wall.getUTCSeconds(),
        },
        zone,
      );
      if (scheduledTime.getTime() > from.getTime() && scheduledTime.getTime() <= to.getTime()) {
        const slotId = slotIdOf(scheduledTime);
        if (!slots.has(slotId)) slots.set(slotId, { slotId, scheduledTime });
      }
    }
  }
  return [...slots.values()].sort((a, b) => a.scheduledTime.getTime() - b.scheduledTime.getTime());
}

/** The first slot strictly after `after`. */
export function nextScheduledSlot(policy: SchedulePolicyView, after: Date): ScheduleSlot {
  const horizon = new Date(after.getTime() + NEXT_SLOT_HORIZON_DAYS * MS_PER_DAY);
  const [next] = scheduledSlotsBetween(policy, after, horizon);
  if (next === undefined) throw new RangeError('nextScheduledSlot: the policy has no slot in two weeks (was it validated?)');
  return next;
}

/** The instant of the first slot strictly after `after`. */
export function nextScheduledTime(policy: SchedulePolicyView, after: Date): Date {
  return nextScheduledSlot(policy, after).scheduledTime;
}

/** The slot id of an instant: `YYYYMMDDTHHmmZ` in UTC. */
export function slotIdOf(instant: Date): string {
  const iso = instant.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

/**
 * The schedule in words, with its zone as the user named it, e.g. "Daily at 19:00 W. Europe Standard
 * Time", "Weekly on Monday, Thursday at 02:30 UTC", "Every 4 hours from 08:00 for 12 hours (08:00,
 * 12:00, 16:00) Pacific Standard Time".
 */
export function describeSchedule(policy: SchedulePolicyView): string {
  const schedule = policyScheduleOf(policy);
  const zone = policy.timeZone;
  const at = schedule.runTimes.map(formatTimeOfDay).join(', ');
  switch (schedule.frequency) {
    case 'Daily':
      return `Daily at ${at} ${zone}`;
    case 'Weekly':
      return `Weekly on ${(schedule.runDays ?? []).join(', ')} at ${at} ${zone}`;
    case 'Hourly': {
      const hourly = schedule.hourly;
      if (hourly === undefined) return `Hourly ${zone}`;
      const times = dailyWallOffsetsInMinutes(schedule).map((minutes) => {
        const inDay = minutes % (24 * 60);
        return formatTimeOfDay({ hour: Math.floor(inDay / 60), minute: inDay % 60, second: 0 });
      });
      return `Every ${hourly.intervalHours} hours from ${formatTimeOfDay(hourly.windowStart)} for ${hourly.windowDurationHours} hours (${times.join(', ')}) ${zone}`;
    }
  }
}

/** Minutes after local midnight of each slot of a run day (hourly windows may pass 24 h). */
function dailyWallOffsetsInMinutes(schedule: PolicySchedule): number[] {
  if (schedule.hourly !== undefined) {
    const { intervalHours, windowStart, windowDurationHours } = schedule.hourly;
    const start = windowStart.hour * 60 + windowStart.minute;
    const offsets: number[] = [];
    for (let elapsed = 0; elapsed < windowDurationHours; elapsed += intervalHours) offsets.push(start + elapsed * 60);
    return offsets;
  }
  return schedule.runTimes.map((time) => time.hour * 60 + time.minute + time.second / 60);
}

/** The local date of a wall clock as a UTC-midnight timestamp (a day counter with weekday). */
function localMidnightAsUtc(wall: { year: number; month: number; day: number }): number {
  const date = new Date(0);
  date.setUTCFullYear(wall.year, wall.month - 1, wall.day);
  return date.getTime();
}
