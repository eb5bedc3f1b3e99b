/**
 * A disk image source (raw `.img`, fixed or dynamic `.vhd`) backed up as one volume: the virtual disk is read in
 * order (a dynamic VHD through its block table: unallocated blocks and unwritten sectors read as zeros, without
 * reading the file there), all-zero windows are not stored, and each run of non-zero windows (an extent) goes
 * through the same FastCDC chunker as files, so unchanged regions dedupe across days. The snapshot holds one
 * `image` entry; `restoreImageEntry` writes it back as a raw image or a fixed VHD, every byte checked.
 */
import { createHash } from 'node:crypto';
import { errors } from '../../domain/errors';
import type { LocalFileSystem } from '../../stores/local-file-system';
import {
  applySectorBitmap,
  defaultRestoreFormat,
  fixedFooterFrom,
  hasVhdCookie,
  isAllZero,
  parseBlockTable,
  parseVhdDynamicHeader,
  parseVhdFooter,
  sectorBitmapBytes,
  VHD_DYNAMIC_HEADER_SIZE,
  VHD_FOOTER_SIZE,
  VHD_TYPE,
  type DiskImageFormat,
  type ImageRestoreFormat,
} from '../domain/disk-image';
import { chunkStream } from '../domain/fastcdc';
import { serializeTree, type SnapshotDocument, type SnapshotStats, type TreeEntry } from '../domain/snapshot';
import type { Repository } from './repository';
import { chunkStorer } from './backup-folder';

/** Zero runs shorter than this are stored with their neighbours (a window is either all zero or stored). */
export const ZERO_WINDOW = 64 * 1024;
const READ_PIECE = 1024 * 1024;

interface ImageSource {
  format: DiskImageFormat;
  virtualSize: number;
  footer?: Buffer;
  /** The virtual disk's bytes in order, in pieces of at most READ_PIECE. */
  pieces(): AsyncGenerator<Buffer>;
}

function splitPath(image: string): { dir: string; name: string } {
  const at = Math.max(image.lastIndexOf('/'), image.lastIndexOf('\\'));
  return at < 0 ? { dir: '.', name: image } : { dir: image.slice(0, at) || '/', name: image.slice(at + 1) };
}

async function* rangePieces(files: LocalFileSystem, dir: string, name: string, start: number, length: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < length; at += READ_PIECE) {
    const want = Math.min(READ_PIECE, length - at);
    const piece = await files.readAt(dir, name, start + at, want);
    if (piece.length !== want) throw errors.diskImageInvalid(`${dir}/${name}`, 'it became shorter while it was read');
    yield piece;
  }
}

/** Opens an image: a file whose last 512 bytes carry the VHD cookie is a VHD (checked); any other file is raw. */
async function openImage(files: LocalFileSystem, image: string): Promise<ImageSource> {
  const { dir, name } = splitPath(image);
  const fileSize = (await files.stat(dir, name)).size;
  const tail = fileSize >= VHD_FOOTER_SIZE ? await files.readAt(dir, name, fileSize - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE) : Buffer.alloc(0);
  if (!hasVhdCookie(tail)) {
    if (/\.vhd$/i.test(name)) throw errors.diskImageInvalid(image, `it is named .vhd but its last ${VHD_FOOTER_SIZE} bytes are no VHD footer`);
    if (/\.vhdx$/i.test(name)) throw errors.diskImageInvalid(image, 'VHDX images are not supported (convert to VHD, or to raw)');
    return { format: 'raw', virtualSize: fileSize, pieces: () => rangePieces(files, dir, name, 0, fileSize) };
  }
  const footer = parseVhdFooter(tail, image);
  if (footer.diskType === VHD_TYPE.fixed) {
    if (fileSize !== footer.currentSize + VHD_FOOTER_SIZE) throw errors.diskImageInvalid(image, `it is a fixed VHD of ${footer.currentSize} bytes, but the file holds ${fileSize - VHD_FOOTER_SIZE} before its footer`);
    return { format: 'vhd-fixed', virtualSize: footer.currentSize, footer: tail, pieces: () => rangePieces(files, dir, name, 0, footer.currentSize) };
  }
  const header = parseVhdDynamicHeader(await files.readAt(dir, name, footer.dynamicHeaderOffset!, VHD_DYNAMIC_HEADER_SIZE), footer, fileSize, image);
  const table = parseBlockTable(await files.readAt(dir, name, header.tableOffset, header.maxTableEntries * 4), header, fileSize, image);
  const bitmapBytes = sectorBitmapBytes(header.blockSize);
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let block = 0; block * header.blockSize < footer.currentSize; block++) {
      const length = Math.min(header.blockSize, footer.currentSize - block * header.blockSize);
      const at = table[block];
      if (at === undefined) {
        for (let done = 0; done < length; done += READ_PIECE) yield Buffer.alloc(Math.min(READ_PIECE, length - done));
        continue;
      }
      const bitmap = await files.readAt(dir, name, at, bitmapBytes);
      const data = await files.readAt(dir, name, at + bitmapBytes, length);
      if (data.length !== length) throw errors.diskImageInvalid(image, `block ${block} is cut short`);
      yield applySectorBitmap(bitmap, data);
    }
  }
  return { format: 'vhd-dynamic', virtualSize: footer.currentSize, footer: tail, pieces };
}

