/**
 * The activity log as Azure Monitor serves it:
 * `GET /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values?$filter=eventTimestamp ge '…'`
 * — who did what in the subscription, when, with what result (every write and every refused request;
 * lib/domain/activity-log.ts has the shape). Reading it needs Microsoft.Insights/eventtypes/values/read
 * at the subscription (Reader, Contributor, Owner).
 */
import { activityEventResource, parseActivityFilter } from '../../../lib/domain/activity-log';
import { listActivity } from '../../../lib/services/activity-log';
import { activityLogDeps } from '../../deps';
import { armRoute, list } from './route';

armRoute({
  operationId: 'ActivityLogs_List',
  action: 'Microsoft.Insights/eventtypes/values/read',
  method: 'GET',
  route: 'subscriptions/{subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values',
  summary:
    "The subscription's activity log, newest first: $filter=eventTimestamp ge '…' [and eventTimestamp le '…'] [and resourceGroupName eq '…' | resourceUri eq '…' | caller eq '…' | correlationId eq '…'].",
  tag: 'Activity log',
  scope: 'subscription',
  responses: { 200: 'The events, in `value`.', 400: 'No start time, or an unsupported $filter.' },
  handler: async ({ params, query }) => {
    const events = await listActivity(activityLogDeps(), params.subscriptionId ?? '', parseActivityFilter(query.get('$filter')));
    return list(events.map(activityEventResource));
  },
});
