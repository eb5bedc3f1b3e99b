/**
 * POST /api/backups and GET /api/backups/{instanceId} through the embedded host running this app
 * (built into dist/), on Azurite: the same registrations `func start` would load.
 */
import { createHash } from 'node:crypto';
import { createSampleVhd } from '../../emulator/sample-disk';
import type { SliceManifest } from '../../lib/domain/backup-slice';
import type { BackupOutput } from '../../orchestrations/contracts';
import { blobService, uniqueName, useAzurite } from '../support/azurite';
import { http, REPO_ROOT, sleep, startHostProcess, type HostProcess } from '../support/host-process';

const MIB = 1024 * 1024;

interface BackupStatus {
  id: string;
  runtimeStatus: string;
  customStatus?: { stage: string };
  output?: BackupOutput;
  error?: { code: string; message: string };
}

interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string };
}

const azurite = useAzurite();

describe('backups over HTTP (embedded host)', () => {
  let host: HostProcess;
  const vaultContainer = uniqueName('vault');

  beforeAll(async () => {
    host = await startHostProcess({
      app: REPO_ROOT,
      storage: azurite().connectionString,
      hubName: `Backup${Date.now().toString(36)}`,
      env: { KLUIS_VAULT_CONTAINER: vaultContainer, KLUIS_SOURCE_STORAGE: '', KLUIS_VAULT_STORAGE: '' },
    });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  async function waitForBackup(id: string, timeoutInMs = 30_000): Promise<BackupStatus> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const response = await http<BackupStatus>(`${host.origin}/api/backups/${id}`);
      expect(response.status).toBe(200);
      if (['Completed', 'Failed', 'Terminated'].includes(response.body.runtimeStatus)) return response.body;
      if (Date.now() > deadline) throw new Error(`backup ${id} still ${response.text}\n${host.outputTail()}`);
      await sleep(100);
    }
  }

  it('backs up a sample disk: 202 with status URLs, then Completed with the recovery point', async () => {
    const service = blobService(azurite().connectionString);
    const sourceContainer = uniqueName('disks');
    await createSampleVhd(service, { container: sourceContainer, blob: 'vm1/os.vhd', dataSize: 24 * MIB, seed: 'e2e' });
    const original = await service.getContainerClient(sourceContainer).getPageBlobClient('vm1/os.vhd').downloadToBuffer();

    const started = await http<{ id: string; statusQueryGetUri: string }>(`${host.origin}/api/backups`, {
      method: 'POST',
      body: { container: sourceContainer, blob: 'vm1/os.vhd', itemId: 'vm1-os' },
    });
    expect(started.status).toBe(202);
    expect(started.body.id).toEqual(expect.any(String));
    expect(started.body.statusQueryGetUri).toContain(started.body.id);

    const status = await waitForBackup(started.body.id);
    expect(status).toMatchObject({ id: started.body.id, runtimeStatus: 'Completed', customStatus: { stage: 'completed' } });
    const output = status.output as BackupOutput;
    expect(output).toMatchObject({ status: 'Completed', itemId: 'vm1-os', jobId: started.body.id, warnings: [] });
    expect(output.md5Base64).toBe(createHash('md5').update(original).digest('base64'));

    const vault = service.getContainerClient(vaultContainer);
    const manifest = JSON.parse((await vault.getBlobClient(output.manifestBlob).downloadToBuffer()).toString()) as SliceManifest;
    expect(manifest).toMatchObject({ itemId: 'vm1-os', recoveryPointId: output.recoveryPointId, md5Base64: output.md5Base64 });
    const replica = await vault.getPageBlobClient(output.replicaBlob).withSnapshot(output.replicaSnapshot).downloadToBuffer();
    expect(replica.equals(original)).toBe(true);

    const snapshots: string[] = [];
    for await (const item of service.getContainerClient(sourceContainer).listBlobsFlat({ includeSnapshots: true })) {
      if (item.snapshot) snapshots.push(item.snapshot);
    }
    expect(snapshots).toEqual([]);
  });

  it.each([
    ['invalid JSON', '{', 'KluisInvalidRequest', 'body'],
    ['a missing blob field', { container: 'disks' }, 'KluisInvalidRequest', 'blob'],
    ['an unknown field', { container: 'disks', blob: 'a.vhd', size: 1 }, 'KluisInvalidRequest', 'size'],
    ['an invalid container name', { container: 'Disks', blob: 'a.vhd' }, 'KluisInvalidContainerName', 'container'],
    ['an invalid blob name', { container: 'disks', blob: 'dir/' }, 'KluisInvalidRequest', 'blob'],
    ['an invalid item id', { container: 'disks', blob: 'a.vhd', itemId: 'a/b' }, 'KluisInvalidIdentifier', 'itemId'],
  ])('answers 400 with the ARM error envelope for %s', async (_name, body, code, target) => {
    const response = await http<ErrorEnvelope>(`${host.origin}/api/backups`, { method: 'POST', body });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code, target });
    expect(response.body.error.recommendation).toEqual(expect.any(String));
  });

  it('answers 404 with the error envelope for an unknown backup job', async () => {
    const response = await http<ErrorEnvelope>(`${host.origin}/api/backups/no-such-job`);
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'KluisBackupInstanceNotFound', target: 'instanceId' });
  });
});
