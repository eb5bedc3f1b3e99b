/** One conformance suite for every RepositoryStore (restic's backend test suite in spirit): file, memory, blob (Azurite). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import { MemoryRepositoryStore } from '../../lib/stores/memory/repository-store';
import type { RepositoryStore } from '../../lib/stores/repository-store';
import { acquireRepositoryLock, awaitNoExclusiveLock, withRepositoryLock } from '../../lib/backup-server/repository/repository-lock';
import { isRetryableCode } from '../../lib/domain/errors';
import { uniqueName, useAzurite } from '../support/azurite';

const azurite = useAzurite();

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const backends: Array<[string, () => Promise<RepositoryStore>]> = [
  ['memory', async () => new MemoryRepositoryStore()],
  ['file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-store-'));
    dirs.push(dir);
    return new FileRepositoryStore(dir);
  }],
  ['blob', async () => BlobRepositoryStore.fromConnection(azurite().connectionString, uniqueName('repo').toLowerCase().slice(0, 40), 'servers/mabs01/')],
];

async function keys(store: RepositoryStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const key of store.list(prefix)) out.push(key);
  return out.sort();
}

describe.each(backends)('RepositoryStore conformance: %s', (_name, make) => {
  let store: RepositoryStore;
  beforeEach(async () => {
    store = await make();
  });

  it('reads back what it wrote, undefined for what it never had', async () => {
    await store.write('data/ab/object', Buffer.from('one'));
    expect((await store.read('data/ab/object'))?.toString()).toBe('one');
    expect(await store.read('data/ab/missing')).toBeUndefined();
    expect(await store.exists('data/ab/object')).toBe(true);
    expect(await store.exists('data/ab/missing')).toBe(false);
    await store.write('data/ab/object', Buffer.from('two'));
    expect((await store.read('data/ab/object'))?.toString()).toBe('two');
  });

  it('writeIfAbsent writes once and leaves an existing object alone', async () => {
    expect(await store.writeIfAbsent('config', Buffer.from('first'))).toBe(true);
    expect(await store.writeIfAbsent('config', Buffer.from('second'))).toBe(false);
    expect((await store.read('config'))?.toString()).toBe('first');
  });

  it('lists by prefix, and deletes (also what is already gone)', async () => {
    await store.write('data/00/a', Buffer.from('a'));
    await store.write('data/ff/b', Buffer.from('b'));
    await store.write('snapshots/c', Buffer.from('c'));
    expect(await keys(store, 'data/')).toEqual(['data/00/a', 'data/ff/b']);
    expect(await keys(store, 'snapshots/')).toEqual(['snapshots/c']);
    expect(await keys(store, 'nothing/')).toEqual([]);
    await store.delete('data/00/a');
    await store.delete('data/00/a');
    expect(await keys(store, 'data/')).toEqual(['data/ff/b']);
  });

  it('refuses keys that could leave its root', async () => {
    for (const key of ['../x', '/abs', 'a/../../b', 'a//b', '', 'a/./b', 'trailing/']) {
      await expect(store.write(key, Buffer.from('x'))).rejects.toMatchObject({ code: 'KluisInvalidRequest' });
    }
  });
});

/** Two views of one repository location (two processes or machines): separate store objects, shared objects. */
const twins: Array<[string, () => Promise<[RepositoryStore, RepositoryStore]>]> = [
  ['memory', async () => {
    const store = new MemoryRepositoryStore();
    return [store, store];
  }],
  ['file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-locks-'));
    dirs.push(dir);
    return [new FileRepositoryStore(dir), new FileRepositoryStore(dir)];
  }],
  ['blob', async () => {
    const container = uniqueName('locks').toLowerCase().slice(0, 40);
    return [BlobRepositoryStore.fromConnection(azurite().connectionString, container, 'servers/mabs01/'), BlobRepositoryStore.fromConnection(azurite().connectionString, container, 'servers/mabs01/')];
  }],
];

