/** A backup server on a local data folder: the factory lives in lib (the app's server role uses it too). */
export { backupServerAt, directAgentAt, isDirectMode } from '../../lib/stores/backup-server-data-folder';
