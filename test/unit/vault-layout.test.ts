import fc from 'fast-check';
import { isKluisErrorLike } from '../../lib/domain/errors';
import {
  assertValidBlobName,
  assertValidContainerName,
  blobNameProblem,
  isStagingBlobName,
  isValidBlobName,
  isValidContainerName,
  isValidIdentifier,
  itemIdForSourceDisk,
  itemPrefix,
  manifestBlobName,
  recoveryPointPrefix,
  replicaBlobName,
  stagingBlobName,
} from '../../lib/engine/domain/vault-layout';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKluisErrorLike(err) ? err.code : `not a KluisError: ${String(err)}`;
  }
  return undefined;
}

describe('vault layout names', () => {
  it('puts replicas and manifests under the item', () => {
    expect(replicaBlobName('vm1-os', 0)).toBe('items/vm1-os/disks/0/replica.vhd');
    expect(replicaBlobName('vm1-os', 15)).toBe('items/vm1-os/disks/15/replica.vhd');
    expect(manifestBlobName('vm1-os', '1767225600000')).toBe('items/vm1-os/recoveryPoints/1767225600000/manifest.json');
    expect(itemPrefix('vm1-os')).toBe('items/vm1-os/');
    expect(recoveryPointPrefix('vm1-os', '42')).toBe('items/vm1-os/recoveryPoints/42/');
    expect(manifestBlobName('vm1-os', '42').startsWith(recoveryPointPrefix('vm1-os', '42'))).toBe(true);
    expect(replicaBlobName('vm1-os', 0).startsWith(itemPrefix('vm1-os'))).toBe(true);
  });

  it("names staging blobs like Azure Backup: AzureBackup-<item>-<job>-<lun>", () => {
    const name = stagingBlobName('vm1-os', 'b1946ac9-2d3f-4f5e-9c2a-0123456789ab', 2);
    expect(name).toBe('AzureBackup-vm1-os-b1946ac9-2d3f-4f5e-9c2a-0123456789ab-2');
    expect(isStagingBlobName(name)).toBe(true);
    expect(isStagingBlobName(replicaBlobName('vm1-os', 2))).toBe(false);
  });

  it('keeps different items and points apart', () => {
    expect(replicaBlobName('a', 0)).not.toBe(replicaBlobName('a', 1));
    expect(manifestBlobName('a', '1')).not.toBe(manifestBlobName('b', '1'));
    expect(itemPrefix('a').startsWith(itemPrefix('ab'))).toBe(false);
  });

  it.each([
    ['an empty id', () => replicaBlobName('', 0)],
    ['a slash in the id', () => replicaBlobName('a/b', 0)],
    ['a dot-dot id', () => replicaBlobName('..', 0)],
    ['a trailing dot', () => replicaBlobName('item.', 0)],
    ['a leading hyphen', () => manifestBlobName('-item', '1')],
    ['a space', () => manifestBlobName('vm 1', '1')],
    ['an id longer than 128', () => replicaBlobName('a'.repeat(129), 0)],
    ['a bad recovery point id', () => manifestBlobName('vm1', '1/2')],
    ['a bad job id', () => stagingBlobName('vm1', 'job?', 0)],
    ['a negative LUN', () => replicaBlobName('vm1', -1)],
    ['a LUN above 63', () => replicaBlobName('vm1', 64)],
    ['a fractional LUN', () => replicaBlobName('vm1', 1.5)],
  ])('refuses %s with KluisInvalidIdentifier', (_name, build) => {
    expect(codeOf(build)).toBe('KluisInvalidIdentifier');
  });

  it('builds only valid blob names from valid ids', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/).filter((s) => !s.endsWith('.'));
    fc.assert(
      fc.property(id, id, fc.integer({ min: 0, max: 63 }), (item, other, lun) => {
        return (
          isValidBlobName(replicaBlobName(item, lun)) &&
          isValidBlobName(manifestBlobName(item, other)) &&
          isValidBlobName(stagingBlobName(item, other, lun))
        );
      }),
    );
  });
});

describe('blob name rules', () => {
  it.each([
    ['vm1/os.vhd'],
    ['a'],
    ['disk with spaces.vhd'],
    ['ünïcödé/диск.vhd'],
    ['a/'.repeat(253) + 'a'],
    ['x'.repeat(1024)],
  ])('accepts %j', (name) => {
    expect(blobNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['x'.repeat(1025), /1024/],
    ['a/'.repeat(254) + 'a', /254/],
    ['disk.', /dot or a slash/],
    ['dir/', /dot or a slash/],
    ['a//b', /empty path segment/],
    ['a/../b', /'\.'/],
    ['a\\b', /backslash/],
    ['a\u0000b', /control/],
  ])('refuses %j', (name, reason) => {
    expect(blobNameProblem(name)).toMatch(reason);
    expect(codeOf(() => assertValidBlobName(name))).toBe('KluisInvalidBlobName');
  });
});

describe('container name rules', () => {
  it.each(['abc', 'kluis-vault', 'a1-b2-c3', 'a'.repeat(63), '123'])('accepts %s', (name) => {
    expect(isValidContainerName(name)).toBe(true);
  });

  it.each(['ab', 'a'.repeat(64), 'Kluis', 'kluis--vault', '-kluis', 'kluis-', 'kluis_vault', 'kluis vault'])(
    'refuses %j',
    (name) => {
      expect(isValidContainerName(name)).toBe(false);
      expect(codeOf(() => assertValidContainerName(name))).toBe('KluisInvalidContainerName');
    },
  );
});

describe('itemIdForSourceDisk', () => {
  it('is readable, stable and a valid identifier', () => {
    const id = itemIdForSourceDisk('disks', 'vm1/os.vhd');
    expect(id).toMatch(/^disk-disks-vm1-os-vhd-[0-9a-f]{8}$/);
    expect(itemIdForSourceDisk('disks', 'vm1/os.vhd')).toBe(id);
  });

  it('gives different disks different ids even when their slugs collide', () => {
    expect(itemIdForSourceDisk('a-b', 'c')).not.toBe(itemIdForSourceDisk('a', 'b-c'));
    expect(itemIdForSourceDisk('disks', 'a b')).not.toBe(itemIdForSourceDisk('disks', 'a-b'));
  });

  it('always yields a valid identifier', () => {
    const container = fc.stringMatching(/^[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}$/).filter((c) => c.length >= 3);
    fc.assert(
      fc.property(container, fc.string({ minLength: 1, maxLength: 1024 }), (c, blob) => {
        return isValidIdentifier(itemIdForSourceDisk(c, blob));
      }),
    );
  });
});