describe.each(twins)('repository locks across two instances: %s', (_name, make) => {
  let now: Date;
  const clock = () => now;
  const serverA = { clock, holder: { name: 'mabs01.kluis.local', hostname: 'host-a', pid: 101 } };
  const serverB = { clock, holder: { name: 'mabs01.kluis.local', hostname: 'host-b', pid: 202 } };
  beforeEach(() => {
    now = new Date('2026-12-07T12:00:00Z');
  });

  it('shared locks coexist; a prune is refused while a backup holds one, with a retryable error naming the holder', async () => {
    const [a, b] = await make();
    const backup = await acquireRepositoryLock(a, 'backup', serverA);
    const restore = await acquireRepositoryLock(b, 'restore', serverB);
    const refused = acquireRepositoryLock(b, 'prune', serverB);
    await expect(refused).rejects.toMatchObject({ code: 'KluisRepositoryLocked', status: 409 });
    await expect(refused).rejects.toThrow(/shared lock \((backup|restore)\) is held by mabs01\.kluis\.local \(pid (101 on host-a|202 on host-b)\)/);
    expect(isRetryableCode('KluisRepositoryLocked')).toBe(true);
    await backup.release();
    await restore.release();
    expect(await keys(a, 'locks/')).toEqual([]); // the refused prune left no lock behind
    const prune = await acquireRepositoryLock(b, 'prune', serverB);
    expect(prune.document).toMatchObject({ exclusive: true, operation: 'prune' });
    expect(await keys(a, 'locks/')).toEqual([`locks/${prune.id}`]);
    await prune.release();
  });

  it('a backup waits (bounded) for a prune: it gets its lock once the prune ends, or fails when the wait runs out', async () => {
    const [a, b] = await make();
    const prune = await acquireRepositoryLock(a, 'prune', serverA);
    let slept = 0;
    await expect(acquireRepositoryLock(b, 'backup', { ...serverB, waitMs: 3_000, pollMs: 1_000, sleep: async (ms) => void (slept += ms) }))
      .rejects.toMatchObject({ code: 'KluisRepositoryLocked', message: expect.stringContaining('an exclusive lock (prune) is held by mabs01.kluis.local (pid 101 on host-a)') });
    expect(slept).toBeGreaterThanOrEqual(3_000);
    const backup = await acquireRepositoryLock(b, 'backup', { ...serverB, waitMs: 60_000, sleep: async () => prune.release() });
    expect(backup.document).toMatchObject({ exclusive: false, operation: 'backup' });
    await backup.release();
  });

  it('a lock refreshed by its holder stays live; one not refreshed for 30 minutes is stale and removed by the next operation', async () => {
    const [a, b] = await make();
    const backup = await acquireRepositoryLock(a, 'backup', serverA);
    now = new Date(now.getTime() + 25 * 60_000);
    await backup.refresh();
    now = new Date(now.getTime() + 25 * 60_000);
    await expect(acquireRepositoryLock(b, 'prune', serverB)).rejects.toMatchObject({ code: 'KluisRepositoryLocked' });
    now = new Date(now.getTime() + 6 * 60_000); // 31 minutes after the last refresh: the holder is gone
    const prune = await acquireRepositoryLock(b, 'prune', serverB);
    expect(prune.staleRemoved).toBe(1);
    expect(await keys(a, 'locks/')).toEqual([`locks/${prune.id}`]);
    await prune.release();
  });

  it('a read-only reader (restore through a read SAS) waits for a prune without writing a lock', async () => {
    const [a, b] = await make();
    const prune = await acquireRepositoryLock(a, 'prune', serverA);
    await expect(awaitNoExclusiveLock(b, 'restore', { clock })).rejects.toMatchObject({ code: 'KluisRepositoryLocked' });
    await awaitNoExclusiveLock(b, 'restore', { clock, waitMs: 10_000, sleep: () => prune.release() });
    await withRepositoryLock(a, 'backup', serverA, async () => {
      await awaitNoExclusiveLock(b, 'restore', { clock }); // shared locks do not stop a reader
      expect(await keys(b, 'locks/')).toHaveLength(1);
    });
    expect(await keys(b, 'locks/')).toEqual([]);
  });
});

it('the file store leaves no temporary file behind', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-store-'));
  dirs.push(dir);
  const store = new FileRepositoryStore(dir);
  await store.write('data/00/a', Buffer.from('a'));
  await store.writeIfAbsent('data/00/a', Buffer.from('again'));
  await store.writeIfAbsent('data/00/b', Buffer.from('b'));
  expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
});

