/**
 * The small subset of OData `$filter` that Azure Backup's list operations accept: clauses
 * `field eq 'value'` joined by `and`, e.g.
 *   status eq 'InProgress' and operation eq 'Backup' and startTime eq '2026-11-01 12:00:00 AM'
 * plus the time format those filters use (`yyyy-MM-dd hh:mm:ss AM|PM`, UTC; ISO 8601 accepted too).
 *
 * Every problem is a KluisInvalidRequest whose target is `$filter`, naming the clause at fault.
 */
import { errors } from '../errors';

const TARGET = '$filter';
/** `field eq 'value'`; a quote inside a value is doubled, as in OData. */
const CLAUSE = /^\s*([A-Za-z][A-Za-z0-9_]*)\s+eq\s+'((?:[^']|'')*)'\s*$/i;

/**
 * The clauses of a filter by field name (as the caller spells it in `allowed`). Fields are matched
 * case-insensitively; a field outside `allowed`, another operator, a repeated field or a malformed
 * clause is refused.
 */
export function parseODataFilter<F extends string>(filter: string | null | undefined, allowed: readonly F[]): Partial<Record<F, string>> {
  const result: Partial<Record<F, string>> = {};
  if (filter === null || filter === undefined || filter.trim() === '') return result;
  for (const clause of splitClauses(filter)) {
    const match = CLAUSE.exec(clause);
    if (match === null) {
      throw errors.invalidRequest(TARGET, `The filter clause '${short(clause)}' is not of the form field eq 'value' (only 'eq' and 'and' are supported).`);
    }
    const field = allowed.find((name) => name.toLowerCase() === match[1].toLowerCase());
    if (field === undefined) {
      throw errors.invalidRequest(TARGET, `The filter field '${short(match[1])}' is not supported here; use ${allowed.join(', ')}.`);
    }
    if (result[field] !== undefined) throw errors.invalidRequest(TARGET, `The filter names '${field}' more than once.`);
    result[field] = match[2].replace(/''/g, "'");
  }
  return result;
}

/** Splits on ` and ` outside quoted values. */
function splitClauses(filter: string): string[] {
  const clauses: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < filter.length; i++) {
    const ch = filter[i];
    if (ch === "'") quoted = !quoted;
    if (!quoted && /\s/.test(ch) && /^\s+and\s+/i.test(filter.slice(i))) {
      const skip = /^\s+and\s+/i.exec(filter.slice(i))![0].length;
      clauses.push(current);
      current = '';
      i += skip - 1;
      continue;
    }
    current += ch;
  }
  clauses.push(current);
  return clauses;
}

const AZURE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*(AM|PM)?)?$/i;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * A filter time: Azure's `yyyy-MM-dd hh:mm:ss AM` (UTC; `00` and `12` both mean the first hour
 * with AM), a plain date `yyyy-MM-dd` (midnight UTC), or ISO 8601 with a zone.
 */
export function parseFilterTime(value: string, field: string): Date {
  const text = value.trim();
  if (ISO_WITH_ZONE.test(text)) {
    const parsed = new Date(text);
    if (!Number.isNaN(parsed.getTime())) return parsed;
  }
  const match = AZURE_TIME.exec(text);
  if (match !== null) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', meridiem] = match;
    let hour = Number(h);
    const minute = Number(mi);
    const second = Number(s);
    const valid12 = meridiem === undefined ? hour <= 23 : hour <= 12;
    if (meridiem !== undefined && meridiem.toUpperCase() === 'PM' && hour < 12) hour += 12;
    if (meridiem !== undefined && meridiem.toUpperCase() === 'AM' && hour === 12) hour = 0;
    const ms = Math.round(Number(`0.${fraction || '0'}`) * 1000);
    const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), hour, minute, second, ms));
    const sameDay = date.getUTCFullYear() === Number(y) && date.getUTCMonth() === Number(mo) - 1 && date.getUTCDate() === Number(d);
    if (valid12 && minute <= 59 && second <= 59 && sameDay) return date;
  }
  throw errors.invalidRequest(
    TARGET,
    `The ${field} '${short(value)}' is not a valid time; use 'yyyy-MM-dd hh:mm:ss AM' (UTC) or ISO 8601, e.g. '2026-11-01 09:30:00 PM' or '2026-11-01T21:30:00Z'.`,
  );
}

function short(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
