/**
 * POST `{vault}/check` (Kluis's own; Azure Backup has no such action): `kluis check` of the vault — the catalog,
 * manifests and blobs of every item, `readData` to re-read and verify every block, `repair` to remove orphans
 * (nothing else is ever changed). Answers 200 with the report; `healthy: false` when a problem remains.
 */
import { z } from 'zod';
import { checkVault } from '../../../lib/services/vault-check';
import { engineDeps, vaultCatalog } from '../../deps';
import { armRoute, ok, VAULT_ROUTE, vaultRefOf } from './route';

const checkRequestSchema = z
  .object({
    properties: z.object({ readData: z.boolean().optional(), repair: z.boolean().optional() }).strict().optional(),
  })
  .strict();

armRoute<z.infer<typeof checkRequestSchema>>({
  operationId: 'Vaults_Check',
  method: 'POST',
  route: `${VAULT_ROUTE}/check`,
  summary:
    "Checks the vault (Kluis's `kluis check`): every recovery point's catalog row, manifest, replica snapshots, checksums and instant-restore snapshots, and orphan blobs; `readData` re-reads every block and verifies its checksum; `repair` removes orphans only.",
  tag: 'Vaults',
  // Azure has no check action: the vault's validate action is the nearest (Backup Operator and Contributor hold it,
  // Reader does not); repair deletes only blobs no recovery point names.
  action: 'Microsoft.RecoveryServices/Vaults/backupValidateOperation/action',
  body: checkRequestSchema,
  bodyOptional: true,
  responses: { 200: 'The check report (healthy, problems).', 404: 'No such vault.' },
  // Its work grows with the vault (readData re-reads every block); each storage call is still bounded by the SDK layer.
  deadline: 'none',
  handler: async ({ params, body, context }) => {
    const engine = engineDeps(context);
    const report = await checkVault(
      { catalog: vaultCatalog(), data: { vault: engine.vault, vaultContainer: engine.vaultContainer, catalog: engine.catalog, sources: engine.sources }, clock: engine.clock },
      vaultRefOf(params),
      { readData: body.properties?.readData === true, repair: body.properties?.repair === true },
    );
    context.info(`Checked vault ${params.vaultName}: ${report.problems.length} problem(s) in ${report.recoveryPoints} recovery point(s).`);
    return ok(report);
  },
});
