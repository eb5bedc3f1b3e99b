import * as df from 'durable-functions';
import { BACKUP_SERVER_GROUP_RUN, backupServerGroupRunOrchestrator } from '../../orchestrations/backup-server-group-run';

df.app.orchestration(BACKUP_SERVER_GROUP_RUN, backupServerGroupRunOrchestrator);
