import { describeChangeDetection } from '../../lib/domain/catalog';
import {
  diskChangeDetection,
  manifestDisk,
  parseRecoveryPointManifest,
  serializeRecoveryPointManifest,
  type RecoveryPointManifest,
} from '../../lib/engine/domain/recovery-point-manifest';
import { checksumsBlobName, manifestBlobName, replicaBlobName } from '../../lib/engine/domain/vault-layout';

function sample(): RecoveryPointManifest {
  return {
    schemaVersion: 1,
    itemId: 'vm-1',
    recoveryPointId: '1767225600000',
    createdAt: '2026-01-01T00:00:00.000Z',
    consistency: 'CrashConsistent',
    vmConfig: { name: 'vm-1', size: 'Standard_D2s_v3', tags: { a: 'b' } },
    blockSize: 65536,
    hashAlgorithm: 'xxh64',
    disks: [
      {
        lun: 0,
        name: 'osdisk',
        sizeBytes: 1024 * 1024 + 512,
        storageType: 'Premium',
        source: { blobUrl: 'http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd', snapshot: '2026-01-01T00:00:00.0000000Z' },
        replica: { blobName: replicaBlobName('vm-1', 0), snapshot: '2026-01-01T00:01:00.0000000Z' },
        checksumsBlobName: checksumsBlobName('vm-1', '1767225600000', 0),
        changeDetection: 'full',
        bytesRead: 10,
        bytesWritten: 10,
        bytesCleared: 0,
      },
    ],
    keyAndSecret: null,
  };
}

describe('recovery point manifest', () => {
  it('round-trips through JSON', () => {
    const text = serializeRecoveryPointManifest(sample());
    expect(parseRecoveryPointManifest(text)).toEqual(sample());
    expect(parseRecoveryPointManifest(Buffer.from(text))).toEqual(sample());
    expect(manifestDisk(sample(), 0).name).toBe('osdisk');
    expect(() => manifestDisk(sample(), 1)).toThrow(expect.objectContaining({ code: 'KluisInvalidManifest' }));
  });

  it('refuses SAS tokens in source URLs', () => {
    const m = sample();
    m.disks[0].source.blobUrl += '?sv=2020&sig=secret';
    expect(() => serializeRecoveryPointManifest(m)).toThrow(/disks\.0\.source\.blobUrl: must not carry a query string/);
  });

  it('refuses non-numeric point ids, duplicate luns, unknown schema versions and non-JSON', () => {
    expect(() => parseRecoveryPointManifest({ ...sample(), recoveryPointId: 'abc' })).toThrow(/recoveryPointId/);
    const twice = sample();
    twice.disks.push({ ...twice.disks[0] });
    expect(() => parseRecoveryPointManifest(twice)).toThrow(/duplicate lun/);
    expect(() => parseRecoveryPointManifest({ ...sample(), schemaVersion: 2 })).toThrow(/schemaVersion/);
    expect(() => parseRecoveryPointManifest('{')).toThrow(/not JSON/);
    expect(() => parseRecoveryPointManifest({ ...sample(), vmConfig: undefined })).toThrow(/vmConfig/);
  });

  it('keeps key-and-secret references with extra fields', () => {
    const m = {
      ...sample(),
      keyAndSecret: {
        encryptionMechanism: 'BEKAndKEK',
        bek: { secretUrl: 'https://kv.vault.azure.net/secrets/s/1', secretVaultId: 'kv', backupBlobName: 'items/vm-1/x.bek', extra: 1 },
        kek: { keyUrl: 'https://kv.vault.azure.net/keys/k/1', keyVaultId: 'kv' },
      },
    };
    expect(parseRecoveryPointManifest(JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  it('places blobs under the recovery point prefix', () => {
    expect(checksumsBlobName('vm-1', '5', 3)).toBe('items/vm-1/recoveryPoints/5/disks/3/checksums.bin');
    expect(manifestBlobName('vm-1', '5')).toBe('items/vm-1/recoveryPoints/5/manifest.json');
  });
});

describe('a disk\'s change detection, as its segments found the changes', () => {
  it('is the one method every segment used', () => {
    expect(diskChangeDetection('diff', ['diff', 'diff'])).toEqual({ changeDetection: 'diff' });
    expect(diskChangeDetection('full', ['full'])).toEqual({ changeDetection: 'full' });
    // A planned diff the source refused in every segment was a checksum comparison.
    expect(diskChangeDetection('diff', ['checksum', 'checksum'])).toEqual({ changeDetection: 'checksum' });
  });

  it('is checksum with the per-segment list when a diff was refused in some segments only', () => {
    expect(diskChangeDetection('diff', ['diff', 'checksum', 'diff'])).toEqual({ changeDetection: 'checksum', segmentChangeDetection: ['diff', 'checksum', 'diff'] });
  });

  it('falls back to the plan for segments that did not say (parts written before they recorded it)', () => {
    expect(diskChangeDetection('diff', [undefined, 'diff'])).toEqual({ changeDetection: 'diff' });
    expect(diskChangeDetection('checksum', [])).toEqual({ changeDetection: 'checksum' });
  });

  it('the manifest keeps the per-segment list and refuses an unknown method', () => {
    const disk = { ...parseRecoveryPointManifest(sample()).disks[0], changeDetection: 'checksum', segmentChangeDetection: ['diff', 'checksum'] };
    expect(parseRecoveryPointManifest({ ...sample(), disks: [disk] }).disks[0].segmentChangeDetection).toEqual(['diff', 'checksum']);
    expect(() => parseRecoveryPointManifest({ ...sample(), disks: [{ ...disk, segmentChangeDetection: ['guess'] }] })).toThrow(/segmentChangeDetection/);
  });
});

describe('the backup job\'s "Change detection" entry', () => {
  it('names each disk\'s method and the segments whose diff the source refused', () => {
    expect(describeChangeDetection([{ lun: 1, changeDetection: 'checksum', segmentChangeDetection: ['diff', 'checksum', 'checksum'] }, { lun: 0, changeDetection: 'diff' }])).toBe(
      'OS disk: diff; data disk LUN 0: checksum (diff refused by the source in segment(s) 1, 2 of 3; compared by checksums)',
    );
  });
});