it('a whole repository in a blob container: backed up on one server, restored on another with the passphrase, unreadable without it', async () => {
  const { mkdir, writeFile, readFile } = await import('node:fs/promises');
  const { createRepository, openRepository } = await import('../../lib/backup-server/repository/repository');
  const { backupFolder } = await import('../../lib/backup-server/repository/backup-folder');
  const { restoreSnapshot } = await import('../../lib/backup-server/repository/restore-snapshot');
  const { NodeLocalFileSystem } = await import('../../lib/stores/file/local-file-system');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-blob-'));
  dirs.push(dir);
  await mkdir(path.join(dir, 'src/sub'), { recursive: true });
  await writeFile(path.join(dir, 'src/sub/file.txt'), 'BLOBMARKER '.repeat(10_000));
  const container = uniqueName('vaultcopy').toLowerCase().slice(0, 40);
  const clock = () => new Date('2026-12-07T12:00:00Z');
  const files = new NodeLocalFileSystem();
  const passphrase = 'the passphrase of the first server';

  const first = await createRepository(BlobRepositoryStore.fromConnection(azurite().connectionString, container, 'servers/mabs01/'), passphrase, { clock, kdf: { logN: 14 } });
  const snapshot = await backupFolder({ repository: first, files, clock }, { root: path.join(dir, 'src'), sourceName: 'D:\\Data' });

  const store = BlobRepositoryStore.fromConnection(azurite().connectionString, container, 'servers/mabs01/');
  await expect(openRepository(store, 'somebody else entirely guessing')).rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });
  for await (const key of store.list('')) expect((await store.read(key))!.toString('latin1')).not.toContain('BLOBMARKER');
  const second = await openRepository(store, passphrase);
  await restoreSnapshot({ repository: second, files }, { snapshotId: snapshot.id, targetRoot: path.join(dir, 'restored') });
  expect(await readFile(path.join(dir, 'restored/sub/file.txt'), 'utf8')).toBe('BLOBMARKER '.repeat(10_000));
});

it('the online copy moves only the packs the vault lacks (version 2: whole packs, then an index), and a pack modified in the vault is detected at restore', async () => {
  const { mkdir, writeFile, appendFile, readFile } = await import('node:fs/promises');
  const { createRepository, openRepository } = await import('../../lib/backup-server/repository/repository');
  const { backupFolder } = await import('../../lib/backup-server/repository/backup-folder');
  const { restoreSnapshot, readTree } = await import('../../lib/backup-server/repository/restore-snapshot');
  const { copySnapshotsToVault } = await import('../../lib/backup-server/repository/copy-to-vault');
  const { NodeLocalFileSystem } = await import('../../lib/stores/file/local-file-system');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-copy-'));
  dirs.push(dir);
  const clock = () => new Date('2026-12-07T12:00:00Z');
  const files = new NodeLocalFileSystem();
  const passphrase = 'a long enough passphrase for the copy';
  const src = path.join(dir, 'src');
  await mkdir(src);
  const big = Buffer.alloc(2_000_000);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  await writeFile(path.join(src, 'big.bin'), big);
  const local = await createRepository(new FileRepositoryStore(path.join(dir, 'local')), passphrase, { clock, kdf: { logN: 14 }, chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } });
  const vault = BlobRepositoryStore.fromConnection(azurite().connectionString, uniqueName('vaultcopy').toLowerCase().slice(0, 40), 'servers/mabs01/');

  const first = await backupFolder({ repository: local, files, clock }, { root: src, sourceName: 'data' });
  const copied = await copySnapshotsToVault(local, vault, [first.id]);
  expect(copied).toMatchObject({ snapshots: 1, chunksSkipped: 0, packsCopied: 1, chunksCopied: first.stats.newChunks });

  await appendFile(path.join(src, 'big.bin'), Buffer.from('a few new bytes at the end'));
  const second = await backupFolder({ repository: local, files, clock }, { root: src, sourceName: 'data' });
  const again = await copySnapshotsToVault(local, vault, [second.id]);
  expect(again).toMatchObject({ packsCopied: 1, chunksCopied: second.stats.newChunks }); // the second backup's one pack
  expect(again.chunksCopied).toBeLessThanOrEqual(3);
  expect(again.chunksSkipped).toBeGreaterThan(10);
  expect(await copySnapshotsToVault(local, vault, [second.id])).toMatchObject({ packsCopied: 0, chunksCopied: 0 });

  const remote = await openRepository(vault, passphrase);
  await restoreSnapshot({ repository: remote, files }, { snapshotId: second.id, targetRoot: path.join(dir, 'from-vault') });
  expect((await readFile(path.join(dir, 'from-vault/big.bin'))).equals(Buffer.concat([big, Buffer.from('a few new bytes at the end')]))).toBe(true);

  expect((await readTree(remote, second.id))[0].chunks!.length).toBeGreaterThan(10);
  const victim = (await remote.blobIndex()).blobs.get((await readTree(remote, second.id))[0].chunks![3])!;
  const envelope = (await vault.read(`packs/${victim.pack.slice(0, 2)}/${victim.pack}`))!;
  envelope[victim.offset + 40] ^= 0xff;
  await vault.write(`packs/${victim.pack.slice(0, 2)}/${victim.pack}`, envelope);
  await expect(restoreSnapshot({ repository: await openRepository(vault, passphrase), files }, { snapshotId: second.id, targetRoot: path.join(dir, 'tampered') }))
    .rejects.toMatchObject({ code: 'KluisRepositoryDataCorrupt' });
});
