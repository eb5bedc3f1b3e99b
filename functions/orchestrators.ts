import * as df from 'durable-functions';
import { backupOrchestrator } from '../orchestrations/backup';
import { Orchestrators } from '../orchestrations/contracts';

df.app.orchestration(Orchestrators.Backup, backupOrchestrator);
