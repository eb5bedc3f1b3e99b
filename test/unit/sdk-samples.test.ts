/**
 * The official examples as the SDK packages ship them (test/support/sdk-samples.ts): each sample names its
 * x-ms-original-file and the client method it calls, its arguments are read as literal data (never run),
 * and the client method maps to the operation the SDK sends (test/support/arm-spec.ts).
 */
import ts from 'typescript';
import { armSpec } from '../support/arm-spec';
import { sdkSamples } from '../support/sdk-samples';
import { literalValue } from '../support/sdk-spec-source';

const expression = (code: string) => (ts.createSourceFile('x.js', `(${code});`, ts.ScriptTarget.Latest, true).statements[0] as ts.ExpressionStatement).expression;

describe('the SDK samples', () => {
  const backup = sdkSamples('@azure/arm-recoveryservicesbackup');
  const vaults = sdkSamples('@azure/arm-recoveryservices');

  it('are one per official example of the packages’ api-versions', () => {
    expect(backup.length).toBeGreaterThan(100);
    expect(backup.every((s) => s.originalFile.startsWith('specification/recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/stable/2023-06-01/examples/'))).toBe(true);
    expect(vaults.every((s) => s.originalFile.startsWith('specification/recoveryservices/resource-manager/Microsoft.RecoveryServices/stable/2024-04-01/examples/'))).toBe(true);
    expect(new Set(backup.map((s) => s.originalFile)).size).toBe(backup.length);
  });

  it("read a sample's call and its literal arguments, dates as dates and environment lookups as their defaults", () => {
    const daily = backup.find((s) => s.example === 'AzureIaasVm/V2Policy/IaaS_v2_daily.json')!;
    expect(daily).toMatchObject({ group: 'protectionPolicies', method: 'createOrUpdate', file: 'dist-esm/samples-dev/protectionPoliciesCreateOrUpdateSample.js' });
    expect(daily.args.map((a) => a.name)).toEqual(['vaultName', 'resourceGroupName', 'policyName', 'parameters']);
    expect(daily.args.slice(0, 3).map((a) => a.value)).toEqual(['NetSDKTestRsVault', 'SwaggerTestRg', 'v2-daily-sample']);
    const parameters = daily.args[3].value as { properties: { retentionPolicy: { dailySchedule: { retentionTimes: unknown[] } }; schedulePolicy: { schedulePolicyType: string } } };
    expect(parameters.properties.retentionPolicy.dailySchedule.retentionTimes).toEqual([new Date('2021-12-17T08:00:00Z')]);
    expect(parameters.properties.schedulePolicy.schedulePolicyType).toBe('SimpleSchedulePolicyV2');
  });

  it('leave arguments that are not literal data unread, and say why', () => {
    const certificate = vaults.find((s) => s.example === 'PUTVaultCred.json')!;
    expect(certificate.args).toEqual([]);
    expect(certificate.unreadable).toMatch(/not literal data \(CallExpression Buffer\.from/);
  });

  it.each([
    ['@azure/arm-recoveryservicesbackup', 'protectionPolicies.createOrUpdate', 'ProtectionPolicies_CreateOrUpdate'],
    ['@azure/arm-recoveryservicesbackup', 'restores.beginTriggerAndWait', 'Restores_Trigger'],
    ['@azure/arm-recoveryservicesbackup', 'resourceGuardProxies.list', 'ResourceGuardProxies_Get'],
    ['@azure/arm-recoveryservicesbackup', 'beginBMSPrepareDataMoveAndWait', 'BMSPrepareDataMove'],
    ['@azure/arm-recoveryservices', 'vaults.beginCreateOrUpdateAndWait', 'Vaults_CreateOrUpdate'],
  ] as const)('map %s %s to %s', (packageName, clientMethod, operationId) => {
    expect(armSpec().operationOfClientMethod(packageName, clientMethod)?.operationId).toBe(operationId);
  });

  it('map every sample to an operation', () => {
    const unmapped = [...backup, ...vaults].filter((s) => armSpec().operationOfClientMethod(s.packageName, s.group === '' ? s.method : `${s.group}.${s.method}`) === undefined);
    expect(unmapped.map((s) => `${s.group}.${s.method}`)).toEqual([]);
  });
});

describe('literalValue', () => {
  it('evaluates literal data', () => {
    expect(literalValue(expression('{ a: 1, "b-c": [true, null, -2], d: { e: "x" }, f: new Date("2026-01-01T00:00:00Z") }'))).toEqual({
      a: 1,
      'b-c': [true, null, -2],
      d: { e: 'x' },
      f: new Date('2026-01-01T00:00:00Z'),
    });
  });

  it.each(['{ a: require("fs") }', '{ a: process.env.HOME }', '{ ...other }', '`${x}`', '{ a: () => 1 }', 'new Function("return 1")'])('refuses %s', (code) => {
    expect(() => literalValue(expression(code))).toThrow(/not literal data/);
  });
});
