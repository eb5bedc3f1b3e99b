/**
 * The backup server's repository on real folders: round trip with metadata, dedup, a 1 % change, tampering, a wrong
 * passphrase and plaintext markers. scrypt runs at N=2^14 here (recorded in the config like any other cost), except
 * in the test of the defaults.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backupFolder } from '../../lib/backup-server/repository/backup-folder';
import { createRepository, generatePassphrase, openRepository, type Repository } from '../../lib/backup-server/repository/repository';
import { readTree, restoreSnapshot } from '../../lib/backup-server/repository/restore-snapshot';
import { rebuildIndex, verifyRepository } from '../../lib/backup-server/repository/verify-repository';
import { copySnapshotsToVault } from '../../lib/backup-server/repository/copy-to-vault';
import { forgetSnapshots, prunePacks, pruneRepository } from '../../lib/backup-server/repository/prune';
import { chunkKey, packKey } from '../../lib/backup-server/domain/repository-layout';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import type { RepositoryStore, RepositoryWriteBatch } from '../../lib/stores/repository-store';
import { MemoryRepositoryStore } from '../../lib/stores/memory/repository-store';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { pseudoRandomBytes } from '../support/pseudo-random';

const PASSPHRASE = 'correct horse battery staple 42';
const SMALL_CHUNKS = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };
const FAST_KDF = { logN: 14 };
const clock = () => new Date('2026-12-07T12:00:00Z');
const files = new NodeLocalFileSystem();

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-repo-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const bytes = pseudoRandomBytes;

/** Version 2 (pack files) unless the test is about version 1's one object per chunk. */
async function newRepository(name = 'repo', version: 1 | 2 = 2): Promise<Repository> {
  return createRepository(new FileRepositoryStore(path.join(work, name)), PASSPHRASE, { clock, kdf: FAST_KDF, chunker: SMALL_CHUNKS, version });
}

/** A tree with nested folders, empty/small/large files, odd modes, fixed times and a symlink. */
async function makeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'docs/reports/2026'), { recursive: true });
  await mkdir(path.join(root, 'empty-folder'), { recursive: true });
  await writeFile(path.join(root, 'docs/readme.txt'), 'hello from the protected server\n'.repeat(200));
  await writeFile(path.join(root, 'docs/reports/2026/q4.bin'), bytes(700_000, 'q4'));
  await writeFile(path.join(root, 'docs/reports/empty.dat'), '');
  await writeFile(path.join(root, 'large.img'), Buffer.concat([bytes(1_500_000, 'large'), Buffer.alloc(500_000)]));
  await writeFile(path.join(root, 'secret.key'), 'private');
  await chmod(path.join(root, 'secret.key'), 0o600);
  await chmod(path.join(root, 'large.img'), 0o640);
  await symlink('docs/readme.txt', path.join(root, 'readme-link'));
  let t = Date.parse('2026-11-01T08:30:00.123Z');
  for (const rel of ['docs/readme.txt', 'docs/reports/2026/q4.bin', 'docs/reports/empty.dat', 'large.img', 'secret.key', 'docs/reports/2026', 'docs/reports', 'docs', 'empty-folder']) {
    t += 3_600_000;
    await utimes(path.join(root, rel), new Date(t), new Date(t));
  }
  await chmod(path.join(root, 'docs/reports'), 0o750);
}

interface Seen { path: string; type: string; mode: number; mtimeS: number; size: number; sha?: string; target?: string }
async function describeTree(root: string): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const e of files.walk(root)) {
    const seen: Seen = { path: e.path, type: e.type, mode: e.type === 'symlink' ? 0 : e.mode, mtimeS: Math.floor(e.mtimeMs / 1000), size: e.size };
    if (e.type === 'file') seen.sha = createHash('sha256').update(await readFile(path.join(root, e.path))).digest('hex');
    if (e.type === 'symlink') seen.target = e.target;
    out.push(seen);
  }
  return out;
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out.sort();
}

async function fingerprint(dir: string): Promise<string[]> {
  return Promise.all((await allFiles(dir)).map(async (f) => `${path.relative(dir, f)}:${createHash('sha256').update(await readFile(f)).digest('hex')}`));
}

