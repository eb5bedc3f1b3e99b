/**
 * Reads ranges of one blob in order, with later reads already in flight: at most `maxCalls` requests
 * and `maxBytes` of payload at once (one read always runs, whatever its size). Used by the segment
 * steps of a backup. When the consumer stops early (an error, a break), every started read is let
 * settle before the generator returns, so nothing is still reading after the activity has failed.
 */
import type { ByteRange } from '../domain/page-ranges';

export interface ReadAheadLimits {
  maxCalls: number;
  maxBytes: number;
}

export async function* readAhead(
  read: (range: ByteRange) => Promise<Buffer>,
  ranges: readonly ByteRange[],
  limits: ReadAheadLimits,
): AsyncGenerator<{ range: ByteRange; data: Buffer }> {
  const inFlight: Array<{ range: ByteRange; data: Promise<Buffer> }> = [];
  let bytesInFlight = 0;
  let next = 0;
  const mayStart = (range: ByteRange): boolean =>
    inFlight.length === 0 || (inFlight.length < limits.maxCalls && bytesInFlight + (range.end - range.start) <= limits.maxBytes);
  try {
    while (next < ranges.length || inFlight.length > 0) {
      while (next < ranges.length && mayStart(ranges[next])) {
        const range = ranges[next++];
        const data = read(range);
        data.catch(ignore); // awaited in order below; this only keeps an early rejection from being "unhandled"
        inFlight.push({ range, data });
        bytesInFlight += range.end - range.start;
      }
      const oldest = inFlight[0];
      const data = await oldest.data;
      inFlight.shift();
      bytesInFlight -= oldest.range.end - oldest.range.start;
      yield { range: oldest.range, data };
    }
  } finally {
    await Promise.allSettled(inFlight.map((r) => r.data));
  }
}

function ignore(): void {}
