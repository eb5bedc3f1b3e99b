/**
 * A backup policy as Microsoft.RecoveryServices shows it (`vaults/backupPolicies`, an
 * `AzureIaasVMProtectionPolicy`), and the zod schema of its PUT body.
 *
 * The response keeps to Azure's shape; the one Kluis-only property, `kluisRestoreDrill` (restore-drill.ts), appears
 * only on a policy that sets it, and Azure's clients ignore it. A readable schedule ("Daily at
 * 19:00 (UTC)") is backup-schedule.ts's describeSchedule(), for the CLI and the dashboard.
 */
import { z } from 'zod';
import { POLICY_RESOURCE_TYPE } from '../arm-names';
import type { PolicyRecord, VaultRecord } from '../catalog';
import { iaasVmPolicyPropertiesSchema, type IaasVmPolicyProperties } from '../policy';

/** Body of PUT `{vault}/backupPolicies/{name}`; read-only fields of a GET body are accepted and ignored. */
export const policyPutBodySchema = z
  .object({
    properties: iaasVmPolicyPropertiesSchema,
    id: z.string().optional(),
    name: z.string().optional(),
    type: z.string().optional(),
    eTag: z.string().optional(),
    location: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type PolicyPutBody = z.infer<typeof policyPutBodySchema>;

export interface PolicyResource {
  id: string;
  name: string;
  type: typeof POLICY_RESOURCE_TYPE;
  properties: IaasVmPolicyProperties & { protectedItemsCount: number };
}

export function policyResource(vault: Pick<VaultRecord, 'id'>, policy: PolicyRecord, protectedItemsCount: number): PolicyResource {
  return {
    id: `${vault.id}/backupPolicies/${policy.name}`,
    name: policy.name,
    type: POLICY_RESOURCE_TYPE,
    properties: { ...structuredClone(policy.properties), protectedItemsCount },
  };
}
