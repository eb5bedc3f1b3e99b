/**
 * The spec validator (test/support/arm-spec.ts) on the official SDK packages' own specs: the operations are
 * read from the installed packages, requests route to their operations as ARM routes them, Azure-shaped
 * bodies (written here from the SDK mappers) conform, and each kind of deviation a Kluis response could
 * have is caught — an undeclared status, a wrong type, an unknown, missing or foreign discriminator, a value
 * outside an enum or an extensible enum's known values, a malformed date-time or duration, a missing
 * required field, a wrong flattened field, a broken constraint, a body-less error.
 */
import { armSpec, checkArmConformance, type Mapper } from '../support/arm-spec';

const SUB = '00000000-0000-0000-0000-000000000001';
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1`;
const ITEM = `${VAULT}/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3Brg%3Bvm1/protectedItems/VM%3Biaasvmcontainerv2%3Brg%3Bvm1`;
const url = (armPath: string) => `http://127.0.0.1:7071/api${armPath}?api-version=2023-06-01`;
const check = (method: string, armPath: string, status: number, body: unknown) =>
  checkArmConformance(method, url(armPath), status, body, body === undefined ? '' : JSON.stringify(body)).problems;

/** A deep copy with one change. */
function edited<T>(value: T, edit: (copy: T) => void): T {
  const copy = structuredClone(value);
  edit(copy);
  return copy;
}

const policy = {
  id: `${VAULT}/backupPolicies/Daily`,
  name: 'Daily',
  type: 'Microsoft.RecoveryServices/vaults/backupPolicies',
  properties: {
    backupManagementType: 'AzureIaasVM',
    policyType: 'V1',
    instantRpRetentionRangeInDays: 2,
    schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
    retentionPolicy: {
      retentionPolicyType: 'LongTermRetentionPolicy',
      dailySchedule: { retentionTimes: ['2026-01-01T19:00:00Z'], retentionDuration: { count: 30, durationType: 'Days' } },
      weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionTimes: ['2026-01-01T19:00:00Z'], retentionDuration: { count: 12, durationType: 'Weeks' } },
    },
    timeZone: 'UTC',
    protectedItemsCount: 0,
  },
};

