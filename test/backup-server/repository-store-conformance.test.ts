/** One conformance suite for every RepositoryStore (restic's backend test suite in spirit): file, memory, blob (Azurite). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobRepositoryStore } from '../../lib/stores/azure/blob-repository-store';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import { MemoryRepositoryStore } from '../../lib/stores/memory/repository-store';
import type { RepositoryStore } from '../../lib/stores/repository-store';
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
