/**
 * The spec validator (test/support/arm-spec.ts) on the published specification itself: Azure's own example
 * responses conform, requests route to their operations as ARM routes them, and each kind of deviation a
 * Kluis response could have is caught — an undeclared status, a wrong type, an unknown or missing
 * discriminator, a value outside an enum, a malformed date, a missing required field, a body-less error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { armSpec, checkArmConformance, SPEC_ROOT } from '../support/arm-spec';

const VAULT = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1';
const ITEM = `${VAULT}/backupFabrics/Azure/protectionContainers/IaasVMContainer%3Biaasvmcontainerv2%3Brg%3Bvm1/protectedItems/VM%3Biaasvmcontainerv2%3Brg%3Bvm1`;
const url = (armPath: string) => `http://127.0.0.1:7071/api${armPath}?api-version=2023-06-01`;

interface Example {
  responses: Record<string, { body?: unknown }>;
}

function exampleResponses(): Array<[string, string, number, unknown]> {
  const spec = armSpec();
  return spec.allOperations().flatMap((operation) =>
    Object.entries(operation.examples).flatMap(([title, file]) => {
      let example: Example;
      try {
        example = JSON.parse(readFileSync(path.join(SPEC_ROOT, file), 'utf8')) as Example;
      } catch {
        return []; // examples of operations Kluis does not serve are not kept
      }
      return Object.entries(example.responses).map(([status, response]): [string, string, number, unknown] => [operation.operationId, title, Number(status), response.body]);
    }),
  );
}

describe('the Recovery Services specification as a response validator', () => {
  const spec = armSpec();

  const examples = exampleResponses();
  it('keeps the official examples of the operations Kluis serves', () => {
    expect(examples.length).toBeGreaterThan(60);
  });

  it.each(examples)("accepts Azure's own example response of %s (%s, %d)", (operationId, _title, status, body) => {
    const operation = spec.operation(operationId);
    expect(spec.checkResponse(operation, status, body, body === undefined ? '' : JSON.stringify(body))).toEqual([]);
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
    ['PUT', VAULT, 'Vaults_CreateOrUpdate'],
    ['GET', '/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.RecoveryServices/vaults', 'Vaults_ListBySubscriptionId'],
  ])('routes %s %s to %s', (method, armPath, operationId) => {
    expect(spec.findOperation(method, armPath)?.operationId).toBe(operationId);
  });

  it('finds no operation for a route the spec does not have', () => {
    expect(spec.findOperation('GET', `${VAULT}/backupNothing`)).toBeUndefined();
    expect(spec.findOperation('PATCH', `${VAULT}/backupPolicies/Daily`)).toBeUndefined();
  });

  const policy = {
    id: `${VAULT}/backupPolicies/Daily`,
    name: 'Daily',
    type: 'Microsoft.RecoveryServices/vaults/backupPolicies',
    properties: {
      backupManagementType: 'AzureIaasVM',
      schedulePolicy: { schedulePolicyType: 'SimpleSchedulePolicy', scheduleRunFrequency: 'Daily', scheduleRunTimes: ['2026-01-01T19:00:00Z'] },
      retentionPolicy: {
        retentionPolicyType: 'LongTermRetentionPolicy',
        dailySchedule: { retentionTimes: ['2026-01-01T19:00:00Z'], retentionDuration: { count: 30, durationType: 'Days' } },
      },
      timeZone: 'UTC',
    },
  };
  const item = {
    id: ITEM,
    name: 'VM;iaasvmcontainerv2;rg;vm1',
    properties: {
      protectedItemType: 'Microsoft.Compute/virtualMachines',
      friendlyName: 'vm1',
      protectionState: 'IRPending',
      healthDetails: [{ code: 100001, title: 'Warning (initial backup pending)', message: '…', recommendations: [] }],
    },
  };
  const check = (method: string, armPath: string, status: number, body: unknown) =>
    checkArmConformance(method, url(armPath), status, body, body === undefined ? '' : JSON.stringify(body)).problems;

  it('accepts a conforming policy and item', () => {
    expect(check('PUT', `${VAULT}/backupPolicies/Daily`, 200, policy)).toEqual([]);
    expect(check('GET', ITEM, 200, item)).toEqual([]);
  });

  it('refuses a status code the operation does not declare (policy PUT answers 200 or 202, not 201)', () => {
    expect(check('PUT', `${VAULT}/backupPolicies/Daily`, 201, policy)).toEqual([expect.stringContaining('answered 201, which the specification does not declare')]);
  });

  it('refuses a string where the spec has an integer (healthDetails[].code)', () => {
    const bad = { ...item, properties: { ...item.properties, healthDetails: [{ code: 'InitialBackupPending', title: 't' }] } };
    expect(check('GET', ITEM, 200, bad)).toEqual([expect.stringMatching(/\/properties\/healthDetails\/0\/code must be integer/)]);
  });

  it('validates a polymorphic value as the subtype its discriminator names', () => {
    // timeZone is declared on AzureIaaSVMProtectionPolicy only: as that subtype, a number is wrong.
    const bad = { ...policy, properties: { ...policy.properties, timeZone: 5 } };
    expect(check('PUT', `${VAULT}/backupPolicies/Daily`, 200, bad)).toEqual([expect.stringMatching(/\/properties\/timeZone must be string/)]);
  });

  it('refuses an unknown or a missing discriminator value', () => {
    const unknown = { ...item, properties: { ...item.properties, protectedItemType: 'Microsoft.Compute/virtualMachinez' } };
    expect(check('GET', ITEM, 200, unknown)).toEqual([expect.stringMatching(/\/properties\/protectedItemType must be equal to one of the allowed values/)]);
    const { protectedItemType: _type, ...missing } = item.properties;
    expect(check('GET', ITEM, 200, { ...item, properties: missing })).toEqual([expect.stringMatching(/must have required property 'protectedItemType'/)]);
  });

  it('refuses a value outside an enum, also an extensible (modelAsString) one', () => {
    const bad = { ...item, properties: { ...item.properties, protectionState: 'Sleeping' } };
    expect(check('GET', ITEM, 200, bad)).toEqual([expect.stringMatching(/\/properties\/protectionState must be equal to one of the allowed values .*got "Sleeping"/)]);
  });

  it('refuses a malformed date-time and a missing required field', () => {
    const badTime = { ...policy, properties: { ...policy.properties, schedulePolicy: { ...policy.properties.schedulePolicy, scheduleRunTimes: ['19:00'] } } };
    expect(check('GET', `${VAULT}/backupPolicies/Daily`, 200, badTime)).toEqual([expect.stringMatching(/scheduleRunTimes\/0 must match format "date-time"/)]);
    const vault = { location: 'westeurope', sku: { tier: 'Standard' } };
    expect(check('GET', VAULT, 200, vault)).toEqual([expect.stringMatching(/\/sku must have required property 'name'/)]);
  });

  it('allows null for optional fields and fields the spec does not declare', () => {
    expect(check('GET', ITEM, 200, { ...item, properties: { ...item.properties, lastBackupTime: null, kluisExtra: 1 } })).toEqual([]);
  });

  it('checks error responses against the error envelope, and unknown routes too', () => {
    expect(check('GET', ITEM, 404, { error: { code: 'UserErrorBcmDatasourceNotPresent', message: 'm' } })).toEqual([]);
    expect(check('GET', ITEM, 404, '')).toEqual([expect.stringContaining('without the JSON body')]);
    expect(check('GET', ITEM, 404, { error: { code: 5 } })).toEqual([expect.stringMatching(/\/error\/code must be string/)]);
    expect(check('GET', `${VAULT}/backupNothing`, 404, { error: { code: 'InvalidResourceType', message: 'm' } })).toEqual([]);
    expect(check('GET', `${VAULT}/backupNothing`, 404, '')).toEqual([expect.stringContaining("without ARM's JSON error body")]);
    expect(check('GET', `${VAULT}/backupNothing`, 200, { value: [] })).toEqual([expect.stringContaining('the specification has no such operation')]);
  });

  it('refuses a 204 with a body and a declared body that is missing', () => {
    expect(check('PATCH', `${VAULT}/backupstorageconfig/vaultstorageconfig`, 204, { properties: {} })).toEqual([expect.stringContaining('answered 204 with a body')]);
    expect(check('GET', ITEM, 200, undefined)).toEqual([expect.stringContaining('without the JSON body')]);
  });

  it('leaves requests outside Microsoft.RecoveryServices alone', () => {
    expect(checkArmConformance('GET', 'http://127.0.0.1:7071/fabric/subscriptions/s/resourceGroups/rg/virtualMachines/vm1', 200, {}, '{}').problems).toEqual([]);
  });
});