/** Re-cuts pieces into ZERO_WINDOW windows, each marked all-zero or not. */
async function* windows(pieces: AsyncGenerator<Buffer>): AsyncGenerator<{ offset: number; data: Buffer; zero: boolean }> {
  let offset = 0;
  let carry = Buffer.alloc(0);
  for await (const piece of pieces) {
    let buffer = carry.length === 0 ? piece : Buffer.concat([carry, piece]);
    while (buffer.length >= ZERO_WINDOW) {
      const data = buffer.subarray(0, ZERO_WINDOW);
      yield { offset, data, zero: isAllZero(data) };
      offset += ZERO_WINDOW;
      buffer = buffer.subarray(ZERO_WINDOW);
    }
    carry = Buffer.from(buffer);
  }
  if (carry.length > 0) yield { offset, data: carry, zero: isAllZero(carry) };
}

export interface BackupDiskImageInput {
  /** The image file on this server. */
  image: string;
  sourceName: string;
}

export async function backupDiskImage(deps: { repository: Repository; files: LocalFileSystem; clock: () => Date }, input: BackupDiskImageInput): Promise<SnapshotDocument> {
  const { repository, files } = deps;
  const source = await openImage(files, input.image);
  const { dir, name } = splitPath(input.image);
  const info = await files.stat(dir, name);
  const stats: SnapshotStats = { files: 1, dirs: 0, bytes: source.virtualSize, chunks: 0, newChunks: 0, newChunkBytes: 0, storedBytes: 0, zeroBytes: 0 };
  const store = chunkStorer(repository, stats);

  const hash = createHash('sha256');
  const chunks: string[] = [];
  const extents: Array<{ offset: number; length: number; chunkCount: number }> = [];
  const it = windows(source.pieces());
  let next = await it.next();
  while (!next.done) {
    if (next.value.zero) {
      hash.update(next.value.data);
      stats.zeroBytes! += next.value.data.length;
      next = await it.next();
      continue;
    }
    const extent = { offset: next.value.offset, length: 0, chunkCount: 0 };
    // Pulls windows from the shared iterator until the next all-zero one: the extent streams into the chunker.
    const extentBytes = async function* () {
      while (!next.done && !next.value.zero) {
        hash.update(next.value.data);
        extent.length += next.value.data.length;
        yield next.value.data;
        next = await it.next();
      }
    };
    for await (const chunk of chunkStream(extentBytes(), repository.chunker)) {
      chunks.push(await store(chunk));
      extent.chunkCount++;
    }
    extents.push(extent);
  }

  const entry: TreeEntry = {
    path: name,
    type: 'image',
    mode: info.mode,
    mtimeMs: info.mtimeMs,
    size: source.virtualSize,
    chunks,
    ...(info.uid === undefined || info.gid === undefined ? {} : { uid: info.uid, gid: info.gid }),
    image: {
      format: source.format,
      virtualSize: source.virtualSize,
      sha256: hash.digest('hex'),
      ...(source.footer === undefined ? {} : { footerBase64: source.footer.toString('base64') }),
      extents,
    },
  };
  const tree: string[] = [];
  for await (const chunk of chunkStream([serializeTree([entry])], repository.chunker)) tree.push(await store(chunk));
  const doc: SnapshotDocument = {
    id: repository.newSnapshotId(),
    time: deps.clock().toISOString(),
    source: { name: input.sourceName, root: input.image, kind: 'DiskImage' },
    tree,
    stats,
  };
  stats.storedBytes += await repository.saveSnapshot(doc);
  return doc;
}

