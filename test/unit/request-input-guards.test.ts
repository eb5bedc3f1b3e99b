/**
 * The guards every request passes before its body or ids reach a schema or the catalog: null
 * properties count as absent (functions/http/jobs.ts withoutNullProperties), and ids that no catalog
 * key can hold name nothing (lib/services/jobs.ts isStorableId).
 */
import { withoutNullProperties } from '../../functions/http/jobs';
import { isStorableId } from '../../lib/services/jobs';

describe('withoutNullProperties', () => {
  it('drops null-valued properties at any depth, keeping everything else', () => {
    const azureGet = {
      eTag: null,
      properties: {
        schedulePolicy: { scheduleRunDays: null, scheduleRunTimes: ['2026-01-01T21:30:00Z'], scheduleWeeklyFrequency: 0 },
        retentionPolicy: { weeklySchedule: null, dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } },
        flags: [false, '', { a: null, b: 1 }],
      },
    };
    expect(withoutNullProperties(azureGet)).toEqual({
      properties: {
        schedulePolicy: { scheduleRunTimes: ['2026-01-01T21:30:00Z'], scheduleWeeklyFrequency: 0 },
        retentionPolicy: { dailySchedule: { retentionDuration: { count: 30, durationType: 'Days' } } },
        flags: [false, '', { b: 1 }],
      },
    });
  });

  it('keeps nulls inside arrays and a null body as they are, for the schema to refuse', () => {
    expect(withoutNullProperties({ times: [null, 'x'] })).toEqual({ times: [null, 'x'] });
    expect(withoutNullProperties(null)).toBeNull();
    expect(withoutNullProperties([null])).toEqual([null]);
  });

  it('keeps a "__proto__" key as an own property instead of setting the prototype', () => {
    const result = withoutNullProperties(JSON.parse('{"__proto__":{"polluted":true},"a":null}')) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect((result as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('isStorableId', () => {
  it.each([
    ['a GUID', '0f8fad5b-d9cb-469f-a165-70867728950e', true],
    ['a short name', 'job-1', true],
    ['empty', '', false],
    ['a slash', 'a/b', false],
    ['a backslash', 'a\\b', false],
    ['a number sign', 'a#b', false],
    ['a question mark', 'a?b', false],
    ['a control character', 'a\u0007b', false],
    ['a C1 control character', 'a\u0085b', false],
    ['too long', 'j'.repeat(256), false],
  ])('%s → %s', (_name, id, expected) => {
    expect(isStorableId(id)).toBe(expected);
  });
});
