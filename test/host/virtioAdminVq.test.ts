// The host PF driver's administration-queue commands byte by byte against the virtio 1.3 layout
// (2.12.1.2 struct virtio_admin_cmd, struct virtio_admin_cmd_status; 5.1.6.x legacy commands):
// what virtio-pci puts in guest memory for one legacy read and one legacy write, and what it
// makes of the device's answer.
import { describe, expect, it } from 'vitest';
import {
  VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ,
  VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
} from '../../src/hw/devices/virtio/virtioSpec.js';
import { ADMIN_VQ_FAST_BYTES } from '../../src/host/virtio/adminVq.js';
import { virtioPciAdminLegacyIoRead, virtioPciAdminLegacyIoWrite, virtioPciVfGetPfDev } from '../../src/host/virtio/legacyIo.js';
import { AdminQueueClient } from '../../src/hw/devices/virtio/adminClient.js';
import { errno, virtioVfMachine } from './variants/virtioMachine.js';

const VF2 = '0000:00:04.2';

describe('virtio-pci admin commands in guest memory', () => {
  it('a legacy write: header, member, wr_data (offset, 7 reserved, register bytes), two descriptors', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const vf = emu.host.pciDev(VF2);
    const vp = virtioPciVfGetPfDev(vf)!;
    const fast = vp.fast!;
    const cmdAddr = vp.dmaBase + AdminQueueClient.bytes(64);
    expect(fast.bufBase).toBe(cmdAddr);
    virtioPciAdminLegacyIoWrite(vf, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, 14, 2, 0x0001);
    const cmd = emu.memory.read(cmdAddr, 24 + 8 + 2);
    expect(Array.from(cmd)).toEqual([
      0x02, 0x00, // opcode LEGACY_COMMON_CFG_WRITE
      0x01, 0x00, // group_type SR-IOV
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // reserved[12]
      0x02, 0, 0, 0, 0, 0, 0, 0, // group_member_id = VF 2
      14, 0, 0, 0, 0, 0, 0, 0, // offset, reserved[7]
      0x01, 0x00, // registers
    ]);
    // the chain: the last two descriptors of the ring, command then status (8 bytes, no result)
    const q = vp.admin!.queue;
    const desc = (i: number) => {
      const d = q.descAddr + 16 * i;
      return { addr: Number(emu.memory.readU64(d)), len: emu.memory.readU32(d + 8), flags: emu.memory.readU16(d + 12), next: emu.memory.readU16(d + 14) };
    };
    expect(desc(q.size - 2)).toEqual({ addr: cmdAddr, len: 34, flags: VRING_DESC_F_NEXT, next: q.size - 1 });
    expect(desc(q.size - 1)).toMatchObject({ addr: cmdAddr + 4096, len: 8, flags: VRING_DESC_F_WRITE });
    // the device's status: OK, qualifier OK, reserved zero
    expect(Array.from(emu.memory.read(cmdAddr + 4096, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(m.pf.member(2)!.queueSelect).toBe(1);
    expect(ADMIN_VQ_FAST_BYTES).toBe(8192);
  });

  it('a legacy read: one data byte (the offset), status then the result bytes', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const vf = emu.host.pciDev(VF2);
    const vp = virtioPciVfGetPfDev(vf)!;
    const cmdAddr = vp.fast!.bufBase;
    const mac = m.pf.member(2)!.mac;
    const v = virtioPciAdminLegacyIoRead(vf, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ, 2, 4);
    expect(v).toBe((mac[2] | (mac[3] << 8) | (mac[4] << 16) | (mac[5] << 24)) >>> 0);
    expect(Array.from(emu.memory.read(cmdAddr, 25))).toEqual([0x05, 0, 0x01, 0, ...new Array(12).fill(0), 0x02, 0, 0, 0, 0, 0, 0, 0, 2]);
    const q = vp.admin!.queue;
    expect(emu.memory.readU32(q.descAddr + 16 * (q.size - 2) + 8)).toBe(25);
    expect(emu.memory.readU32(q.descAddr + 16 * (q.size - 1) + 8)).toBe(8 + 4);
    expect(Array.from(emu.memory.read(cmdAddr + 4096, 12))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, mac[2], mac[3], mac[4], mac[5]]);
  });

  it("a refused command: status VIRTIO_ADMIN_STATUS_EINVAL (22) with its qualifier is the caller's EINVAL", async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const vf = emu.host.pciDev(VF2);
    const cmdAddr = virtioPciVfGetPfDev(vf)!.fast!.bufBase;
    expect(errno(() => virtioPciAdminLegacyIoRead(vf, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 3, 2))).toBe('EINVAL');
    expect(Array.from(emu.memory.read(cmdAddr + 4096, 4))).toEqual([22, 0, 3, 0]); // Q_INVALID_FIELD
    expect(errno(() => virtioPciAdminLegacyIoRead(vf, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 0, 4, 7))).toBe('EINVAL');
    expect(Array.from(emu.memory.read(cmdAddr + 4096, 4))).toEqual([22, 0, 5, 0]); // Q_INVALID_MEMBER
    // and the queue goes on working
    expect(virtioPciAdminLegacyIoRead(vf, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 0, 4)).toBe(m.pf.member(2)!.featuresLo);
  });

  it('a PF that stopped answering (reset behind the driver) is EIO, and the ring is left clean', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const vf = emu.host.pciDev('0000:00:04.1');
    const vp = virtioPciVfGetPfDev(vf)!;
    const before = vp.admin!.queue.availIdx;
    m.pf.virtio.resetDevice();
    expect(errno(() => virtioPciAdminLegacyIoRead(vf, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 0, 4))).toBe('EIO');
    expect(vp.admin!.queue.availIdx).toBe(before);
  });
});
