/**
 * The fabric's simulated disk I/O plan: seeded, within the data area, the requested share of blocks.
 */
import { planRandomBlocks, WRITE_BLOCK_SIZE } from '../../emulator/fabric/disk-activity';
import { vmDiskBlobName, vmDiskContainer, vmDiskName } from '../../emulator/fabric/disk-names';
import { seededRandom } from '../../emulator/seeded-random';
import { isValidContainerName } from '../../lib/engine/domain/vault-layout';

const MIB = 1024 * 1024;
const total = (ranges: Array<{ start: number; end: number }>) => ranges.reduce((sum, r) => sum + r.end - r.start, 0);

describe('planRandomBlocks', () => {
  it('covers the requested share in whole blocks, sorted, merged and inside the data area', () => {
    const ranges = planRandomBlocks(64 * MIB, 10, seededRandom('a'));
    expect(total(ranges)).toBe(Math.round(0.1 * 1024) * WRITE_BLOCK_SIZE);
    for (let i = 0; i < ranges.length; i++) {
      expect(ranges[i].start % WRITE_BLOCK_SIZE).toBe(0);
      expect(ranges[i].end).toBeLessThanOrEqual(64 * MIB);
      if (i > 0) expect(ranges[i].start).toBeGreaterThan(ranges[i - 1].end); // adjacent blocks were merged
    }
  });

  it('is reproducible with a seed and differs between seeds', () => {
    expect(planRandomBlocks(16 * MIB, 5, seededRandom('s'))).toEqual(planRandomBlocks(16 * MIB, 5, seededRandom('s')));
    expect(planRandomBlocks(16 * MIB, 5, seededRandom('s'))).not.toEqual(planRandomBlocks(16 * MIB, 5, seededRandom('t')));
  });

  it('writes at least one block for a tiny share, nothing for 0, everything for 100', () => {
    expect(total(planRandomBlocks(64 * MIB, 0.001, seededRandom('x')))).toBe(WRITE_BLOCK_SIZE);
    expect(planRandomBlocks(64 * MIB, 0, seededRandom('x'))).toEqual([]);
    expect(planRandomBlocks(MIB + 512, 100, seededRandom('x'))).toEqual([{ start: 0, end: MIB + 512 }]);
  });
});

describe('seededRandom', () => {
  it('draws integers below the bound and refuses bad bounds', () => {
    const random = seededRandom('n');
    for (let i = 0; i < 1000; i++) expect(random.nextInt(7)).toBeLessThan(7);
    expect(() => random.nextInt(0)).toThrow(RangeError);
  });

  it('fills buffers of any length the same way for the same seed', () => {
    const a = Buffer.alloc(13);
    const b = Buffer.alloc(13);
    seededRandom('f').fill(a);
    seededRandom('f').fill(b);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(Buffer.alloc(13))).toBe(false);
  });
});

describe('fabric disk names', () => {
  const ref = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg', name: 'Web_01.prod' };

  it('gives each VM its own valid container, the same for any casing of its identity', () => {
    const container = vmDiskContainer(ref);
    expect(container).toMatch(/^vhds-web-01-prod-[0-9a-f]{8}$/);
    expect(isValidContainerName(container)).toBe(true);
    expect(vmDiskContainer({ ...ref, resourceGroup: 'RG', name: 'WEB_01.PROD' })).toBe(container);
    expect(vmDiskContainer({ ...ref, resourceGroup: 'rg2' })).not.toBe(container);
    expect(isValidContainerName(vmDiskContainer({ ...ref, name: `${'a'.repeat(63)}b` }))).toBe(true);
    expect(isValidContainerName(vmDiskContainer({ ...ref, name: '___' }))).toBe(true);
  });

  it("names disks the way Azure does: '<vm>-osdisk', '<vm>-datadisk-<lun>'", () => {
    expect(vmDiskName('web01', { kind: 'os' })).toBe('web01-osdisk');
    expect(vmDiskBlobName('web01', { kind: 'data', lun: 3 })).toBe('web01-datadisk-3.vhd');
  });
});
