/**
 * The backup server part of `npm start` (issue 16): one server next to the demo vault, so the tier shows on a fresh
 * clone. Over the same public paths an operator uses: it downloads a vault credentials file (VaultCertificates_Create),
 * registers the server with it under a generated passphrase (printed once, never stored), protects a small sample
 * folder tree (local points kept 5 days, a daily online copy kept 30 days), takes the first local point and copies it
 * to the vault, and prints what it did and the kluis-server commands to try. A later start finds the server and says
 * so (its passphrase is the operator's; the demo never kept it).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VaultRef } from '../../lib/domain/arm-names';
import type { RunReport } from '../../lib/backup-server/server/backup-server';
import type { ProtectionGroup } from '../../lib/backup-server/domain/protection-group';
import { backupServerAt } from '../backup-server/server-at';
import { shown } from './demo-storage';
import { downloadVaultCredentials, writeVaultCredentials } from '../backup-server/vault-credentials-download';
import type { ArmClient } from './arm-client';

export const DEMO_SERVER_NAME = 'kluis-server01.kluis.local';
const GROUP = 'SampleFiles';

type Say = (line?: string) => void;

export interface ServerTourOptions {
  vault: VaultRef;
  /** The server's data folder (kluis-server --data): state, identity key, the encrypted local copies. */
  dataDir: string;
  /** The sample folder tree it protects (written when absent). */
  sampleDir: string;
  /** How `kluis-server` is run, for the printed commands. */
  command: string;
}

export interface ServerTourResult {
  failures: number;
}

/** A few folders and files, small and of several kinds, for the server to protect. */
export function writeSampleTree(root: string): void {
  const files: Record<string, string | Buffer> = {
    'docs/README.txt': 'Files on a machine outside Azure, protected by the Kluis backup server.\n',
    'docs/reports/2026-q3.csv': Array.from({ length: 400 }, (_, i) => `${i},${(i * 37) % 1000},${i % 7 === 0 ? 'review' : 'ok'}`).join('\n') + '\n',
    'config/app.json': `${JSON.stringify({ name: 'sample-app', port: 8080, features: ['backup', 'restore'] }, null, 2)}\n`,
    'data/blob.bin': Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 2654435761) >>> 24)),
  };
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

function reportLines(report: RunReport): string[] {
  return [
    ...report.backups.map((b) => `  Local point ${b.snapshotId} of ${b.group}: ${b.newChunkBytes} new bytes (encrypted, on the server's disk)`),
    ...report.vaultCopies.map((c) => `  Vault copy of ${c.snapshotId}: ${c.chunksCopied} chunks sent (encrypted before they left the server)`),
    ...(report.stopped === undefined ? [] : [`  ${report.stopped}`]),
    ...(report.vaultCopyError === undefined ? [] : [`  ✖ Online copy failed: ${report.vaultCopyError}`]),
  ];
}

export async function runServerTour(client: ArmClient, say: Say, options: ServerTourOptions): Promise<ServerTourResult> {
  const { vault, dataDir, sampleDir, command } = options;
  const server = backupServerAt(dataDir);
  const data = `--data ${shown(dataDir)}`;
  say(`Backup server ${DEMO_SERVER_NAME} (machines outside Azure: local copies first, the vault second; data in ${shown(dataDir)})`);
  const existing = await server.readState();
  if (existing !== undefined) {
    say(`  registered with ${existing.vault.vaultName} since ${existing.registeredAt} (kept from an earlier run); ${existing.groups.length} protection group(s), ${(existing.vaultPoints ?? []).length} point(s) in the vault`);
    say(`  Its passphrase was shown once at the first start; this machine unlocks it without (${command} run ${data}; ${command} forget-key ${data} ends that).`);
    return { failures: 0 };
  }
  if (!existsSync(sampleDir)) writeSampleTree(sampleDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const credentials = await downloadVaultCredentials(client, vault);
  const credentialsFile = path.join(dataDir, credentials.fileName);
  writeVaultCredentials(credentialsFile, credentials.text);
  say(`  Vault credentials downloaded: ${shown(credentialsFile)} (valid 48 hours)`);
  const registered = await server.register({ credentialsFile: credentials.text, serverName: DEMO_SERVER_NAME, rememberKey: true });
  say(`  Registered with ${vault.vaultName} as ${registered.engine.properties.backupEngineType} (backupManagementType ${registered.engine.properties.backupManagementType})`);
  say('  Encryption passphrase — shown once, never stored: without it no backup of this server can be read, by anyone:');
  say(`    ${registered.generatedPassphrase ?? ''}`);
  say(`  This machine keeps the key wrapped with its own machine key (${shown(path.join(dataDir, 'server', 'machine-key'))}, owner-only), so the server restarts unattended.`);
  const group: ProtectionGroup = {
    name: GROUP,
    sources: [{ name: sampleDir, path: sampleDir }],
    shortTerm: { retentionDays: 5, dailyAt: '22:00' },
    online: { dailyAt: '23:00', retentionDays: 30 },
  };
  await server.protect(group);
  say(`  Protection group ${GROUP}: ${shown(sampleDir)} — a local point daily at 22:00 UTC kept 5 days, a vault copy daily at 23:00 UTC kept 30 days`);
  await server.unlock(registered.generatedPassphrase ?? '');
  const report = await server.runDue();
  reportLines(report).forEach((line) => say(line));
  const failures = report.backups.length === 0 || report.vaultCopies.length === 0 || report.vaultCopyError !== undefined ? 1 : 0;
  say("  Try (on this machine no passphrase is needed; elsewhere put it in KLUIS_SERVER_PASSPHRASE):");
  say(`    ${command} points ${data}`);
  say(`    ${command} restore ${data} --snapshot ${report.backups[0]?.snapshotId ?? '<id>'} --target /tmp/kluis-restore --path docs/README.txt`);
  say(`    ${command} run ${data}          (keeps taking the daily points; npm start -- --role server does the same)`);
  return { failures };
}
