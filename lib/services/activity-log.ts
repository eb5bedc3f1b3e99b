/**
 * Recording and reading the activity log (lib/domain/activity-log.ts). Recording never fails a
 * request: a write that fails is reported to the logger and dropped.
 */
import {
  activityMatches,
  activityPartition,
  activityRowKey,
  type ActivityEventRecord,
  type ActivityFilter,
} from '../domain/activity-log';
import type { DocumentStore } from '../stores/document-store';

export interface ActivityLogDeps {
  activityLog: DocumentStore<ActivityEventRecord>;
}

/** At most this many events per list answer (Azure pages; Kluis answers the newest). */
export const ACTIVITY_PAGE_SIZE = 1000;

export async function recordActivity(deps: ActivityLogDeps, event: ActivityEventRecord, onError: (err: unknown) => void): Promise<void> {
  try {
    await deps.activityLog.insert(activityPartition(event.subscriptionId), activityRowKey(new Date(event.time), event.eventId), event);
  } catch (err) {
    onError(err);
  }
}

/** The subscription's events that pass the filter, newest first. */
export async function listActivity(deps: ActivityLogDeps, subscriptionId: string, filter: ActivityFilter): Promise<ActivityEventRecord[]> {
  const events: ActivityEventRecord[] = [];
  for await (const doc of deps.activityLog.list(activityPartition(subscriptionId))) {
    if (Date.parse(doc.value.time) < filter.from.getTime()) break;
    if (activityMatches(doc.value, filter)) events.push(doc.value);
    if (events.length >= ACTIVITY_PAGE_SIZE) break;
  }
  return events;
}
