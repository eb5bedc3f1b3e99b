/** How the dashboard writes numbers, times and durations. Pure; times in UTC unless a zone is given. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; whole numbers below 10 units keep one decimal, larger ones none. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Seconds of an ISO 8601 duration (`PT1H2M3.5S`, `P1DT2H`); undefined when it is not one. */
export function parseIsoDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim());
  if (match === null || value.trim() === 'P' || value.trim() === 'PT') return undefined;
  const [, d, h, m, s] = match.map((part) => (part === undefined ? 0 : Number(part)));
  return d * 86_400 + h * 3600 + m * 60 + s;
}

/** 9.87 → "9.9 s", 125 → "2 min 5 s", 7260 → "2 h 1 min", 90000 → "1 d 1 h". */
export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  const days = Math.floor(whole / 86_400);
  const hours = Math.floor((whole % 86_400) / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  return secs > 0 ? `${minutes} min ${secs} s` : `${minutes} min`;
}

export function formatDuration(isoDuration: string | undefined): string {
  return formatSeconds(parseIsoDuration(isoDuration));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-11-22 00:03 UTC" (minutes), or with seconds. */
export function formatTime(iso: string | undefined, options: { seconds?: boolean } = {}): string {
  if (iso === undefined || iso === '') return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}${options.seconds ? `:${pad(date.getUTCSeconds())}` : ''}`;
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${time} UTC`;
}

/** "2026-11-22" of an instant in UTC. */
export function formatDate(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** "in 3 h", "5 min ago", "just now": how far an instant is from now. */
export function formatRelative(iso: string | undefined, now: Date): string {
  if (iso === undefined) return '—';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return '—';
  const seconds = (then - now.getTime()) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  const text = formatSeconds(Math.abs(seconds)).replace(/ \d+ (s|min)$/, '');
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

/** "3 items", "1 item". */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

/** Azure's consistency names in words. */
export function consistencyLabel(recoveryPointType: string | undefined): string {
  switch (recoveryPointType) {
    case 'AppConsistent':
    case 'ApplicationConsistent':
      return 'Application consistent';
    case 'FileSystemConsistent':
      return 'File-system consistent';
    case 'CrashConsistent':
      return 'Crash consistent';
    default:
      return recoveryPointType ?? '—';
  }
}

/** The tier names the portal shows. */
export function tierLabel(type: string): string {
  return type === 'InstantRP' ? 'Snapshot' : type === 'HardenedRP' ? 'Vault' : type;
}

/** An ISO instant as the value of an `<input type="date">` (UTC date). */
export function dateInputValue(date: Date): string {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** The end of a picked date (23:59:59 UTC) as ISO, for "retain until" pickers. */
export function endOfUtcDay(dateInput: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dateInput);
  if (match === null) return undefined;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
