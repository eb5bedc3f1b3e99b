/**
 * The whole engine through HTTP on the embedded host, running this repository's app (built into dist/)
 * on Azurite with the page-range diff and copy isolation extensions: a full backup of a VM with a Standard
 * and a Premium disk (the replicas seeded by a server-side copy), an incremental through the server diff,
 * the recovery point list, and verified restores of both points that are byte-identical to the disks as
 * they were when each point was taken. KLUIS_E2E_APP names another built copy of the app.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { azuriteExtensions } from '../../emulator/cli';
import { createSampleVhd } from '../../emulator/sample-disk';
import type { BackupDisksOutput as BackupOutput } from '../../orchestrations/backup-disks';
import type { RestoreOutput } from '../../orchestrations/restore';
import { blobService, uniqueName, useAzurite } from '../support/azurite';
import { http, REPO_ROOT, sleep, startHostProcess, type HostProcess, type HttpOptions } from '../support/host-process';

const MIB = 1024 * 1024;

interface JobStatus<T> {
  id: string;
  runtimeStatus: string;
  customStatus?: { stage: string; errorCode?: string };
  output?: T;
  error?: { code: string; message: string };
}

interface ErrorEnvelope {
  error: { code: string; message: string; target?: string; recommendation?: string };
}

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const azurite = useAzurite({ extensions: [...azuriteExtensions] });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('backup and restore over HTTP (embedded host, engine)', () => {
  let host: HostProcess;
  const vaultContainer = uniqueName('vault');
  const standard = { container: uniqueName('vhds'), blob: 'vm1/os.vhd' };
  const premium = { container: uniqueName('premium'), blob: 'vm1/data.vhd' };
  const disks = [
    { lun: 0, ...standard, storageType: 'Standard' },
    { lun: 1, ...premium, storageType: 'Premium' },
  ];

  const service = () => blobService(azurite().connectionString);
  const download = (ref: { container: string; blob: string }) => service().getContainerClient(ref.container).getPageBlobClient(ref.blob).downloadToBuffer();

  beforeAll(async () => {
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Engine${Date.now().toString(36)}`,
      env: { KLUIS_VAULT_CONTAINER: vaultContainer, KLUIS_SOURCE_STORAGE: '', KLUIS_VAULT_STORAGE: '', KLUIS_CATALOG_TABLE: `Points${Date.now().toString(36)}` },
    });
    await createSampleVhd(service(), { ...standard, dataSize: 24 * MIB, seed: 'os' });
    await createSampleVhd(service(), { ...premium, dataSize: 8 * MIB, seed: 'data' });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  /** The engine's API takes the host's admin (master) key only: it is no part of the public ARM surface. */
  const engine = <T>(url: string, options: HttpOptions = {}) => http<T>(url, { ...options, headers: { 'x-functions-key': host.secrets.masterKey, ...options.headers } });

  it("refuses callers without the host's admin key, also an Owner's bearer token", async () => {
    const request = { method: 'POST', body: { itemId: 'vm1', disks } };
    expect((await http(`${host.origin}/api/backups`, { ...request, signIn: false })).status).toBe(401);
    expect((await http(`${host.origin}/api/backups`, request)).status).toBe(401);
    expect((await http(`${host.origin}/api/backups`, { ...request, headers: { 'x-functions-key': host.secrets.functionKeys.default } })).status).toBe(401);
    expect((await http(`${host.origin}/api/restores`, { method: 'POST', body: {} })).status).toBe(401);
    expect((await http(`${host.origin}/api/items/vm1/recoveryPoints`)).status).toBe(401);
  });

  async function waitFor<T>(kind: 'backups' | 'restores', id: string, timeoutInMs = 60_000): Promise<JobStatus<T>> {
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const response = await engine<JobStatus<T>>(`${host.origin}/api/${kind}/${id}`);
      expect(response.status).toBe(200);
      if (['Completed', 'Failed', 'Terminated'].includes(response.body.runtimeStatus)) return response.body;
      if (Date.now() > deadline) throw new Error(`${kind} ${id} still ${response.text}\n${host.outputTail()}`);
      await sleep(100);
    }
  }

  async function backup(): Promise<BackupOutput> {
    const started = await engine<{ id: string; statusQueryGetUri: string }>(`${host.origin}/api/backups`, { method: 'POST', body: { itemId: 'vm1', disks } });
    expect(started.status).toBe(202);
    expect(started.body.statusQueryGetUri).toContain(started.body.id);
    const status = await waitFor<BackupOutput>('backups', started.body.id);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', customStatus: { stage: 'completed' } });
    return status.output!;
  }

  async function restore(recoveryPointId: string): Promise<RestoreOutput> {
    const started = await engine<{ id: string }>(`${host.origin}/api/restores`, {
      method: 'POST',
      body: { itemId: 'vm1', recoveryPointId, targetContainer: uniqueName('restored') },
    });
    expect(started.status).toBe(202);
    const status = await waitFor<RestoreOutput>('restores', started.body.id);
    expect(status.runtimeStatus).toBe('Completed');
    return status.output!;
  }

  async function restoredBytes(output: RestoreOutput, lun: number): Promise<Buffer> {
    const disk = output.disks.find((d) => d.lun === lun)!;
    return download({ container: output.targetContainer, blob: disk.blobName });
  }

  it('backs up full, then incrementally via the diff, and restores each point byte for byte', async () => {
    const before = { os: await download(standard), data: await download(premium) };
    const first = await backup();
    expect(first.disks.map((d) => d.changeDetection)).toEqual(['full', 'full']);
    expect(first.disks[1].staging).toBeDefined();
    expect(first.disks.map((d) => [d.seed, d.bytesWritten])).toEqual([
      ['serverSideCopy', 0],
      ['serverSideCopy', 0],
    ]);

    // Change 3 blocks of 64 KiB on the OS disk and clear 1 MiB of the data disk.
    const os = service().getContainerClient(standard.container).getPageBlobClient(standard.blob);
    for (const offset of [0, 5 * MIB, 9 * MIB + 64 * 1024]) await os.uploadPages(randomBytes(64 * 1024), offset, 64 * 1024);
    await service().getContainerClient(premium.container).getPageBlobClient(premium.blob).clearPages(0, MIB);
    const after = { os: await download(standard), data: await download(premium) };

    const second = await backup();
    expect(second.disks.map((d) => d.changeDetection)).toEqual(['diff', 'diff']);
    expect(second.disks[0].bytesWritten).toBe(3 * 64 * 1024);
    expect(second.recoveryPointId).not.toBe(first.recoveryPointId);

    const points = await engine<{ value: Array<{ recoveryPointId: string; recoveryPointTierDetails: Array<{ type: string; status: string }> }> }>(
      `${host.origin}/api/items/vm1/recoveryPoints`,
    );
    expect(points.body.value.map((p) => p.recoveryPointId)).toEqual([first.recoveryPointId, second.recoveryPointId]);
    expect(points.body.value[0].recoveryPointTierDetails).toEqual([
      { type: 'InstantRP', status: 'Valid' },
      { type: 'HardenedRP', status: 'Valid' },
    ]);

    const firstRestore = await restore(first.recoveryPointId);
    expect(sha256(await restoredBytes(firstRestore, 0))).toBe(sha256(before.os));
    expect(sha256(await restoredBytes(firstRestore, 1))).toBe(sha256(before.data));
    const secondRestore = await restore(second.recoveryPointId);
    expect(sha256(await restoredBytes(secondRestore, 0))).toBe(sha256(after.os));
    expect(sha256(await restoredBytes(secondRestore, 1))).toBe(sha256(after.data));
    expect(secondRestore.disks.every((d) => d.blocksVerified > 0)).toBe(true);
    expect(secondRestore.vmConfigBlobName).toMatch(/vmconfig\.json$/);
  });

  it('answers bad input with 400 and the ARM error envelope naming the field', async () => {
    const missing = await engine<ErrorEnvelope>(`${host.origin}/api/backups`, { method: 'POST', body: { itemId: 'vm1', disks: [] } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'KluisInvalidRequest', target: 'disks' });
    const badPoint = await engine<ErrorEnvelope>(`${host.origin}/api/restores`, { method: 'POST', body: { itemId: 'vm1', recoveryPointId: 'latest', targetContainer: 'x1y' } });
    expect(badPoint.status).toBe(400);
    expect(badPoint.body.error.target).toBe('recoveryPointId');
    const unknown = await engine<ErrorEnvelope>(`${host.origin}/api/backups/not-a-job`);
    expect(unknown.status).toBe(404);
  });

  it('fails a backup of a missing disk with its stable code, and a restore of a missing point likewise', async () => {
    const started = await engine<{ id: string }>(`${host.origin}/api/backups`, { method: 'POST', body: { container: standard.container, blob: 'nope.vhd' } });
    const status = await waitFor<BackupOutput>('backups', started.body.id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(status.error?.code).toBe('KluisSourceDiskNotFound');

    const restoreStarted = await engine<{ id: string }>(`${host.origin}/api/restores`, {
      method: 'POST',
      body: { itemId: 'vm1', recoveryPointId: '42', targetContainer: uniqueName('nowhere') },
    });
    const restoreStatus = await waitFor<RestoreOutput>('restores', restoreStarted.body.id);
    expect(restoreStatus.runtimeStatus).toBe('Failed');
    expect(restoreStatus.error?.code).toBe('KluisRecoveryPointNotFound');
  });
});