describe('backup server repository', () => {
  it('restores a folder tree byte-identical with modes, times and links, on a second server with the passphrase', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository();
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'D:\\Data' });
    expect(snapshot.stats).toMatchObject({ files: 5, dirs: 4, bytes: 6400 + 700_000 + 2_000_000 + 7 });

    // a "second server": a fresh open of the same folder with only the passphrase
    const second = await openRepository(new FileRepositoryStore(path.join(work, 'repo')), PASSPHRASE);
    const target = path.join(work, 'restored');
    const result = await restoreSnapshot({ repository: second, files }, { snapshotId: snapshot.id, targetRoot: target });
    expect(result).toEqual({ files: 5, dirs: 4, bytes: snapshot.stats.bytes });
    expect(await describeTree(target)).toEqual(await describeTree(source));
  });

  it('restores files a few at a time (session 8), folders before them and their times after', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    for (let i = 0; i < 8; i++) await writeFile(path.join(source, `docs/extra-${i}.txt`), `extra ${i}\n`.repeat(500));
    const repository = await newRepository();
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    let writing = 0;
    let most = 0;
    const counting: typeof files = Object.assign(Object.create(files) as typeof files, {
      writeFile: async (root: string, relative: string, data: AsyncIterable<Uint8Array>) => {
        most = Math.max(most, ++writing);
        try {
          await files.writeFile(root, relative, data);
        } finally {
          writing--;
        }
      },
    });
    const target = path.join(work, 'restored');
    expect(await restoreSnapshot({ repository, files: counting }, { snapshotId: snapshot.id, targetRoot: target })).toMatchObject({ files: 13, dirs: 4 });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    expect(await describeTree(target)).toEqual(await describeTree(source));
  });

  it('restores one file deep in the tree to an alternate location', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository();
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const target = path.join(work, 'one-file');
    await restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: target, paths: ['docs/reports/2026/q4.bin'] });
    expect(await allFiles(target)).toEqual([path.join(target, 'docs/reports/2026/q4.bin')]);
    expect((await readFile(path.join(target, 'docs/reports/2026/q4.bin'))).equals(bytes(700_000, 'q4'))).toBe(true);
    await expect(restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: target, paths: ['nope.txt'] }))
      .rejects.toMatchObject({ code: 'KluisInvalidRequest' });
  });

  it('dedups (version 1): the same tree twice stores no new chunk and no new data file', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository('repo', 1);
    const first = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const dataBefore = (await allFiles(path.join(work, 'repo/data'))).length;
    const second = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    expect(first.stats.newChunks).toBeGreaterThan(0);
    expect(second.stats).toMatchObject({ newChunks: 0, newChunkBytes: 0, chunks: first.stats.chunks });
    expect((await allFiles(path.join(work, 'repo/data'))).length).toBe(dataBefore);
    expect(second.stats.storedBytes).toBeLessThan(2048); // the snapshot document only
    // the same file under another name (another source) dedups too
    await mkdir(path.join(work, 'other'));
    await writeFile(path.join(work, 'other/copy.bin'), bytes(700_000, 'q4'));
    const third = await backupFolder({ repository, files, clock }, { root: path.join(work, 'other'), sourceName: 'other' });
    expect(third.stats.newChunkBytes).toBeLessThan(4096); // its tree only
  });

  it('a 1 % change (an overwrite, and an insertion that shifts the rest) stores about 1 % new chunk bytes', async () => {
    const source = path.join(work, 'source');
    await mkdir(source);
    const size = 4 * 1024 * 1024;
    for (let i = 0; i < 4; i++) await writeFile(path.join(source, `file-${i}.bin`), bytes(size, `file-${i}`));
    const total = 4 * size;
    // Chunks well below 1 % of the data, so the edges of a change cost little: at most 1 % + 2 × max (64 KiB) here,
    // whatever cut points this repository's key-derived gear table gives.
    const repository = await createRepository(new FileRepositoryStore(path.join(work, 'repo')), PASSPHRASE, {
      clock, kdf: FAST_KDF, chunker: { minSize: 4 * 1024, avgSize: 16 * 1024, maxSize: 64 * 1024 },
    });
    await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });

    const onePercent = Math.round(total / 100);
    const f1 = await readFile(path.join(source, 'file-1.bin'));
    bytes(onePercent, 'changed').copy(f1, 1_000_000);
    await writeFile(path.join(source, 'file-1.bin'), f1);
    const overwrite = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    expect(overwrite.stats.newChunkBytes / total).toBeGreaterThanOrEqual(0.01);
    expect(overwrite.stats.newChunkBytes / total).toBeLessThan(0.025);

    const f2 = await readFile(path.join(source, 'file-2.bin'));
    await writeFile(path.join(source, 'file-2.bin'), Buffer.concat([f2.subarray(0, 2_000_000), bytes(onePercent, 'inserted'), f2.subarray(2_000_000)]));
    const insertion = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    expect(insertion.stats.newChunkBytes / total).toBeGreaterThanOrEqual(0.01);
    expect(insertion.stats.newChunkBytes / total).toBeLessThan(0.025);
  });

  it('version 1: writes chunks in a batch (no fsync each): committed, under their names and durable, before the snapshot document; a failed commit stores no snapshot and forgets its chunks', async () => {
    const file = new FileRepositoryStore(path.join(work, 'repo'));
    const events: string[] = [];
    let failCommit = true;
    // The file store behind a recorder of what is written when; its first commit fails after linking.
    const store: RepositoryStore = Object.assign(Object.create(file) as FileRepositoryStore, {
      write: (key: string, data: Uint8Array) => (events.push(`write ${key.split('/')[0]}`), file.write(key, data)),
      writeIfAbsent: (key: string, data: Uint8Array) => (events.push(`write ${key.split('/')[0]}`), file.writeIfAbsent(key, data)),
      beginBatch: (): RepositoryWriteBatch => {
        const batch = file.beginBatch();
        return {
          writeIfAbsent: (key, data) => (events.push(`batch ${key.split('/')[0]}`), batch.writeIfAbsent(key, data)),
          commit: async () => {
            events.push('commit');
            await batch.commit();
            // As a commit that fails part way (its temporary files are removed either way).
            if (failCommit) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          },
        };
      },
    });
    const repository = await createRepository(store, PASSPHRASE, { clock, kdf: FAST_KDF, chunker: SMALL_CHUNKS, version: 1 });
    const staged = await repository.putChunk(bytes(50_000, 'staged'));
    expect(staged.added).toBe(true);
    expect(await file.exists(chunkKey(staged.id))).toBe(false); // written to tmp/ only, not yet under its name
    expect(await readdir(path.join(work, 'repo/tmp'))).toHaveLength(1);

    const source = path.join(work, 'source');
    await makeTree(source);
    await expect(backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' })).rejects.toThrow('no space left on device');
    expect(await repository.listSnapshotIds()).toEqual([]);
    expect(repository.hasChunk(staged.id)).toBe(false);
    expect(await readdir(path.join(work, 'repo/tmp'))).toEqual([]);

    failCommit = false;
    events.length = 0;
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    expect(events.filter((e) => e !== 'batch data')).toEqual(['commit', 'write snapshots']);
    expect(events.filter((e) => e === 'batch data').length).toBeGreaterThan(5);
    expect(await readdir(path.join(work, 'repo/tmp'))).toEqual([]);
    const second = await openRepository(new FileRepositoryStore(path.join(work, 'repo')), PASSPHRASE);
    await restoreSnapshot({ repository: second, files }, { snapshotId: snapshot.id, targetRoot: path.join(work, 'restored') });
    expect(await describeTree(path.join(work, 'restored'))).toEqual(await describeTree(source));
  });

  it('version 1: stores chunks a few at a time; a failed put fails the backup (no snapshot) and nothing is left unhandled', async () => {
    const memory = new MemoryRepositoryStore();
    let writes = 0;
    let inFlight = 0;
    let most = 0;
    const store: RepositoryStore = Object.assign(Object.create(memory) as MemoryRepositoryStore, {
      writeIfAbsent: async (key: string, data: Uint8Array) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        if (key.startsWith('data/') && ++writes === 6) throw new Error('the disk went away');
        return memory.writeIfAbsent(key, data);
      },
    });
    const repository = await createRepository(store, PASSPHRASE, { clock, kdf: FAST_KDF, chunker: SMALL_CHUNKS, version: 1 });
    const source = path.join(work, 'source');
    await makeTree(source);
    await expect(backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' })).rejects.toThrow('the disk went away');
    expect(await repository.listSnapshotIds()).toEqual([]);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    await restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: path.join(work, 'restored') });
    expect(await describeTree(path.join(work, 'restored'))).toEqual(await describeTree(source));
  });

  it('version 1: detects a modified chunk at restore (nothing written under the real name) and in verify', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository('repo', 1);
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    expect((await verifyRepository(repository)).problems).toEqual([]);

    const q4 = (await readTree(repository, snapshot.id)).find((e) => e.path === 'docs/reports/2026/q4.bin')!;
    const victim = path.join(work, 'repo', chunkKey(q4.chunks![1]));
    const envelope = await readFile(victim);
    envelope[envelope.length >> 1] ^= 0x01;
    await writeFile(victim, envelope);

    const target = path.join(work, 'restored');
    await expect(restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: target }))
      .rejects.toMatchObject({ code: 'KluisRepositoryDataCorrupt' });
    await expect(stat(path.join(target, 'docs/reports/2026/q4.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readdir(path.join(target, 'docs/reports/2026'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const report = await verifyRepository(repository);
    expect(report.problems).toEqual([expect.objectContaining({ object: chunkKey(q4.chunks![1]), code: 'KluisRepositoryDataCorrupt' })]);
  });

  it('version 1: detects a chunk swapped for another valid chunk (the name is bound into the encryption)', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository('repo', 1);
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const q4 = (await readTree(repository, snapshot.id)).find((e) => e.path === 'docs/reports/2026/q4.bin')!;
    const [a, b] = q4.chunks!;
    await writeFile(path.join(work, 'repo', chunkKey(a)), await readFile(path.join(work, 'repo', chunkKey(b))));
    await expect(repository.readChunk(a)).rejects.toMatchObject({ code: 'KluisRepositoryDataCorrupt' });
  });

  it('refuses a wrong passphrase before reading data or writing anything', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository();
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const before = await fingerprint(path.join(work, 'repo'));
    await expect(openRepository(new FileRepositoryStore(path.join(work, 'repo')), 'incorrect horse battery staple'))
      .rejects.toMatchObject({ code: 'KluisPassphraseIncorrect', status: 400 });
    expect(await fingerprint(path.join(work, 'repo'))).toEqual(before);
    await expect(stat(path.join(work, 'restored'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(snapshot.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses a config whose parameters were edited (they are bound to the wrapped key)', async () => {
    await newRepository();
    const configPath = path.join(work, 'repo/config');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    config.chunker.avgSize = 32 * 1024;
    await writeFile(configPath, JSON.stringify(config));
    await expect(openRepository(new FileRepositoryStore(path.join(work, 'repo')), PASSPHRASE)).rejects.toMatchObject({ code: 'KluisPassphraseIncorrect' });
    await writeFile(configPath, '{"format":"something else"}');
    await expect(openRepository(new FileRepositoryStore(path.join(work, 'repo')), PASSPHRASE)).rejects.toMatchObject({ code: 'KluisRepositoryConfigInvalid' });
  });

  it('keeps no plaintext in the repository: contents, file names and the source path are unreadable without the passphrase', async () => {
    const source = path.join(work, 'source-MARKERPATH');
    await mkdir(path.join(source, 'MARKERDIR'), { recursive: true });
    await writeFile(path.join(source, 'MARKERDIR/MARKERNAME.txt'), 'PLAINTEXTMARKER-4711 '.repeat(5000));
    await writeFile(path.join(source, 'tiny.txt'), 'PLAINTEXTMARKER-4711');
    const repository = await newRepository();
    await backupFolder({ repository, files, clock }, { root: source, sourceName: 'MARKERSOURCE' });
    const repoFiles = await allFiles(path.join(work, 'repo'));
    expect(repoFiles.length).toBeGreaterThan(3);
    for (const file of repoFiles) {
      const text = (await readFile(file)).toString('latin1') + path.relative(work, file);
      for (const marker of ['PLAINTEXTMARKER', 'MARKERDIR', 'MARKERNAME', 'MARKERPATH', 'MARKERSOURCE', PASSPHRASE]) expect(text).not.toContain(marker);
    }
  });

  it('records its parameters, refuses a short passphrase and a second create, and generates strong passphrases', async () => {
    const store = new FileRepositoryStore(path.join(work, 'defaults'));
    await expect(createRepository(store, 'too short', { clock })).rejects.toMatchObject({ code: 'KluisPassphraseTooShort' });
    await expect(stat(path.join(work, 'defaults'))).rejects.toMatchObject({ code: 'ENOENT' });

    const repository = await createRepository(store, PASSPHRASE, { clock });
    expect(repository.config).toMatchObject({
      version: 2,
      aead: 'AES-256-GCM',
      chunkIdHash: 'HMAC-SHA-256',
      kdf: { algorithm: 'scrypt', logN: 17, r: 8, p: 1 },
      chunker: { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 },
      compression: { codec: 'brotli', level: 3 },
    });
    const onDisk = JSON.parse(await readFile(path.join(work, 'defaults/config'), 'utf8'));
    expect(onDisk.kdf).toEqual(repository.config.kdf);
    await expect(createRepository(store, PASSPHRASE, { clock })).rejects.toMatchObject({ code: 'KluisRepositoryAlreadyExists' });
    await expect(openRepository(new FileRepositoryStore(path.join(work, 'nothing-here')), PASSPHRASE)).rejects.toMatchObject({ code: 'KluisRepositoryNotFound' });

    const generated = generatePassphrase();
    expect(generated).toMatch(/^[A-Z2-9]{8}(-[A-Z2-9]{8}){3}$/);
    expect(generatePassphrase()).not.toBe(generated);
  });
});

describe('pack files (repository version 2, session 9)', () => {
  const storeAt = (name = 'repo', now = clock) => new FileRepositoryStore(path.join(work, name), now);
  /** A small tree (two files, a folder): these tests are about the repository, not the walk. */
  const smallTree = async (root: string) => {
    await mkdir(path.join(root, 'docs'), { recursive: true });
    await writeFile(path.join(root, 'docs/q4.bin'), bytes(300_000, 'q4-small'));
    await writeFile(path.join(root, 'readme.txt'), 'hello\n'.repeat(100));
  };
  const keysUnder = async (store: RepositoryStore, prefix: string) => {
    const keys: string[] = [];
    for await (const key of store.list(prefix)) keys.push(key);
    return keys.sort();
  };

  it('round trip: chunks go into few packs and an index written at the commit; a second unlock reads the index (no data/) and restores and verifies', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const repository = await newRepository();
    repository.packTargetBytes = 512 * 1024;
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const store = storeAt();
    const packs = await keysUnder(store, 'packs/');
    expect(packs.length).toBeGreaterThan(1);
    expect(packs.length).toBeLessThan(snapshot.stats.newChunks / 3);
    expect(await keysUnder(store, 'index/')).toHaveLength(1);
    expect(await keysUnder(store, 'data/')).toEqual([]);

    const second = await openRepository(store, PASSPHRASE);
    expect(second.chunkCount).toBe(snapshot.stats.newChunks);
    await restoreSnapshot({ repository: second, files }, { snapshotId: snapshot.id, targetRoot: path.join(work, 'restored') });
    expect(await describeTree(path.join(work, 'restored'))).toEqual(await describeTree(source));
    expect(await verifyRepository(second)).toMatchObject({ problems: [], chunksRead: snapshot.stats.newChunks, packs: packs.length });
    // A second backup of the same tree adds no pack, only its snapshot document (and no index: nothing new).
    const again = await backupFolder({ repository: second, files, clock }, { root: source, sourceName: 'data' });
    expect(again.stats.newChunks).toBe(0);
    expect(await keysUnder(store, 'packs/')).toEqual(packs);
    expect(await keysUnder(store, 'index/')).toHaveLength(1);
  });

  it('a crash before the commit leaves nothing visible (only tmp/ files, swept at an unlock a day later)', async () => {
    const repository = await newRepository();
    repository.packTargetBytes = 64 * 1024;
    for (let i = 0; i < 4; i++) await repository.putChunk(bytes(40_000, `uncommitted-${i}`)); // two packs closed (to tmp/)
    expect((await readdir(path.join(work, 'repo/tmp'))).length).toBe(2);
    const reopened = await openRepository(storeAt(), PASSPHRASE);
    expect(reopened.chunkCount).toBe(0);
    expect(await keysUnder(storeAt(), 'packs/')).toEqual([]);
    expect(await keysUnder(storeAt(), 'index/')).toEqual([]);
    expect((await readdir(path.join(work, 'repo/tmp'))).length).toBe(2); // younger than a day: a batch may still be running
    await openRepository(storeAt('repo', () => new Date(Date.now() + 25 * 3_600_000)), PASSPHRASE);
    expect(await readdir(path.join(work, 'repo/tmp'))).toEqual([]);
  });

  it('writes packs piece by piece (a failed piece fails the backup, no snapshot, chunks forgotten); a restore reads through a few open packs', async () => {
    const source = path.join(work, 'source');
    await makeTree(source);
    const file = storeAt();
    let failPieces = true;
    let pieces = 0;
    // The file store whose streamed pack writes fail from the third piece on while failPieces is set.
    const store: RepositoryStore = Object.assign(Object.create(file) as FileRepositoryStore, {
      beginBatch: (): RepositoryWriteBatch => {
        const batch = file.beginBatch();
        return {
          ...batch,
          openStreamedWrite: () => {
            const streamed = batch.openStreamedWrite!();
            return {
              ...streamed,
              write: async (offset: number, data: Uint8Array) => {
                if (failPieces && ++pieces > 2) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
                return streamed.write(offset, data);
              },
            };
          },
        };
      },
    });
    const repository = await createRepository(store, PASSPHRASE, { clock, kdf: FAST_KDF, chunker: SMALL_CHUNKS });
    repository.packTargetBytes = 256 * 1024;
    await expect(backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' })).rejects.toThrow('no space left on device');
    expect(await repository.listSnapshotIds()).toEqual([]);
    expect(repository.chunkCount).toBe(0);
    expect(await keysUnder(file, 'packs/')).toEqual([]);

    failPieces = false;
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const packs = await keysUnder(file, 'packs/');
    expect(packs.length).toBeGreaterThan(3);
    // Each pack's name is the SHA-256 of its file (the hash taken piece by piece matches the bytes written).
    for (const key of packs) expect(createHash('sha256').update(await readFile(path.join(work, 'repo', key))).digest('hex')).toBe(key.split('/').pop());
    const second = await openRepository(storeAt(), PASSPHRASE);
    expect(await verifyRepository(second)).toMatchObject({ problems: [], packs: packs.length });

    // The restore's range reader keeps at most a few packs open, and reads a pack deleted meanwhile as it was opened.
    const reader = storeAt().openRangeReader();
    const ranges = await Promise.all(packs.map((key) => reader.readRange(key, 0, 16)));
    expect(ranges.every((range) => range?.length === 16)).toBe(true);
    expect(reader.openCount).toBeLessThanOrEqual(8);
    const kept = packs[packs.length - 1];
    await rm(path.join(work, 'repo', kept));
    expect(await reader.readRange(kept, 0, 16)).toEqual(ranges[ranges.length - 1]);
    expect(await storeAt().readRange(kept, 0, 16)).toBeUndefined();
    await reader.close();
    expect(reader.openCount).toBe(0);
    await expect(reader.readRange(packs[0], 0, 16)).rejects.toThrow('closed');
    expect(snapshot.stats.newChunks).toBe(second.chunkCount);
  });

  it('prune: drops packs with nothing referenced, repacks mostly dead ones, keeps mostly live ones; new index before the old packs go', async () => {
    const store = new MemoryRepositoryStore();
    const repository = await createRepository(store, PASSPHRASE, { clock, kdf: FAST_KDF, chunker: SMALL_CHUNKS });
    repository.packTargetBytes = 250_000;
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) ids.push((await repository.putChunk(bytes(60_000, `blob-${i}`))).id); // 5 per pack
    await repository.commitChunks();
    const packsBefore = await keysUnder(store, 'packs/');
    expect(packsBefore).toHaveLength(3);
    const orphan = packKey('ab'.repeat(32)); // a pack a crashed backup left without index entries
    await store.write(orphan, Buffer.from('left by a crash'));
    const deleted: string[] = [];
    const recording = Object.assign(Object.create(store) as MemoryRepositoryStore, {
      delete: async (key: string) => (deleted.push(key.split('/')[0]), store.delete(key)),
    });
    const onRecording = await repository.onStore(recording);
    // Pack 1: 4 of 5 referenced (kept whole); pack 2: 1 of 5 (repacked); pack 3: none (dropped).
    const result = await prunePacks(onRecording, new Set([...ids.slice(0, 4), ids[5]]));
    expect(result).toMatchObject({ packsDeleted: 3, packsRepacked: 1, packsWritten: 1, chunksDeleted: 9 });
    expect(deleted).toEqual(['index', 'packs', 'packs', 'packs']); // the old index object first, then the packs
    expect(await keysUnder(store, 'index/')).toHaveLength(1);
    const after = await openRepository(store, PASSPHRASE);
    expect(after.chunkCount).toBe(6); // 4 + the kept pack's dead blob 4 + the repacked blob 5
    for (const i of [0, 1, 2, 3, 4, 5]) expect(after.hasChunk(ids[i])).toBe(true);
    for (const i of [0, 5]) expect((await after.readChunk(ids[i])).equals(bytes(60_000, `blob-${i}`))).toBe(true);
    await expect(after.readChunk(ids[6])).rejects.toMatchObject({ code: 'KluisRepositoryObjectNotFound' });
    expect(await verifyRepository(after)).toMatchObject({ problems: [], chunksRead: 6, packs: 2 });
    expect(await store.exists(orphan)).toBe(false);
  });

  it('detects a modified blob in a pack (restore and verify) and an index entry that does not match its pack; rebuilds the index from the pack headers', async () => {
    const source = path.join(work, 'source');
    await smallTree(source);
    const repository = await newRepository();
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });
    const [pack] = await keysUnder(storeAt(), 'packs/');
    const original = await readFile(path.join(work, 'repo', pack));
    const tampered = Buffer.from(original);
    tampered[1000] ^= 0x01;
    await writeFile(path.join(work, 'repo', pack), tampered);
    await expect(restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: path.join(work, 'restored') }))
      .rejects.toMatchObject({ code: 'KluisRepositoryDataCorrupt' });
    expect((await verifyRepository(repository)).problems).toEqual([expect.objectContaining({ object: pack, code: 'KluisRepositoryDataCorrupt' })]);

    // The pack intact, its index lost: unlock knows nothing; rebuilt from the headers, all is there again.
    await writeFile(path.join(work, 'repo', pack), original);
    for (const key of await keysUnder(storeAt(), 'index/')) await rm(path.join(work, 'repo', key));
    const lost = await openRepository(storeAt(), PASSPHRASE);
    expect(lost.chunkCount).toBe(0);
    expect((await verifyRepository(lost)).problems.length).toBeGreaterThan(0);
    expect(await rebuildIndex(lost)).toMatchObject({ packs: 1, chunks: snapshot.stats.newChunks, problems: [] });
    const rebuilt = await openRepository(storeAt(), PASSPHRASE);
    expect(await verifyRepository(rebuilt)).toMatchObject({ problems: [], chunksRead: snapshot.stats.newChunks });
    const packId = pack.slice(pack.lastIndexOf('/') + 1);
    await rebuilt.indexPacks([{ id: packId, blobs: [{ id: snapshot.tree[0], offset: 0, length: 100 }] }]); // an index entry the header contradicts
    // (The tree chunk may also fail to read, when the wrong entry is the one the index kept: both are reported.)
    expect((await verifyRepository(await openRepository(storeAt(), PASSPHRASE))).problems).toContainEqual(
      expect.objectContaining({ object: pack, code: 'KluisRepositoryDataCorrupt', message: expect.stringContaining(`does not list chunk ${snapshot.tree[0]} where the index says`) }),
    );
  });

  it('version 1 stays as it was: read, verified, pruned, copied and written one object per chunk (no packs)', async () => {
    const source = path.join(work, 'source');
    await smallTree(source);
    const v1 = await newRepository('repo', 1);
    const first = await backupFolder({ repository: v1, files, clock }, { root: source, sourceName: 'data' });
    await writeFile(path.join(source, 'docs/new.txt'), 'added later');
    const reopened = await openRepository(storeAt(), PASSPHRASE);
    expect(reopened.config.version).toBe(1);
    const second = await backupFolder({ repository: reopened, files, clock }, { root: source, sourceName: 'data' });
    expect(await keysUnder(storeAt(), 'packs/')).toEqual([]);
    expect((await keysUnder(storeAt(), 'data/')).length).toBe(first.stats.newChunks + second.stats.newChunks);
    await forgetSnapshots(reopened, [first.id]);
    expect((await pruneRepository(reopened)).chunksDeleted).toBe(1); // the first tree
    const vault = new MemoryRepositoryStore();
    expect(await copySnapshotsToVault(reopened, vault, [second.id])).toMatchObject({ snapshots: 1, chunksCopied: second.stats.chunks });
    const fromVault = await openRepository(vault, PASSPHRASE);
    expect(await verifyRepository(fromVault)).toMatchObject({ problems: [], chunksRead: second.stats.chunks });
    await restoreSnapshot({ repository: fromVault, files }, { snapshotId: second.id, targetRoot: path.join(work, 'restored') });
    expect(await describeTree(path.join(work, 'restored'))).toEqual(await describeTree(source));
  });
});
