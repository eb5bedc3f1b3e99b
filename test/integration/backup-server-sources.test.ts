/**
 * Backup server sources (session 7) on real folders and files: include/exclude, the metadata a restore keeps
 * (owners as root, special files skipped with the reason), names a Windows target cannot hold, and disk images
 * (fixed and dynamic VHDs, raw) backed up as one sparse, deduplicated volume and restored byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backupFolder } from '../../lib/backup-server/repository/backup-folder';
import { applySectorBitmap, fixedFooterFrom, isAllZero, parseVhdFooter, vhdChecksum } from '../../lib/backup-server/domain/disk-image';
import { backupDiskImage } from '../../lib/backup-server/repository/disk-image-volume';
import { createRepository, type Repository } from '../../lib/backup-server/repository/repository';
import { restoreSnapshot } from '../../lib/backup-server/repository/restore-snapshot';
import { verifyRepository } from '../../lib/backup-server/repository/verify-repository';
import { pruneRepository } from '../../lib/backup-server/repository/prune';
import { FileRepositoryStore } from '../../lib/stores/file/repository-store';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { pseudoRandomBytes as bytes } from '../support/pseudo-random';
import { dynamicVhd, fixedVhd, vhdFooter } from '../support/vhd-images';

const PASSPHRASE = 'correct horse battery staple 42';
const clock = () => new Date('2026-12-07T12:00:00Z');
const files = new NodeLocalFileSystem();
const isRoot = process.getuid?.() === 0;

// One repository for the file (its KDF costs more than a test); each test works in its own folder.
let root: string;
let work: string;
let repository: Repository;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'kluis-bs-sources-'));
  repository = await createRepository(new FileRepositoryStore(path.join(root, 'repo')), PASSPHRASE, {
    clock, kdf: { logN: 14 }, chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 },
  });
});
beforeEach(async () => {
  work = await mkdtemp(path.join(root, 'test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function listTree(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map((p) => p.split(path.sep).join('/')).sort();
}

async function write(root: string, rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

describe('folder sources', () => {
  it('leaves out exactly the excluded files, does not read excluded folders, and restores the rest with owners; special files are skipped with the reason', async () => {
    const source = path.join(work, 'source');
    for (const rel of ['a.txt', 'b.tmp', 'sub/c.TMP', 'sub/d.txt', 'cache/x.bin', 'docs/report.docx']) await write(source, rel, `content of ${rel}\n`);
    await mkdir(path.join(source, 'empty'));
    execFileSync('mkfifo', [path.join(source, 'pipe')]);
    execFileSync('mkfifo', [path.join(source, 'cache/inner-pipe')]); // inside an excluded folder: never seen
    if (isRoot) await chown(path.join(source, 'sub/d.txt'), 1234, 5678);

    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data', filter: { exclude: ['*.tmp', 'cache/'] } });
    expect(snapshot.stats).toMatchObject({ files: 4, excluded: 2, skipped: 1, skippedEntries: [{ path: 'pipe', reason: expect.stringMatching(/FIFO/) }] });
    expect(snapshot.source.pathStyle).toBe('posix');

    const target = path.join(work, 'restored');
    await restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: target });
    expect(await listTree(target)).toEqual(['a.txt', 'docs', 'docs/report.docx', 'empty', 'sub', 'sub/c.TMP', 'sub/d.txt']);
    expect(await readFile(path.join(target, 'sub/d.txt'), 'utf8')).toBe('content of sub/d.txt\n');
    if (isRoot) expect(await lstat(path.join(target, 'sub/d.txt'))).toMatchObject({ uid: 1234, gid: 5678 });

    // windows rules: *.tmp also matches c.TMP; includes keep only the matches and their folders
    const windows = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data', pathStyle: 'windows', filter: { include: ['*.TXT', 'DOCS\\'], exclude: ['*.tmp', 'cache\\'] } });
    const target2 = path.join(work, 'restored-2');
    await restoreSnapshot({ repository, files }, { snapshotId: windows.id, targetRoot: target2 });
    expect(await listTree(target2)).toEqual(['a.txt', 'docs', 'docs/report.docx', 'sub', 'sub/d.txt']);
  });

  it('refuses a restore of names a Windows target cannot hold before writing anything, or renames them on request', async () => {
    const source = path.join(work, 'source');
    for (const rel of ['CON.txt', 'Readme', 'README', 'what?/inner.txt', 'fine.txt']) await write(source, rel, rel);
    const snapshot = await backupFolder({ repository, files, clock }, { root: source, sourceName: 'data' });

    const target = path.join(work, 'share');
    await expect(restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: target, targetStyle: 'windows' }))
      .rejects.toMatchObject({ code: 'KluisRestoreNameNotAllowed', status: 400, message: expect.stringContaining("'CON.txt' cannot be restored to a windows target") });
    await expect(lstat(target)).rejects.toMatchObject({ code: 'ENOENT' });

    const result = await restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: target, targetStyle: 'windows', onInvalidName: 'rename' });
    expect(result.renamed?.map((r) => `${r.from} -> ${r.to}`)).toEqual(['CON.txt -> _CON.txt', 'Readme -> Readme (2)', 'what? -> what_']);
    expect(await listTree(target)).toEqual(['README', 'Readme (2)', '_CON.txt', 'fine.txt', 'what_', 'what_/inner.txt']);
    expect(await readFile(path.join(target, 'Readme (2)'), 'utf8')).toBe('Readme');
  });
});

describe('disk image format (pure)', () => {
  it('checks footers by checksum, turns a dynamic footer into a fixed one, reads unwritten sectors as zeros', () => {
    const dynamic = vhdFooter(1024 * 1024, 3, 512n);
    expect(parseVhdFooter(dynamic, 'd.vhd')).toMatchObject({ diskType: 3, currentSize: 1024 * 1024, dynamicHeaderOffset: 512 });
    expect(vhdChecksum(dynamic, 64)).toBe(dynamic.readUInt32BE(64));
    const fixed = fixedFooterFrom(dynamic);
    expect(parseVhdFooter(fixed, 'f.vhd')).toEqual({ diskType: 2, currentSize: 1024 * 1024, uniqueId: dynamic.subarray(68, 84).toString('hex') });
    expect(fixed.subarray(68, 84).equals(dynamic.subarray(68, 84))).toBe(true);
    const bad = Buffer.from(dynamic);
    bad[100] ^= 1;
    expect(() => parseVhdFooter(bad, 'bad.vhd')).toThrow(expect.objectContaining({ code: 'KluisDiskImageInvalid', message: expect.stringContaining("'bad.vhd'") }));

    const data = Buffer.alloc(4 * 512, 9);
    const bitmap = Buffer.from([0b1010_0000]);
    expect([...applySectorBitmap(bitmap, data)].filter((_, i) => i % 512 === 0)).toEqual([9, 0, 9, 0]);
    const zeros = Buffer.alloc(200_000);
    expect(isAllZero(zeros)).toBe(true);
    zeros[199_999] = 1;
    expect(isAllZero(zeros)).toBe(false);
  });
});

describe('disk image sources', () => {
  const MiB = 1024 * 1024;
  const KiB = 1024;
  /** 2 MiB: data, 512 KiB of zeros, data, a zero tail: a sparse disk (8 blocks of 256 KiB as a dynamic VHD). */
  const disk = () => Buffer.concat([bytes(512 * KiB, 'a'), Buffer.alloc(512 * KiB), bytes(768 * KiB, 'b'), Buffer.alloc(256 * KiB)]);

  it('backs up a dynamic VHD as one sparse volume, stores only changed chunks the next day, restores raw and as a fixed VHD byte for byte', async () => {
    const data = disk();
    const image = path.join(work, 'disks/server.vhd');
    await write(work, 'disks/server.vhd', dynamicVhd(data, 256 * KiB, [300]));
    data.fill(0, 300 * 512, 301 * 512); // a sector whose bitmap bit is clear reads as zeros

    const first = await backupDiskImage({ repository, files, clock }, { image, sourceName: 'server-disk' });
    expect(first.source).toMatchObject({ kind: 'DiskImage', root: image });
    expect(first.stats).toMatchObject({ files: 1, bytes: 2 * MiB, zeroBytes: 768 * KiB });
    expect(first.stats.newChunkBytes).toBeLessThan(1.3 * MiB); // the zero regions are not stored

    // a day later: 4 KiB changed in the middle of the second data region
    bytes(4096, 'changed').copy(data, MiB + 400_000);
    await write(work, 'disks/server.vhd', dynamicVhd(data, 256 * KiB));
    const second = await backupDiskImage({ repository, files, clock }, { image, sourceName: 'server-disk' });
    expect(second.stats.newChunks).toBeLessThanOrEqual(4); // the changed region's chunks (CDC: 1-2) and the tree
    expect(second.stats.newChunkBytes).toBeLessThan(600 * KiB);

    const raw = await restoreSnapshot({ repository, files }, { snapshotId: second.id, targetRoot: path.join(work, 'raw'), imageFormat: 'raw' });
    expect(raw).toMatchObject({ files: 1, bytes: 2 * MiB });
    expect((await readFile(path.join(work, 'raw/server.img'))).equals(data)).toBe(true);

    await restoreSnapshot({ repository, files }, { snapshotId: second.id, targetRoot: path.join(work, 'vhd') });
    const fixed = await readFile(path.join(work, 'vhd/server.vhd'));
    expect(fixed.length).toBe(2 * MiB + 512);
    expect(fixed.subarray(0, 2 * MiB).equals(data)).toBe(true);
    expect(fixed.readUInt32BE(2 * MiB + 60)).toBe(2); // a fixed VHD, whose footer a backup accepts again
    const again = await backupDiskImage({ repository, files, clock }, { image: path.join(work, 'vhd/server.vhd'), sourceName: 'restored' });
    expect(again.stats.newChunks).toBe(1); // the tree: every data chunk dedups

    expect((await pruneRepository(repository)).chunksDeleted).toBe(0); // image chunks are referenced
    expect((await verifyRepository(repository)).problems).toEqual([]);
  });

  it('restores a fixed VHD byte-identical and a raw image raw', async () => {
    const vhd = fixedVhd(disk());
    await write(work, 'disks/fixed.vhd', vhd);
    const snapshot = await backupDiskImage({ repository, files, clock }, { image: path.join(work, 'disks/fixed.vhd'), sourceName: 'fixed' });
    await restoreSnapshot({ repository, files }, { snapshotId: snapshot.id, targetRoot: path.join(work, 'out') });
    expect((await readFile(path.join(work, 'out/fixed.vhd'))).equals(vhd)).toBe(true);

    const raw = Buffer.concat([bytes(300_000, 'raw'), Buffer.alloc(200_000)]);
    await write(work, 'disks/data.img', raw);
    const rawPoint = await backupDiskImage({ repository, files, clock }, { image: path.join(work, 'disks/data.img'), sourceName: 'raw' });
    expect(rawPoint.stats.zeroBytes).toBeGreaterThan(0);
    await restoreSnapshot({ repository, files }, { snapshotId: rawPoint.id, targetRoot: path.join(work, 'out') });
    expect((await readFile(path.join(work, 'out/data.img'))).equals(raw)).toBe(true);
    await expect(restoreSnapshot({ repository, files }, { snapshotId: rawPoint.id, targetRoot: path.join(work, 'out2'), imageFormat: 'vhd' }))
      .rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'imageFormat' });
  });

  it('refuses a corrupt footer, a corrupt dynamic header, a differencing VHD and a cut fixed VHD with KluisDiskImageInvalid', async () => {
    const image = path.join(work, 'bad.vhd');
    const pointsBefore = (await repository.listSnapshotIds()).length;
    const backup = () => backupDiskImage({ repository, files, clock }, { image, sourceName: 'bad' });
    const invalid = (why: RegExp) => expect.objectContaining({ code: 'KluisDiskImageInvalid', status: 400, message: expect.stringMatching(why) });

    const footerFlipped = fixedVhd(Buffer.alloc(64 * KiB, 1));
    footerFlipped[64 * KiB + 50] ^= 0xff;
    await writeFile(image, footerFlipped);
    await expect(backup()).rejects.toEqual(invalid(/footer checksum/));

    const headerFlipped = dynamicVhd(disk(), 256 * KiB);
    headerFlipped[512 + 30] ^= 0x01;
    await writeFile(image, headerFlipped);
    await expect(backup()).rejects.toEqual(invalid(/dynamic header checksum/));

    const differencing = fixedVhd(Buffer.alloc(64 * KiB));
    differencing.writeUInt32BE(4, 64 * KiB + 60);
    differencing.writeUInt32BE(vhdChecksum(differencing.subarray(64 * KiB), 64), 64 * KiB + 64);
    await writeFile(image, differencing);
    await expect(backup()).rejects.toEqual(invalid(/differencing/));

    await writeFile(image, Buffer.concat([Buffer.alloc(512), fixedVhd(Buffer.alloc(64 * KiB)).subarray(64 * KiB)]));
    await expect(backup()).rejects.toEqual(invalid(/fixed VHD of 65536 bytes/));

    await writeFile(image, Buffer.alloc(4096));
    await expect(backup()).rejects.toEqual(invalid(/no VHD footer/));
    expect(await repository.listSnapshotIds()).toHaveLength(pointsBefore);
  });
});
