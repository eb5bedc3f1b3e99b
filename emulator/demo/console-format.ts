/**
 * Plain-text formatting for `npm start`: aligned tables, ISO 8601 durations as seconds, sizes, and
 * the ARM error (code, message, recommendation) as the lines a user reads.
 */

/** Columns padded to their widest cell, separated by two spaces, each line indented. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = '  '): string[] {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '─'.repeat(width))), ...rows.map(line)];
}

const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Seconds in an ISO 8601 duration such as `PT1M2.5S`; undefined when it is not one. */
export function isoDurationSeconds(duration: string): number | undefined {
  const match = ISO_DURATION.exec(duration);
  if (match === null) return undefined;
  const [days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  return ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
}

/** `PT2.345S` → `2.3 s`, `PT1M5S` → `1 min 5 s`; anything else as it is. */
export function formatDuration(duration: string): string {
  const total = isoDurationSeconds(duration);
  if (total === undefined) return duration;
  if (total < 60) return `${total.toFixed(1)} s`;
  const minutes = Math.floor(total / 60);
  return `${minutes} min ${Math.round(total - minutes * 60)} s`;
}

/** Bytes as whole MiB or GiB, e.g. `128 MiB`. */
export function formatSize(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1 && Number.isInteger(gib)) return `${gib} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** `2026-11-21T23:41:30.123Z` → `2026-11-21 23:41:30 UTC`. */
export function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export interface ReportedError {
  code: string;
  message: string;
  recommendation?: string;
}

/** `Code: message` and, when there is one, `Recommendation: …` on its own line. */
export function formatError(error: ReportedError, indent = '  '): string[] {
  const lines = [`${indent}${error.code}: ${error.message}`];
  if (error.recommendation !== undefined && error.recommendation !== '') lines.push(`${indent}Recommendation: ${error.recommendation}`);
  return lines;
}
