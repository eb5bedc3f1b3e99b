import * as df from 'durable-functions';
import { Activities, type StorageCapabilitiesSummary } from '../../orchestrations/contracts';
import { probeSourceStorage } from '../deps';

df.app.activity(Activities.ProbeStorage, {
  handler: (): Promise<StorageCapabilitiesSummary> => probeSourceStorage(),
});
