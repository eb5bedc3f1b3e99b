/**
 * The vault PUT body as the vaults SDK (@azure/arm-recoveryservices, api-version 2024-04-01) sends it:
 * its alert settings (Site Recovery's included) are taken, Resource Guard authorizations are taken (Kluis
 * has no Resource Guards, so they authorize nothing), and what Kluis does not have stays refused.
 */
import { vaultPutBodySchema } from '../../lib/domain/arm/vault-resource';

const parse = (properties: Record<string, unknown>) => vaultPutBodySchema.safeParse({ location: 'westeurope', properties });

describe('the vault PUT body', () => {
  it('takes every alert setting of the vault API', () => {
    const monitoringSettings = {
      azureMonitorAlertSettings: { alertsForAllJobFailures: 'Enabled', alertsForAllReplicationIssues: 'Enabled', alertsForAllFailoverIssues: 'Disabled' },
      classicAlertSettings: { alertsForCriticalOperations: 'Disabled', emailNotificationsForSiteRecovery: 'Enabled' },
    };
    const parsed = parse({ monitoringSettings });
    expect(parsed.success && parsed.data.properties?.monitoringSettings).toEqual(monitoringSettings);
  });

  it('refuses an alert setting that is neither Enabled nor Disabled, and one the API does not have', () => {
    expect(parse({ monitoringSettings: { azureMonitorAlertSettings: { alertsForAllFailoverIssues: 'Sometimes' } } }).success).toBe(false);
    expect(parse({ monitoringSettings: { classicAlertSettings: { alertsForEverything: 'Enabled' } } }).success).toBe(false);
  });

  it('takes Resource Guard operation requests (a list of ids), and still refuses cross-region restore', () => {
    const guard = '/subscriptions/s/resourcegroups/g/providers/Microsoft.DataProtection/resourceGuards/rg1/modifyEncryptionSettings/default';
    expect(parse({ resourceGuardOperationRequests: [guard] }).success).toBe(true);
    expect(parse({ resourceGuardOperationRequests: guard }).success).toBe(false);
    expect(parse({ redundancySettings: { crossRegionRestore: 'Enabled' } }).success).toBe(false);
  });
});
