/** The seed's connectivity × subscription table (004), every row, with a fake clock for the 15 days. */
import { allowedOperations, connectivityOf, serverSubscriptionState, type Connectivity, type ServerSubscriptionState } from '../../lib/domain/backup-server/connectivity';

const A = 'Allowed';
const S = 'Stopped';
// Connectivity | subscription | backup to Azure | backup to disk | restore from Azure | restore from disk | Azure points deleted
const TABLE: Array<[Connectivity, ServerSubscriptionState, string, string, string, string, boolean]> = [
  ['Connected', 'Active', A, A, A, A, false],
  ['Connected', 'Expired', S, S, A, A, false],
  ['Connected', 'Deprovisioned', S, S, S, S, true],
  ['Disconnected', 'Active', S, S, A, A, false],
  ['Disconnected', 'Expired', S, S, A, A, false],
  ['Disconnected', 'Deprovisioned', S, S, S, S, true],
];

describe('connectivity × subscription (seed 004)', () => {
  it.each(TABLE)('%s, %s: backup to Azure %s, to disk %s; restore from Azure %s, from disk %s; Azure points deleted: %s', (c, s, toAzure, toDisk, fromAzure, fromDisk, deleted) => {
    expect(allowedOperations(c, s)).toEqual({ backupToAzure: toAzure, backupToDisk: toDisk, restoreFromAzure: fromAzure, restoreFromDisk: fromDisk, azureRecoveryPointsDeleted: deleted });
  });

  it('is Disconnected only after more than 15 days without a check-in', () => {
    const checkIn = '2026-12-01T08:00:00.000Z';
    const at = (ms: number) => new Date(Date.parse(checkIn) + ms);
    expect(connectivityOf(checkIn, at(15 * 86_400_000))).toBe('Connected');
    expect(connectivityOf(checkIn, at(15 * 86_400_000 + 1))).toBe('Disconnected');
    expect(connectivityOf(undefined, at(0))).toBe('Disconnected');
  });

  it("maps ARM's subscription states to the seed's", () => {
    expect(['Enabled', 'Warned', 'PastDue', 'Disabled', 'Deleted'].map((s) => serverSubscriptionState(s as never))).toEqual(['Active', 'Active', 'Active', 'Expired', 'Deprovisioned']);
  });
});
