import {
  assertValidRecoveryPointId,
  checksumPartBlobName,
  checksumPartsPrefix,
  checksumsBlobName,
  jobStagingPrefix,
  jobsStagingPrefix,
  recoveryPointIdOfBlobName,
  recoveryPointsPrefix,
} from '../../lib/engine/domain/vault-layout';

describe('vault layout: backup engine names', () => {
  it('names checksums, checksum parts and their prefixes', () => {
    expect(checksumsBlobName('vm-1', '42', 3)).toBe('items/vm-1/recoveryPoints/42/disks/3/checksums.bin');
    expect(checksumPartBlobName('vm-1', 'job-7', 3, 12)).toBe('items/vm-1/jobs/job-7/disks/3/checksums/000012.part');
    expect(checksumPartBlobName('vm-1', 'job-7', 3, 12).startsWith(checksumPartsPrefix('vm-1', 'job-7', 3))).toBe(true);
    expect(checksumPartsPrefix('vm-1', 'job-7', 3).startsWith(jobStagingPrefix('vm-1', 'job-7'))).toBe(true);
    expect(jobStagingPrefix('vm-1', 'job-7').startsWith(jobsStagingPrefix('vm-1'))).toBe(true);
    expect(recoveryPointsPrefix('vm-1')).toBe('items/vm-1/recoveryPoints/');
  });

  it('reads the point id back from a blob name', () => {
    expect(recoveryPointIdOfBlobName('vm-1', checksumsBlobName('vm-1', '42', 0))).toBe('42');
    expect(recoveryPointIdOfBlobName('vm-1', 'items/vm-1/disks/0/replica.vhd')).toBeUndefined();
    expect(recoveryPointIdOfBlobName('vm-1', 'items/vm-10/recoveryPoints/1/manifest.json')).toBeUndefined();
  });

  it('refuses bad segment indexes and non-numeric point ids', () => {
    expect(() => checksumPartBlobName('vm-1', 'job', 0, -1)).toThrow(expect.objectContaining({ code: 'KluisInvalidIdentifier' }));
    expect(() => checksumPartBlobName('vm-1', 'job', 0, 1.5)).toThrow(/segmentIndex/);
    expect(() => checksumPartBlobName('vm-1', 'job', 64, 0)).toThrow(/lun/);
    expect(assertValidRecoveryPointId('123')).toBe('123');
    expect(() => assertValidRecoveryPointId('12a')).toThrow(/recoveryPointId/);
  });
});
