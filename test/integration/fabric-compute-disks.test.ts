/**
 * The fabric's Microsoft.Compute endpoint through the unchanged @azure/arm-compute 23.3.0 client and
 * its pollers: managed disks (Empty, Upload, Copy), every disk state transition and refusal, SAS access
 * that ends on endGetAccess and on expiry (on the fabric's fake clock), snapshots and their diffs.
 */
import type { ComputeManagementClient, Disk } from '@azure/arm-compute';
import { BlobServiceClient } from '@azure/storage-blob';
import { buildVhdFooter, parseVhdFooter, VHD_FOOTER_SIZE } from '../../lib/engine/domain/vhd';
import { AZURE_PAGE_SIZE as PAGE, fromSdkRangeResponse } from '../../lib/engine/domain/page-ranges';
import { FakeClock } from '../../emulator/clock';
import { ComputeFabric } from '../../emulator/fabric/compute/compute-fabric';
import { httpsRequest } from '../support/https';
import { sasClient, SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const RG = 'rg-disks';
const LOCATION = 'westeurope';
const rest = (status: number, code: string) => expect.objectContaining({ statusCode: status, code });

describe('fabric Compute API: disks and snapshots through @azure/arm-compute', () => {
  const fabric = useComputeFabric();
  let client: ComputeManagementClient;
  let counter = 0;
  const name = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(() => {
    client = fabric().client();
  });

  const emptyDisk = (diskName: string, sizeGb = 1, sku = 'Standard_LRS') =>
    client.disks.beginCreateOrUpdateAndWait(RG, diskName, { location: LOCATION, sku: { name: sku }, creationData: { createOption: 'Empty' }, diskSizeGB: sizeGb });

  const grantRead = async (diskName: string, durationInSeconds = 3600) =>
    (await client.disks.beginGrantAccessAndWait(RG, diskName, { access: 'Read', durationInSeconds })).accessSAS!;

  test('creates an Empty disk (202 + polling), shows it Unattached with its size, and serves it as a fixed VHD by SAS', async () => {
    const diskName = name('empty');
    const disk = await emptyDisk(diskName, 1, 'Premium_LRS');
    expect(disk).toMatchObject({
      name: diskName,
      type: 'Microsoft.Compute/disks',
      location: LOCATION,
      sku: { name: 'Premium_LRS', tier: 'Premium' },
      diskSizeGB: 1,
      diskSizeBytes: GIB,
      diskState: 'Unattached',
      provisioningState: 'Succeeded',
      creationData: { createOption: 'Empty' },
      id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/${diskName}`,
    });
    expect(disk.timeCreated).toBeInstanceOf(Date);
    expect(disk.uniqueId).toMatch(/^[0-9a-f-]{36}$/);

    const sas = await grantRead(diskName);
    expect((await client.disks.get(RG, diskName)).diskState).toBe('ActiveSAS');
    const blob = sasClient(sas);
    const properties = await blob.getProperties();
    expect(properties.contentLength).toBe(GIB + VHD_FOOTER_SIZE);
    expect(parseVhdFooter(await blob.downloadToBuffer(GIB, VHD_FOOTER_SIZE))).toMatchObject({ currentSize: GIB, diskType: 2 });
    await client.disks.beginRevokeAccessAndWait(RG, diskName);
    expect((await client.disks.get(RG, diskName)).diskState).toBe('Unattached');
  });

  test('lists disks by resource group and by subscription; a missing disk is 404 ResourceNotFound', async () => {
    const first = name('listed');
    await emptyDisk(first);
    const inGroup: Disk[] = [];
    for await (const disk of client.disks.listByResourceGroup(RG)) inGroup.push(disk);
    expect(inGroup.map((disk) => disk.name)).toContain(first);
    const all: Disk[] = [];
    for await (const disk of client.disks.list()) all.push(disk);
    expect(all.map((disk) => disk.name)).toContain(first);
    await expect(client.disks.get(RG, 'no-such-disk')).rejects.toEqual(rest(404, 'ResourceNotFound'));
    await expect(client.disks.get('other-group', first)).rejects.toEqual(rest(404, 'ResourceNotFound'));
  });

  test('a revoked SAS stops working at once (Azurite refuses it), and deleting needs EndGetAccess first', async () => {
    const diskName = name('revoke');
    await emptyDisk(diskName);
    const sas = await grantRead(diskName);
    expect((await sasClient(sas).downloadToBuffer(0, PAGE)).length).toBe(PAGE);
    await expect(client.disks.beginDeleteAndWait(RG, diskName)).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    await expect(grantRead(diskName)).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    await client.disks.beginRevokeAccessAndWait(RG, diskName);
    await expect(sasClient(sas).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    await client.disks.beginRevokeAccessAndWait(RG, diskName); // idempotent
    await client.disks.beginDeleteAndWait(RG, diskName);
    await expect(client.disks.get(RG, diskName)).rejects.toEqual(rest(404, 'ResourceNotFound'));
    await client.disks.beginDeleteAndWait(RG, diskName); // already gone: 204
  });

  test('a SAS ends when its duration is over on the fabric clock: the disk is Unattached again and the SAS is refused', async () => {
    const diskName = name('expiry');
    await emptyDisk(diskName);
    const sas = await grantRead(diskName, 30);
    await fabric().clock.advance(29_000);
    expect((await client.disks.get(RG, diskName)).diskState).toBe('ActiveSAS');
    await fabric().clock.advance(2_000);
    await waitFor(async () => (await client.disks.get(RG, diskName)).diskState === 'Unattached');
    await expect(sasClient(sas).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    // Access can be granted again.
    await grantRead(diskName, 60);
    await client.disks.beginRevokeAccessAndWait(RG, diskName);
  });

  test('a restarted fabric ends the grants the previous one left open, when their time is over', async () => {
    const diskName = name('restart');
    await emptyDisk(diskName);
    const sas = await grantRead(diskName, 120);
    const { connectionString, computeTable, inventory } = fabric();
    // Another service on the same state, with a clock of its own, as after a host restart: only its timers run.
    const clock = new FakeClock(fabric().clock.now());
    const restarted = ComputeFabric.fromConnectionString(connectionString, { inventory, clock, table: computeTable });
    try {
      await restarted.start();
      expect(restarted.armedGrants).toBeGreaterThanOrEqual(1);
      await clock.advance(119_000);
      expect((await sasClient(sas).downloadToBuffer(0, PAGE)).length).toBe(PAGE);
      await clock.advance(2_000);
      await waitFor(async () => {
        try {
          await sasClient(sas).downloadToBuffer(0, PAGE);
          return false;
        } catch (err) {
          return (err as { statusCode?: number }).statusCode === 403;
        }
      });
      expect((await restarted.disks.get({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: diskName })).grant).toBeUndefined();
    } finally {
      restarted.stop();
    }
  });

  test('upload end to end: ReadyToUpload → grant Write → ActiveUpload → Put Page → revoke → Unattached → read back', async () => {
    const diskName = name('upload');
    const dataSize = 20 * MIB;
    const created = await client.disks.beginCreateOrUpdateAndWait(RG, diskName, {
      location: LOCATION,
      sku: { name: 'StandardSSD_LRS' },
      creationData: { createOption: 'Upload', uploadSizeBytes: dataSize + VHD_FOOTER_SIZE },
    });
    expect(created).toMatchObject({ diskState: 'ReadyToUpload', diskSizeBytes: dataSize, creationData: { createOption: 'Upload', uploadSizeBytes: dataSize + VHD_FOOTER_SIZE } });
    await expect(grantRead(diskName)).rejects.toEqual(rest(409, 'OperationNotAllowed'));

    const { accessSAS } = await client.disks.beginGrantAccessAndWait(RG, diskName, { access: 'Write', durationInSeconds: 3600 });
    expect((await client.disks.get(RG, diskName)).diskState).toBe('ActiveUpload');
    const writer = sasClient(accessSAS!);
    const data = Buffer.alloc(4 * MIB, 0xab);
    const footer = buildVhdFooter(dataSize, { seed: 'upload' });
    await writer.uploadPages(data, 8 * MIB, data.length);
    await writer.uploadPages(footer, dataSize, VHD_FOOTER_SIZE);
    await expect(client.disks.beginDeleteAndWait(RG, diskName)).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    await client.disks.beginRevokeAccessAndWait(RG, diskName);
    expect((await client.disks.get(RG, diskName)).diskState).toBe('Unattached');
    await expect(writer.uploadPages(data.subarray(0, PAGE), 0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    await expect(client.disks.beginGrantAccessAndWait(RG, diskName, { access: 'Write', durationInSeconds: 60 })).rejects.toEqual(rest(409, 'OperationNotAllowed'));

    const reader = sasClient(await grantRead(diskName));
    expect((await reader.downloadToBuffer(8 * MIB, 4 * MIB)).equals(data)).toBe(true);
    expect((await reader.downloadToBuffer(dataSize, VHD_FOOTER_SIZE)).equals(footer)).toBe(true);
    await expect(reader.uploadPages(data.subarray(0, PAGE), 0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    await client.disks.beginRevokeAccessAndWait(RG, diskName);
  });

  test('an upload grant that runs out leaves the disk ReadyToUpload', async () => {
    const diskName = name('upload-expiry');
    await client.disks.beginCreateOrUpdateAndWait(RG, diskName, { location: LOCATION, creationData: { createOption: 'Upload', uploadSizeBytes: 20 * MIB + VHD_FOOTER_SIZE } });
    const { accessSAS } = await client.disks.beginGrantAccessAndWait(RG, diskName, { access: 'Write', durationInSeconds: 60 });
    await fabric().clock.advance(61_000);
    await waitFor(async () => (await client.disks.get(RG, diskName)).diskState === 'ReadyToUpload');
    await expect(sasClient(accessSAS!).uploadPages(Buffer.alloc(PAGE), 0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
  });

  test('refuses bad requests with 400 and changes nothing', async () => {
    const diskName = name('bad');
    const put = (body: object) => client.disks.beginCreateOrUpdateAndWait(RG, diskName, { location: LOCATION, ...body } as Disk);
    await expect(put({ creationData: { createOption: 'Empty' }, diskSizeGB: 0 })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ creationData: { createOption: 'Empty' }, diskSizeGB: 40_000 })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ creationData: { createOption: 'Empty' } })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ sku: { name: 'UltraSSD_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 1 })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ creationData: { createOption: 'Upload', uploadSizeBytes: 20 * MIB } })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ creationData: { createOption: 'Upload', uploadSizeBytes: 10 * MIB + VHD_FOOTER_SIZE } })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ creationData: { createOption: 'FromImage' }, diskSizeGB: 1 })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put({ creationData: { createOption: 'Copy' } })).rejects.toEqual(rest(400, 'InvalidParameter'));
    const missing = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.Compute/snapshots/never`;
    await expect(put({ creationData: { createOption: 'Copy', sourceResourceId: missing } })).rejects.toEqual(rest(404, 'NotFound'));
    await expect(client.disks.beginCreateOrUpdateAndWait(RG, diskName, { location: '', creationData: { createOption: 'Empty' }, diskSizeGB: 1 })).rejects.toEqual(
      rest(400, 'LocationRequired'),
    );
    await expect(client.disks.get(RG, diskName)).rejects.toEqual(rest(404, 'ResourceNotFound'));

    const ok = name('grants');
    await emptyDisk(ok);
    await expect(client.disks.beginGrantAccessAndWait(RG, ok, { access: 'None', durationInSeconds: 60 })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(client.disks.beginGrantAccessAndWait(RG, ok, { access: 'Read', durationInSeconds: 0 })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(client.disks.beginGrantAccessAndWait(RG, ok, { access: 'Write', durationInSeconds: 60 })).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    expect((await client.disks.get(RG, ok)).diskState).toBe('Unattached');
  });

  test('Import: a disk made from a fixed-VHD page blob of its storage account, byte for byte; other accounts, non-VHDs, blob snapshots and missing fields refused with 400', async () => {
    const container = BlobServiceClient.fromConnectionString(fabric().connectionString).getContainerClient(name('import-src'));
    await container.create();
    const dataSize = 2 * MIB;
    const vhd = container.getPageBlobClient('disk.vhd');
    await vhd.create(dataSize + VHD_FOOTER_SIZE);
    const data = Buffer.alloc(64 * 1024, 7);
    await vhd.uploadPages(data, MIB, data.length);
    await vhd.uploadPages(buildVhdFooter(dataSize), dataSize, VHD_FOOTER_SIZE);
    const notVhd = container.getPageBlobClient('not.vhd');
    await notVhd.create(dataSize + VHD_FOOTER_SIZE);
    const accountId = (account: string) => `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-storage/providers/Microsoft.Storage/storageAccounts/${account}`;
    const put = (diskName: string, creationData: Record<string, string>) =>
      client.disks.beginCreateOrUpdateAndWait(RG, diskName, { location: LOCATION, creationData: { createOption: 'Import', ...creationData } });

    const imported = await put(name('imported'), { sourceUri: vhd.url, storageAccountId: accountId('devstoreaccount1') });
    expect(imported).toMatchObject({ diskSizeBytes: dataSize, diskState: 'Unattached', creationData: { createOption: 'Import', sourceUri: vhd.url } });
    const sas = await grantRead(imported.name!);
    const bytes = await sasClient(sas).downloadToBuffer();
    expect(bytes.subarray(0, dataSize).equals(Buffer.concat([Buffer.alloc(MIB), data, Buffer.alloc(dataSize - MIB - data.length)]))).toBe(true);
    expect(parseVhdFooter(bytes.subarray(dataSize)).currentSize).toBe(dataSize);

    const refused = name('refused');
    await expect(put(refused, { sourceUri: vhd.url })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put(refused, { sourceUri: vhd.url, storageAccountId: accountId('otheraccount') })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put(refused, { sourceUri: vhd.url.replace('devstoreaccount1', 'otheraccount'), storageAccountId: accountId('otheraccount') })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put(refused, { sourceUri: notVhd.url, storageAccountId: accountId('devstoreaccount1') })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(put(refused, { sourceUri: `${container.url}/missing.vhd`, storageAccountId: accountId('devstoreaccount1') })).rejects.toEqual(rest(400, 'InvalidParameter'));
    // A blob snapshot is not a blob: Compute documents sourceUri as a blob's URI (a restore stages the replica's snapshot).
    const { snapshot } = await vhd.createSnapshot();
    await expect(put(refused, { sourceUri: vhd.withSnapshot(snapshot!).url, storageAccountId: accountId('devstoreaccount1') })).rejects.toEqual(rest(400, 'InvalidParameter'));
    await expect(client.disks.get(RG, refused)).rejects.toEqual(rest(404, 'ResourceNotFound'));
  });

  test('a disk keeps the Azure Disk Encryption settings its PUT names (encryptionSettingsCollection), and shows them', async () => {
    const diskName = name('ade');
    const settings = {
      enabled: true,
      encryptionSettings: [
        {
          diskEncryptionKey: { secretUrl: 'https://kv1.vault.azure.net/secrets/bek-1/0123456789abcdef0123456789abcdef', sourceVault: { id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv1` } },
          keyEncryptionKey: { keyUrl: 'https://kv1.vault.azure.net/keys/kek-1/fedcba9876543210fedcba9876543210', sourceVault: { id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv1` } },
        },
      ],
      encryptionSettingsVersion: '1.1',
    };
    const created = await client.disks.beginCreateOrUpdateAndWait(RG, diskName, { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1, encryptionSettingsCollection: settings });
    expect(created.encryptionSettingsCollection).toEqual(settings);
    expect((await client.disks.get(RG, diskName)).encryptionSettingsCollection).toEqual(settings);
    // A disk without them shows none; an enabled encryption without its key is refused.
    expect((await emptyDisk(name('plain'))).encryptionSettingsCollection).toBeUndefined();
    await expect(
      client.disks.beginCreateOrUpdateAndWait(RG, name('nokey'), { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1, encryptionSettingsCollection: { enabled: true, encryptionSettings: [{}] } }),
    ).rejects.toEqual(rest(400, 'InvalidParameter'));
  });

  test('a CanNotDelete lock on the resource group refuses deletes (409 ScopeLocked) until it is removed', async () => {
    const { endpoint, tls } = fabric();
    const group = 'rg-locked';
    const diskName = name('locked');
    await client.disks.beginCreateOrUpdateAndWait(group, diskName, { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1 });
    const lockUrl = `${endpoint.url}/subscriptions/${SUBSCRIPTION}/resourceGroups/${group}/providers/Microsoft.Authorization/locks/no-delete?api-version=2020-05-01`;
    const headers = { authorization: 'Bearer x', 'content-type': 'application/json' };
    const put = await httpsRequest<{ properties: { level: string } }>(lockUrl, { method: 'PUT', headers, body: JSON.stringify({ properties: { level: 'CanNotDelete' } }), ca: tls.caCertPem });
    expect([put.status, put.body.properties.level]).toEqual([201, 'CanNotDelete']);
    expect((await httpsRequest(lockUrl, { method: 'PUT', headers, body: JSON.stringify({ properties: { level: 'ReadOnly' } }), ca: tls.caCertPem })).status).toBe(400);
    await expect(client.disks.beginDeleteAndWait(group, diskName)).rejects.toEqual(
      expect.objectContaining({ statusCode: 409, code: 'ScopeLocked', message: expect.stringContaining(`following scope(s) are locked: '/subscriptions/${SUBSCRIPTION}/resourceGroups/${group}'`) }),
    );
    expect((await client.disks.get(group, diskName)).name).toBe(diskName);
    // Other groups are not locked; writes in the locked one still work.
    await client.disks.beginCreateOrUpdateAndWait(group, diskName, { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1, tags: { kept: 'yes' } });
    expect((await httpsRequest(lockUrl, { method: 'DELETE', headers, ca: tls.caCertPem })).status).toBe(200);
    expect((await httpsRequest(lockUrl, { headers, ca: tls.caCertPem })).status).toBe(404);
    await client.disks.beginDeleteAndWait(group, diskName);
    await expect(client.disks.get(group, diskName)).rejects.toEqual(rest(404, 'ResourceNotFound'));
  });

  test('ARM rules of the endpoint: a bearer token and api-version on every request, absolute poll URLs on its origin', async () => {
    const { endpoint, tls } = fabric();
    const path = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RG}/providers/Microsoft.Compute/disks`;
    const noToken = await httpsRequest<{ error: { code: string } }>(`${endpoint.url}${path}?api-version=2025-01-02`, { ca: tls.caCertPem });
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe('AuthenticationFailed');
    expect(noToken.headers['www-authenticate']).toMatch(/^Bearer /);
    const noVersion = await httpsRequest<{ error: { code: string } }>(`${endpoint.url}${path}`, { ca: tls.caCertPem, headers: { authorization: 'Bearer x' } });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.error.code).toBe('MissingApiVersionParameter');
    const unknown = await httpsRequest<{ error: { code: string } }>(`${endpoint.url}/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Compute/galleries?api-version=1`, {
      ca: tls.caCertPem,
      headers: { authorization: 'Bearer x' },
    });
    expect(unknown.status).toBe(404);
    // Without the CA the endpoint is not trusted: TLS verification is on.
    await expect(httpsRequest(`${endpoint.url}${path}?api-version=1`, { headers: { authorization: 'Bearer x' } })).rejects.toThrow();

    const diskName = name('raw');
    const put = await httpsRequest(`${endpoint.url}${path}/${diskName}?api-version=2025-01-02`, {
      method: 'PUT',
      ca: tls.caCertPem,
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ location: LOCATION, properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 1 } }),
    });
    expect(put.status).toBe(202);
    const status = String(put.headers['azure-asyncoperation']);
    const location = String(put.headers.location);
    expect(status.startsWith(`${endpoint.url}/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Compute/locations/${LOCATION}/DiskOperations/`)).toBe(true);
    expect(location).toContain('monitor=true');
    const polled = await httpsRequest<{ status: string; name: string }>(status, { ca: tls.caCertPem, headers: { authorization: 'Bearer x' } });
    expect(polled.body.status).toBe('Succeeded');
  });

  test('incremental snapshots: point in time, read by SAS, diffed by SAS URL; full snapshots are their own lineage', async () => {
    const diskName = name('snapped');
    const disk = await emptyDisk(diskName);
    const backing = fabric().compute.pageBlobOf(await fabric().compute.diskBlobOf({ kind: 'data', lun: 0, name: diskName, managedDisk: { id: disk.id! }, storageType: 'Standard', sizeBytes: GIB }));
    await backing.uploadPages(Buffer.alloc(MIB, 1), 0, MIB);
    const snapshotOf = (snapshotName: string, incremental: boolean) =>
      client.snapshots.beginCreateOrUpdateAndWait(RG, snapshotName, { location: LOCATION, incremental, creationData: { createOption: 'Copy', sourceResourceId: disk.id } });
    const [a, b, full] = [name('snap-a'), name('snap-b'), name('snap-full')];
    const snapA = await snapshotOf(a, true);
    expect(snapA).toMatchObject({ incremental: true, incrementalSnapshotFamilyId: disk.uniqueId, diskSizeBytes: GIB, creationData: { sourceResourceId: disk.id, sourceUniqueId: disk.uniqueId } });
    await backing.uploadPages(Buffer.alloc(PAGE * 2, 2), 4 * MIB, PAGE * 2);
    await backing.clearPages(0, 64 * 1024);
    await snapshotOf(b, true);
    await snapshotOf(full, false);
    await backing.uploadPages(Buffer.alloc(PAGE, 3), 0, PAGE);

    const sasA = (await client.snapshots.beginGrantAccessAndWait(RG, a, { access: 'Read', durationInSeconds: 600 })).accessSAS!;
    const sasB = (await client.snapshots.beginGrantAccessAndWait(RG, b, { access: 'Read', durationInSeconds: 600 })).accessSAS!;
    expect((await client.snapshots.get(RG, a)).diskState).toBe('ActiveSAS');
    expect((await sasClient(sasA).downloadToBuffer(0, PAGE)).equals(Buffer.alloc(PAGE, 1))).toBe(true);
    expect((await sasClient(sasB).downloadToBuffer(0, PAGE)).equals(Buffer.alloc(PAGE))).toBe(true);
    const diff = fromSdkRangeResponse(await sasClient(sasB).getPageRangesDiffForManagedDisks(0, GIB, sasA));
    expect(diff).toEqual({ changed: [{ start: 4 * MIB, end: 4 * MIB + 2 * PAGE }], cleared: [{ start: 0, end: 64 * 1024 }] });
    const sasFull = (await client.snapshots.beginGrantAccessAndWait(RG, full, { access: 'Read', durationInSeconds: 600 })).accessSAS!;
    await expect(sasClient(sasFull).getPageRangesDiffForManagedDisks(0, GIB, sasA)).rejects.toMatchObject({ statusCode: 409, code: 'PreviousSnapshotOperationNotSupported' });
    await expect(client.snapshots.beginGrantAccessAndWait(RG, a, { access: 'Write', durationInSeconds: 60 })).rejects.toEqual(rest(400, 'InvalidParameter'));

    // A disk copied from snapshot A has A's bytes; writing it leaves A alone.
    const copyName = name('from-snap');
    const copy = await client.disks.beginCreateOrUpdateAndWait(RG, copyName, { location: LOCATION, creationData: { createOption: 'Copy', sourceResourceId: snapA.id } });
    expect(copy).toMatchObject({ diskSizeBytes: GIB, diskState: 'Unattached', creationData: { createOption: 'Copy', sourceResourceId: snapA.id, sourceUniqueId: snapA.uniqueId } });
    const copySas = await grantRead(copyName);
    expect((await sasClient(copySas).downloadToBuffer(0, MIB)).equals(Buffer.alloc(MIB, 1))).toBe(true);
    expect(parseVhdFooter(await sasClient(copySas).downloadToBuffer(GIB, VHD_FOOTER_SIZE)).currentSize).toBe(GIB);
    await client.disks.beginRevokeAccessAndWait(RG, copyName);

    await expect(client.snapshots.beginDeleteAndWait(RG, a)).rejects.toEqual(rest(409, 'OperationNotAllowed'));
    for (const snapshot of [a, b, full]) await client.snapshots.beginRevokeAccessAndWait(RG, snapshot);
    await expect(sasClient(sasA).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    // Snapshots outlive their disk; the last one deleted takes the disk's blobs with it.
    await client.disks.beginDeleteAndWait(RG, diskName);
    expect((await client.snapshots.get(RG, b)).incremental).toBe(true);
    for (const snapshot of [a, b, full]) await client.snapshots.beginDeleteAndWait(RG, snapshot);
    expect(await backing.exists()).toBe(false);
  });

  test('a Copy whose source data vanished after it was accepted fails through the poller (CopySourceNotFound)', async () => {
    const source = name('vanishing');
    const disk = await emptyDisk(source);
    const snapshotName = name('vanishing-snap');
    await client.snapshots.beginCreateOrUpdateAndWait(RG, snapshotName, { location: LOCATION, incremental: true, creationData: { createOption: 'Copy', sourceResourceId: disk.id } });
    const snapshot = await client.snapshots.get(RG, snapshotName);
    const stored = (await fabric().compute.snapshots.get({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: snapshotName })).backing;
    await fabric().compute.pageBlobOf(stored).delete();
    const orphan = name('orphan');
    // Accepted (202), then the operation's status says Failed: the poller throws with its code.
    await expect(
      client.disks.beginCreateOrUpdateAndWait(RG, orphan, { location: LOCATION, creationData: { createOption: 'Copy', sourceResourceId: snapshot.id } }),
    ).rejects.toThrow(/^The long-running operation has failed\. CopySourceNotFound\./);
    await expect(client.disks.get(RG, orphan)).rejects.toEqual(rest(404, 'ResourceNotFound'));
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutInMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutInMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