const item = {
  id: ITEM,
  name: 'VM;iaasvmcontainerv2;rg;vm1',
  type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems',
  properties: {
    protectedItemType: 'Microsoft.Compute/virtualMachines',
    backupManagementType: 'AzureIaasVM',
    workloadType: 'VM',
    friendlyName: 'vm1',
    virtualMachineId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`,
    protectionStatus: 'Healthy',
    protectionState: 'IRPending',
    healthStatus: 'Passed',
    healthDetails: [{ code: 100001, title: 'Warning (initial backup pending)', message: '…', recommendations: [] }],
    lastBackupStatus: '',
    lastBackupTime: '2026-01-01T19:04:12.512Z',
    isScheduledForDeferredDelete: false,
    extendedInfo: { recoveryPointCount: 0, policyInconsistent: false },
  },
};

const job = {
  id: `${VAULT}/backupJobs/5f9a`,
  name: '5f9a',
  type: 'Microsoft.RecoveryServices/vaults/backupJobs',
  properties: {
    jobType: 'AzureIaaSVMJob',
    entityFriendlyName: 'vm1',
    backupManagementType: 'AzureIaasVM',
    operation: 'Backup',
    status: 'Completed',
    startTime: '2026-01-01T19:00:00Z',
    endTime: '2026-01-01T19:05:30.25Z',
    duration: 'PT5M30.25S',
    actionsInfo: [],
    errorDetails: [{ errorCode: 400001, errorTitle: 'UserErrorGuestAgentStatusUnavailable', errorString: 'm', recommendations: ['r'] }],
    virtualMachineVersion: 'Compute',
    extendedInfo: {
      tasksList: [{ taskId: 'Take Snapshot', status: 'Completed', duration: 'PT1M', progressPercentage: 100 }],
      propertyBag: { 'Backup Size': '10 MB' },
      progressPercentage: 100,
    },
  },
};

const point = {
  id: `${ITEM}/recoveryPoints/123`,
  name: '123',
  type: 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints',
  properties: {
    objectType: 'IaasVMRecoveryPoint',
    recoveryPointType: 'FileSystemConsistent',
    recoveryPointTime: '2026-01-01T19:01:00Z',
    sourceVMStorageType: 'NormalStorage',
    isSourceVMEncrypted: false,
    isInstantIlrSessionActive: false,
    recoveryPointTierDetails: [{ type: 'InstantRP', status: 'Valid' }, { type: 'HardenedRP', status: 'Valid' }],
    isManagedVirtualMachine: true,
    osType: 'Linux',
    recoveryPointDiskConfiguration: { numberOfDisksIncludedInBackup: 1, numberOfDisksAttachedToVm: 1, includedDiskList: [{ lun: -1, name: 'os' }] },
    recoveryPointProperties: { expiryTime: '2026-01-31T19:00:00Z', ruleName: 'DailyRule' },
  },
};

const vault = {
  id: VAULT,
  name: 'v1',
  type: 'Microsoft.RecoveryServices/vaults',
  location: 'westeurope',
  tags: { team: 'backup' },
  etag: 'W/"1"',
  identity: { type: 'SystemAssigned', principalId: '3b4f6a1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b', tenantId: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a' },
  sku: { name: 'Standard' },
  properties: { provisioningState: 'Succeeded', publicNetworkAccess: 'Enabled', monitoringSettings: { azureMonitorAlertSettings: { alertsForAllJobFailures: 'Enabled' } } },
};

describe('the Recovery Services specification of the official SDKs as a response validator', () => {
  const spec = armSpec();

  it('reads the installed SDK packages: their versions, api-versions and operations', () => {
    expect(spec.sources()).toEqual([
      { packageName: '@azure/arm-recoveryservicesbackup', version: '12.0.0', apiVersion: '2023-06-01' },
      { packageName: '@azure/arm-recoveryservices', version: '6.0.0', apiVersion: '2024-04-01' },
    ]);
    expect(spec.allOperations().length).toBeGreaterThan(90);
    expect(spec.operation('ProtectionPolicies_CreateOrUpdate')).toMatchObject({
      method: 'PUT',
      path: '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults/{vaultName}/backupPolicies/{policyName}',
      requestBody: { parameterPath: 'parameters', mapperName: 'ProtectionPolicyResource' },
    });
    expect(Object.keys(spec.operation('ProtectionPolicies_CreateOrUpdate').responses)).toEqual(['200', '202', 'default']);
    expect(spec.operation('ProtectedItems_Get').responses['200'].mapperName).toBe('ProtectedItemResource');
    expect(() => spec.operation('ProtectionPolicies_Patch')).toThrow(/no operation/);
  });

  it.each([
    ['PUT', `${VAULT}/backupPolicies/Daily`, 'ProtectionPolicies_CreateOrUpdate'],
    ['GET', `${VAULT}/backupJobs/5f9a`, 'JobDetails_Get'],
    ['GET', `${VAULT}/backupJobs/operationResults/5f9a`, 'ExportJobsOperationResults_Get'],
    ['GET', `${VAULT}/backupJobs/5f9a/operationResults/77`, 'JobOperationResults_Get'],
    ['GET', `${ITEM}/operationsStatus/77`, 'ProtectedItemOperationStatuses_Get'],
    ['GET', `${ITEM}/operationResults/77`, 'ProtectedItemOperationResults_Get'],
    ['GET', `${VAULT}/backupFabrics/Azure/operationResults/77`, 'ProtectionContainerRefreshOperationResults_Get'],
    ['GET', `${VAULT}/BACKUPSTORAGECONFIG/vaultstorageconfig`, 'BackupResourceStorageConfigsNonCRR_Get'],
    ['PATCH', `${VAULT}/backupstorageconfig/vaultstorageconfig`, 'BackupResourceStorageConfigsNonCRR_Patch'],
    ['PUT', VAULT, 'Vaults_CreateOrUpdate'],
    ['GET', `/subscriptions/${SUB}/providers/Microsoft.RecoveryServices/vaults`, 'Vaults_ListBySubscriptionId'],
  ])('routes %s %s to %s', (method, armPath, operationId) => {
    expect(spec.findOperation(method, armPath)?.operationId).toBe(operationId);
  });

  it('finds no operation for a route the spec does not have', () => {
    expect(spec.findOperation('GET', `${VAULT}/backupNothing`)).toBeUndefined();
    expect(spec.findOperation('PATCH', `${VAULT}/backupPolicies/Daily`)).toBeUndefined();
  });

  describe('Azure-shaped bodies', () => {
    it.each([
      ['a policy', 'PUT', `${VAULT}/backupPolicies/Daily`, 200, policy],
      ['an Enhanced hourly policy', 'GET', `${VAULT}/backupPolicies/Hourly`, 200, edited(policy, (p) => {
        Object.assign(p.properties, { policyType: 'V2', instantRpRetentionRangeInDays: 7 });
        (p.properties as Record<string, unknown>).schedulePolicy = {
          schedulePolicyType: 'SimpleSchedulePolicyV2',
          scheduleRunFrequency: 'Hourly',
          hourlySchedule: { interval: 4, scheduleWindowStartTime: '2026-01-01T08:00:00Z', scheduleWindowDuration: 16 },
        };
      })],
      ['a list of policies', 'GET', `${VAULT}/backupPolicies`, 200, { value: [policy] }],
      ['a protected item', 'GET', ITEM, 200, item],
      ['a job', 'GET', `${VAULT}/backupJobs/5f9a`, 200, job],
      ['a recovery point', 'GET', `${ITEM}/recoveryPoints/123`, 200, point],
      ['a vault', 'GET', VAULT, 200, vault],
      ['a created vault', 'PUT', VAULT, 201, vault],
      ['an operation status with its job', 'GET', `${ITEM}/operationsStatus/77`, 200, {
        id: '77',
        name: '77',
        status: 'Succeeded',
        startTime: '2026-01-01T19:00:00Z',
        endTime: '2026-01-01T19:00:01Z',
        properties: { objectType: 'OperationStatusJobExtendedInfo', jobId: '5f9a' },
      }],
      ['a storage config', 'GET', `${VAULT}/backupstorageconfig/vaultstorageconfig`, 200, {
        id: `${VAULT}/backupstorageconfig/vaultstorageconfig`,
        name: 'vaultstorageconfig',
        properties: { storageModelType: 'GeoRedundant', storageType: 'GeoRedundant', storageTypeState: 'Unlocked', crossRegionRestoreFlag: false },
      }],
      ['an error', 'GET', ITEM, 404, { error: { code: 'UserErrorBcmDatasourceNotPresent', message: 'm', target: 't', details: [] } }],
    ])('accepts %s', (_what, method, armPath, status, body) => {
      expect(check(method, armPath, status, body)).toEqual([]);
    });

    it('allows null for optional fields and fields the spec does not declare', () => {
      expect(check('GET', ITEM, 200, edited(item, (i) => Object.assign(i.properties, { lastBackupTime: null, kluisExtra: 1 })))).toEqual([]);
    });

    it('allows a 202 without a body, and a body-less 204 where the operation declares it', () => {
      expect(check('PUT', `${VAULT}/backupPolicies/Daily`, 202, undefined)).toEqual([]);
      expect(check('PATCH', `${VAULT}/backupstorageconfig/vaultstorageconfig`, 204, undefined)).toEqual([]);
    });
  });

  describe('deviations', () => {
    it('refuses a status code the operation does not declare (policy PUT answers 200 or 202, not 201)', () => {
      expect(check('PUT', `${VAULT}/backupPolicies/Daily`, 201, policy)).toEqual([expect.stringContaining('answered 201, which the specification does not declare (it declares 200, 202, default)')]);
    });

    it.each([
      ['a string where the spec has a number', edited(item, (i) => ((i.properties.healthDetails[0] as Record<string, unknown>).code = 'InitialBackupPending')), /\/properties\/healthDetails\/0\/code must be a number, got "InitialBackupPending"/],
      ['a string where the spec has a boolean', edited(item, (i) => ((i.properties as Record<string, unknown>).isScheduledForDeferredDelete = 'no')), /\/properties\/isScheduledForDeferredDelete must be a boolean/],
      ['an object where the spec has an array', edited(item, (i) => ((i.properties as Record<string, unknown>).healthDetails = { code: 1 })), /\/properties\/healthDetails must be an array/],
      ['a string where the spec has an object', edited(item, (i) => ((i.properties as Record<string, unknown>).extendedInfo = 'none')), /\/properties\/extendedInfo must be an object \(AzureIaaSVMProtectedItemExtendedInfo\)/],
      ['a value outside an extensible enum’s known values', edited(item, (i) => (i.properties.protectionState = 'Sleeping')), /\/properties\/protectionState must be one of the known values \[.*"IRPending".*\], got "Sleeping"/],
      ['a malformed date-time', edited(item, (i) => (i.properties.lastBackupTime = '2026-01-01 19:04')), /\/properties\/lastBackupTime must be a date-time/],
      ['a date-time without a zone', edited(item, (i) => (i.properties.lastBackupTime = '2026-01-01T19:04:12')), /\/properties\/lastBackupTime must be a date-time/],
      ['an unknown discriminator value', edited(item, (i) => (i.properties.protectedItemType = 'Microsoft.Compute/virtualMachinez')), /\/properties\/protectedItemType "Microsoft\.Compute\/virtualMachinez" names no ProtectedItem the specification knows \(.*Microsoft\.Compute\/virtualMachines.*\)/],
      ['a missing discriminator', edited(item, (i) => delete (i.properties as Partial<typeof i.properties>).protectedItemType), /\/properties must have the discriminator 'protectedItemType' of ProtectedItem, got undefined/],
    ])('refuses %s', (_what, body, problem) => {
      expect(check('GET', ITEM, 200, body)).toEqual([expect.stringMatching(problem)]);
    });

    it('validates a polymorphic value as the subtype its discriminator names, nested ones too', () => {
      // timeZone is declared on AzureIaaSVMProtectionPolicy only: as that subtype, a number is wrong.
      expect(check('GET', `${VAULT}/backupPolicies/Daily`, 200, edited(policy, (p) => ((p.properties as Record<string, unknown>).timeZone = 5)))).toEqual([
        expect.stringMatching(/\/properties\/timeZone must be a string, got 5/),
      ]);
      // scheduleRunTimes of the nested SimpleSchedulePolicy
      expect(check('GET', `${VAULT}/backupPolicies/Daily`, 200, edited(policy, (p) => (p.properties.schedulePolicy.scheduleRunTimes = ['19:00'])))).toEqual([
        expect.stringMatching(/\/properties\/schedulePolicy\/scheduleRunTimes\/0 must be a date-time/),
      ]);
      expect(check('GET', `${VAULT}/backupPolicies/Daily`, 200, edited(policy, (p) => (p.properties.retentionPolicy.retentionPolicyType = 'ForeverRetentionPolicy')))).toEqual([
        expect.stringMatching(/\/properties\/retentionPolicy\/retentionPolicyType "ForeverRetentionPolicy" names no RetentionPolicy/),
      ]);
    });

    it('refuses a subtype from elsewhere in the hierarchy where the declared type is a subtype', () => {
      const problems = spec.checkValue('@azure/arm-recoveryservicesbackup', { type: { name: 'Composite', className: 'AzureIaaSVMProtectedItem' } }, { protectedItemType: 'AzureFileShareProtectedItem' });
      expect(problems).toEqual([expect.stringMatching(/\/protectedItemType "AzureFileShareProtectedItem" is a AzureFileshareProtectedItem, which is not a AzureIaaSVMProtectedItem/)]);
    });

    it('refuses a value outside an enum’s allowedValues', () => {
      const bad = edited(point, (p) => (p.properties.recoveryPointTierDetails[1].type = 'VaultStandard'));
      expect(check('GET', `${ITEM}/recoveryPoints/123`, 200, bad)).toEqual([expect.stringMatching(/\/properties\/recoveryPointTierDetails\/1\/type must be one of \["Invalid","InstantRP","HardenedRP","ArchivedRP"\], got "VaultStandard"/)]);
    });

    it('refuses a duration that is not ISO 8601, and a dictionary value of the wrong type', () => {
      expect(check('GET', `${VAULT}/backupJobs/5f9a`, 200, edited(job, (j) => (j.properties.duration = '00:05:30')))).toEqual([expect.stringMatching(/\/properties\/duration must be an ISO 8601 duration, got "00:05:30"/)]);
      expect(check('GET', `${VAULT}/backupJobs/5f9a`, 200, edited(job, (j) => ((j.properties.extendedInfo.propertyBag as Record<string, unknown>)['Backup Size'] = 10)))).toEqual([
        expect.stringMatching(/\/properties\/extendedInfo\/propertyBag\/Backup Size must be a string, got 10/),
      ]);
    });

    it('refuses a missing required field, also one sent as null', () => {
      expect(check('GET', VAULT, 200, edited(vault, (v) => delete (v.sku as Partial<typeof v.sku>).name))).toEqual([expect.stringMatching(/\/sku must have required property 'name'/)]);
      expect(check('GET', VAULT, 200, edited(vault, (v) => ((v.sku as Record<string, unknown>).name = null)))).toEqual([expect.stringMatching(/\/sku must have required property 'name'/)]);
    });

    it('follows flattened properties (serializedName properties.x)', () => {
      const ref = spec.definitionRef('arm-recoveryservices', 'PrivateLinkResource');
      expect(spec.check(ref, { id: 'x', name: 'backup', properties: { groupId: 'AzureBackup', requiredMembers: ['m1'] } })).toEqual([]);
      expect(spec.check(ref, { properties: { groupId: 5 } })).toEqual([expect.stringMatching(/^\/properties\/groupId must be a string, got 5$/)]);
    });

    it('checks constraints, constants and the other scalar types', () => {
      const composite = (modelProperties: Record<string, Mapper>): Mapper => ({ type: { name: 'Composite', className: 'Synthetic', modelProperties } });
      const number = (constraints: Mapper['constraints']): Mapper => ({ serializedName: 'n', type: { name: 'Number' }, constraints });
      const run = (mapper: Mapper, value: unknown) => spec.checkValue('@azure/arm-recoveryservicesbackup', mapper, value);
      expect(run(composite({ n: number({ InclusiveMinimum: 1, InclusiveMaximum: 9999 }) }), { n: 10000 })).toEqual(['/n must be at most 9999, got 10000']);
      expect(run(composite({ n: number({ InclusiveMinimum: 1 }) }), { n: 0 })).toEqual(['/n must be at least 1, got 0']);
      expect(run(composite({ n: number({ ExclusiveMaximum: 5, MultipleOf: 2 }) }), { n: 5 })).toEqual(['/n must be below 5, got 5', '/n must be a multiple of 2, got 5']);
      const text: Mapper = { serializedName: 's', type: { name: 'String' }, constraints: { MinLength: 2, MaxLength: 4, Pattern: /^[a-z]+$/ } };
      expect(run(composite({ s: text }), { s: 'abcde' })).toEqual(['/s must be at most 4 characters long, got 5']);
      expect(run(composite({ s: text }), { s: 'A1' })).toEqual([expect.stringMatching(/^\/s must match/)]);
      const list: Mapper = { serializedName: 'l', type: { name: 'Sequence', element: { type: { name: 'String' } } }, constraints: { MinItems: 1, UniqueItems: true } };
      expect(run(composite({ l: list }), { l: [] })).toEqual(['/l must have at least 1 items, got 0']);
      expect(run(composite({ l: list }), { l: ['a', 'a'] })).toEqual(['/l must not repeat an item']);
      const constant: Mapper = { serializedName: 'c', isConstant: true, defaultValue: 'fixed', type: { name: 'String' } };
      expect(run(composite({ c: constant }), { c: 'other' })).toEqual(['/c must be "fixed", got "other"']);
      expect(run({ type: { name: 'Uuid' } }, 'not-a-uuid')).toEqual(['(body) must be a UUID, got "not-a-uuid"']);
      expect(run({ type: { name: 'Date' } }, '2026-01-01T00:00:00Z')).toEqual(['(body) must be a date (YYYY-MM-DD), got "2026-01-01T00:00:00Z"']);
      expect(run({ type: { name: 'Dictionary', value: { type: { name: 'String' } } } }, ['a'])).toEqual(['(body) must be an object (a dictionary), got ["a"]']);
      expect(run({ type: { name: 'Object' } }, ['anything'])).toEqual([]);
    });

    it('checks error responses against the error envelope, and unknown routes too', () => {
      expect(check('GET', ITEM, 404, '')).toEqual([expect.stringContaining('without the JSON body')]);
      expect(check('GET', ITEM, 404, { error: { code: 5 } })).toEqual([expect.stringMatching(/\/error\/code must be a string, got 5/)]);
      expect(check('GET', `${VAULT}/backupNothing`, 404, { error: { code: 'InvalidResourceType', message: 'm' } })).toEqual([]);
      expect(check('GET', `${VAULT}/backupNothing`, 404, '')).toEqual([expect.stringContaining("without ARM's JSON error body")]);
      expect(check('GET', `${VAULT}/backupNothing`, 200, { value: [] })).toEqual([expect.stringContaining('the specification has no such operation')]);
    });

    it('refuses a 204 with a body and a declared body that is missing', () => {
      expect(check('PATCH', `${VAULT}/backupstorageconfig/vaultstorageconfig`, 204, { properties: {} })).toEqual([expect.stringContaining('answered 204 with a body')]);
      expect(check('GET', ITEM, 200, undefined)).toEqual([expect.stringContaining('without the JSON body')]);
    });
  });

  it('leaves requests outside Microsoft.RecoveryServices alone', () => {
    expect(checkArmConformance('GET', 'http://127.0.0.1:7071/fabric/subscriptions/s/resourceGroups/rg/virtualMachines/vm1', 200, {}, '{}').problems).toEqual([]);
  });
});