/** The name and format a restore of an image entry writes (`format` as asked, else the source's default). */
export function imageRestoreTarget(entry: TreeEntry, format: ImageRestoreFormat | undefined): { path: string; format: ImageRestoreFormat } {
  const from = entry.image!.format;
  const to = format ?? defaultRestoreFormat(from);
  if (to === 'vhd' && from === 'raw') throw errors.invalidRequest('imageFormat', `'${entry.path}' was a raw image: it is restored raw (a VHD needs the footer of a VHD source).`);
  if (to === defaultRestoreFormat(from)) return { path: entry.path, format: to };
  return { path: `${entry.path.replace(/\.vhd$/i, '')}.img`, format: to };
}

/**
 * Writes an image entry to `targetRoot/path`: the extents' chunks (each authenticated and checked against its id),
 * zeros between them, then for `vhd` a fixed-VHD footer. The SHA-256 of the virtual disk must match the one taken at
 * backup before the file gets its real name: a mismatch leaves no file behind.
 */
export async function restoreImageEntry(
  deps: { repository: Repository; files: LocalFileSystem },
  entry: TreeEntry,
  targetRoot: string,
  target: { path: string; format: ImageRestoreFormat },
  snapshotId: string,
): Promise<number> {
  const layout = entry.image!;
  const chunks = entry.chunks ?? [];
  const hash = createHash('sha256');
  let written = 0;
  const zeros = Buffer.alloc(READ_PIECE);
  async function* zeroRun(length: number): AsyncGenerator<Buffer> {
    for (let done = 0; done < length; done += READ_PIECE) {
      const piece = zeros.subarray(0, Math.min(READ_PIECE, length - done));
      hash.update(piece);
      written += piece.length;
      yield piece;
    }
  }
  async function* bytes(): AsyncGenerator<Buffer> {
    let chunkAt = 0;
    for (const extent of layout.extents) {
      if (extent.offset < written) throw errors.repositoryDataCorrupt('snapshot', snapshotId, `'${entry.path}' has overlapping extents`);
      yield* zeroRun(extent.offset - written);
      let extentBytes = 0;
      for (const id of chunks.slice(chunkAt, chunkAt + extent.chunkCount)) {
        const chunk = await deps.repository.readChunk(id);
        hash.update(chunk);
        written += chunk.length;
        extentBytes += chunk.length;
        yield chunk;
      }
      chunkAt += extent.chunkCount;
      if (extentBytes !== extent.length) throw errors.repositoryDataCorrupt('snapshot', snapshotId, `'${entry.path}' extent at ${extent.offset} restored ${extentBytes} bytes, the tree says ${extent.length}`);
    }
    yield* zeroRun(layout.virtualSize - written);
    const digest = hash.digest('hex');
    if (written !== layout.virtualSize || digest !== layout.sha256) {
      throw errors.repositoryDataCorrupt('snapshot', snapshotId, `'${entry.path}' restored ${written} bytes with SHA-256 ${digest}; the backup recorded ${layout.virtualSize} bytes with ${layout.sha256}`);
    }
    if (target.format === 'vhd') {
      if (layout.footerBase64 === undefined) throw errors.repositoryDataCorrupt('snapshot', snapshotId, `'${entry.path}' has no VHD footer`);
      yield fixedFooterFrom(Buffer.from(layout.footerBase64, 'base64'));
    }
  }
  await deps.files.writeFile(targetRoot, target.path, bytes());
  return written;
}
