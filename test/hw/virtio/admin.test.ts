// The PF's administration virtqueue (virtio 1.3 2.12-2.13 and the legacy interface commands):
// command and result encodings byte by byte, every opcode, the spec's status and qualifier for every
// kind of invalid command, the legacy common configuration view of a VF at every offset and size with
// MSI-X off and on, a legacy driver's bring-up through the admin queue with frames flowing, NEEDS_RESET
// for descriptors outside guest memory, and isolation between VFs.
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { AdminQueueClient, encodeAdminCommand, leBytes, legacyWriteData } from '../../../src/hw/devices/virtio/adminClient.js';
import { DriverVirtqueue } from '../../../src/hw/devices/virtio/driverVirtqueue.js';
import type { VirtioNetDevice } from '../../../src/hw/devices/virtio/virtioNetDevice.js';
import {
  VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ,
  VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO, VIRTIO_ADMIN_CMD_LIST_QUERY, VIRTIO_ADMIN_CMD_LIST_USE,
  VIRTIO_ADMIN_GROUP_TYPE_SRIOV, VIRTIO_ADMIN_STATUS_EINVAL, VIRTIO_ADMIN_STATUS_OK, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD,
  VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP, VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER, VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE,
  VIRTIO_LEGACY_ADMIN_CMD_BITMAP,
} from '../../../src/hw/devices/virtio/virtioSpec.js';
import { frame, MSI_ADDR, PF, PF_BAR4, VF_BAR2, virtioMachine } from './helpers.js';
import type { VirtioMachine } from './helpers.js';

const SRIOV = VIRTIO_ADMIN_GROUP_TYPE_SRIOV;
const EINVAL = VIRTIO_ADMIN_STATUS_EINVAL;
const ADMIN_MEM = 0xc00000;
/** VF features bits 0-31: MAC, STATUS, INDIRECT_DESC */
const VF_FEATURES_LO = 0x10010020;

let m: VirtioMachine;
let client: AdminQueueClient;

beforeEach(async () => {
  m = await virtioMachine(2, 4);
  client = AdminQueueClient.open(m.hw, m.pf, ADMIN_MEM);
});

const dev = (n: number): VirtioNetDevice => m.pf.member(n)!;
const statusOf = (r: { status: number; qualifier: number }) => [r.status, r.qualifier];

describe('encodings', () => {
  it('struct virtio_admin_cmd: opcode, group_type, 12 reserved bytes, group_member_id, data', () => {
    const c = encodeAdminCommand(0x0203, 0x0401, 0x0807060504030201n, new Uint8Array([0xaa, 0xbb]));
    expect(Array.from(c)).toEqual([
      0x03, 0x02, 0x01, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xaa, 0xbb,
    ]);
    expect(Array.from(legacyWriteData(18, new Uint8Array([7])))).toEqual([18, 0, 0, 0, 0, 0, 0, 0, 7]);
  });

  it('LIST_QUERY: status 0, qualifier 0, 4 reserved bytes, then device_admin_cmd_opcodes[0] = 0x7f', () => {
    const r = client.submit(encodeAdminCommand(VIRTIO_ADMIN_CMD_LIST_QUERY, SRIOV, 0), 16);
    expect(Array.from(r.written)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0]);
    expect(r.usedLen).toBe(16);
    // a longer device-writable part: only the structure is written, used length says so
    const long = client.submit(encodeAdminCommand(VIRTIO_ADMIN_CMD_LIST_QUERY, SRIOV, 0), 64);
    expect(long.usedLen).toBe(16);
    // a shorter one: what fits
    const short = client.submit(encodeAdminCommand(VIRTIO_ADMIN_CMD_LIST_QUERY, SRIOV, 0), 4);
    expect(Array.from(short.written)).toEqual([0, 0, 0, 0]);
    expect(short.usedLen).toBe(4);
  });

  it('every opcode\'s successful completion, byte by byte, with its used length', () => {
    const run = (op: number, member: number, data: number[], writable: number) =>
      client.submit(encodeAdminCommand(op, SRIOV, member, new Uint8Array(data)), writable);
    const ok8 = [0, 0, 0, 0, 0, 0, 0, 0];
    const use = run(VIRTIO_ADMIN_CMD_LIST_USE, 0, [0x7f, 0, 0, 0, 0, 0, 0, 0], 8);
    expect([Array.from(use.written), use.usedLen]).toEqual([ok8, 8]);
    // LEGACY_COMMON_CFG_WRITE queue_sel = 1 (offset 14, 2 bytes), then READ it back
    const w = run(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, 1, [14, 0, 0, 0, 0, 0, 0, 0, 1, 0], 8);
    expect([Array.from(w.written), w.usedLen]).toEqual([ok8, 8]);
    const r = run(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 1, [14], 10);
    expect([Array.from(r.written), r.usedLen]).toEqual([[...ok8, 1, 0], 10]);
    // LEGACY_DEV_CFG_WRITE (status is read-only: accepted, no effect), READ of the MAC
    const dw = run(VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE, 1, [6, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8);
    expect([Array.from(dw.written), dw.usedLen]).toEqual([ok8, 8]);
    const dr = run(VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ, 1, [0], 14);
    expect([Array.from(dr.written), dr.usedLen]).toEqual([[...ok8, 0x52, 0x54, 0x00, 0x12, 0x34, 0x57], 14]);
    const ni = run(VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO, 2, [], 8 + 64);
    expect(ni.usedLen).toBe(72);
    expect(Array.from(ni.written.subarray(0, 24))).toEqual([...ok8, 2, 2, 0, 0, 0, 0, 0, 0, 0x00, 0x40, 0, 0, 0, 0, 0, 0]);
  });

  it('an error is struct virtio_admin_cmd_status alone: le16 status 22, le16 qualifier, 4 reserved bytes', () => {
    const r = client.submit(encodeAdminCommand(VIRTIO_ADMIN_CMD_LIST_QUERY, 2, 0), 16);
    expect(Array.from(r.written)).toEqual([22, 0, 4, 0, 0, 0, 0, 0]);
    expect(r.usedLen).toBe(8);
  });

  it('a device-readable part shorter than the header reads as zeros; one split over descriptors is joined', () => {
    // only opcode and group_type supplied: member id 0 -> invalid member for a member command
    const mem = m.hw.memory;
    mem.write(0xd00000, new Uint8Array([VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 0, SRIOV, 0]));
    const r = client.submit([{ addr: 0xd00000, len: 4 }], 10);
    expect(Array.from(r.written)).toEqual([22, 0, 5, 0, 0, 0, 0, 0]);
    // the header in three pieces, member 2, offset 12 (queue num): 256
    const cmd = encodeAdminCommand(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, SRIOV, 2, new Uint8Array([12]));
    mem.write(0xd00000, cmd.subarray(0, 5));
    mem.write(0xd01000, cmd.subarray(5, 20));
    mem.write(0xd02000, cmd.subarray(20));
    const s = client.submit([{ addr: 0xd00000, len: 5 }, { addr: 0xd01000, len: 15 }, { addr: 0xd02000, len: cmd.length - 20 }], 10);
    expect(Array.from(s.written)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01]);
    expect(s.usedLen).toBe(10);
  });

  it('LEGACY_NOTIFY_INFO: four 16-byte entries, a member-device entry (flags 2, VF BAR2, offset 0x4000) then the end', () => {
    const r = client.exec(VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO, SRIOV, 1, undefined, 64);
    expect(statusOf(r)).toEqual([0, 0]);
    expect(r.usedLen).toBe(72);
    const want = new Uint8Array(64);
    want.set([2, 2, 0, 0, 0, 0, 0, 0, 0x00, 0x40, 0, 0, 0, 0, 0, 0]);
    expect(r.result).toEqual(want);
    expect(client.legacyNotifyInfo(2).entries).toEqual([{ flags: 2, bar: 2, offset: 0x4000 }]);
  });
});

describe('command list negotiation', () => {
  it('LIST_QUERY lists opcodes 0-6; LIST_USE of them enables the legacy commands; the PF says it supports legacy I/O', () => {
    expect(client.commands).toBe(0x7f);
    expect(client.hasLegacyIo()).toBe(true);
    expect(m.pf.adminCommands()).toBe(0x7f);
    expect(m.pf.supportsLegacyAdmin).toBe(true);
    expect(VIRTIO_LEGACY_ADMIN_CMD_BITMAP).toBe(0x7c);
  });

  it('before LIST_USE only LIST_QUERY and LIST_USE are accepted; a device reset forgets the list', () => {
    // the PF driver starts over: device reset, features with ADMIN_VQ, a fresh admin queue, no LIST_USE yet
    const d = client.driver;
    expect(d.negotiate([1 << 5, (1 << 0) | (1 << 5) | (1 << 9)])).not.toBeNull();
    const raw2 = new AdminQueueClient(d, 0xe00000);
    d.driverOk();
    expect(statusOf(raw2.legacyCommonRead(1, 0, 4))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE]);
    expect(statusOf(raw2.listQuery())).toEqual([0, 0]);
    expect(statusOf(raw2.listUse(0x0b))).toEqual([0, 0]); // query, use, common read
    expect(statusOf(raw2.legacyCommonRead(1, 0, 4))).toEqual([0, 0]);
    expect(statusOf(raw2.legacyCommonWrite(1, 14, leBytes(1, 2)))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE]);
    // an unsupported opcode in the list, or bits in a second word: INVALID_FIELD, the list stays
    expect(statusOf(raw2.listUse(0xff))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
    const twoWords = new Uint8Array(16);
    twoWords[0] = 0x7f;
    twoWords[8] = 1;
    expect(statusOf(raw2.exec(VIRTIO_ADMIN_CMD_LIST_USE, SRIOV, 0, twoWords))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
    expect(statusOf(raw2.legacyCommonRead(1, 0, 4))).toEqual([0, 0]);
    // a list without LIST_QUERY blocks it
    expect(statusOf(raw2.listUse(0x0a))).toEqual([0, 0]);
    expect(statusOf(raw2.listQuery())).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE]);
  });
});

describe('invalid commands: status VIRTIO_ADMIN_STATUS_EINVAL with the spec qualifier, no side effects', () => {
  it('group_type other than SR-IOV: Q_INVALID_GROUP (checked before the opcode)', () => {
    for (const g of [0, 2, 0xffff]) {
      expect(statusOf(client.exec(VIRTIO_ADMIN_CMD_LIST_QUERY, g, 0, undefined, 8))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP]);
      expect(statusOf(client.exec(0x1234, g, 0))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP]);
    }
  });

  it('unknown opcodes: Q_INVALID_OPCODE (checked before the member)', () => {
    for (const op of [7, 0x20, 0x7fff, 0x8000, 0xffff]) {
      expect(statusOf(client.exec(op, SRIOV, 99, undefined, 8)), `opcode ${op}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE]);
    }
  });

  it('members outside 1..NumVFs: Q_INVALID_MEMBER; VF Enable clear: Q_INVALID_GROUP', () => {
    for (const member of [0, 3, 4, 5, 2 ** 32 + 1, 0xffffffffffffffffn]) {
      for (const op of [2, 3, 4, 5, 6]) {
        const data = op === 2 || op === 4 ? legacyWriteData(0, new Uint8Array(1)) : new Uint8Array([0]);
        expect(statusOf(client.exec(op, SRIOV, member, data, 4)), `op ${op} member ${member}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER]);
      }
    }
    m.hw.configWrite(PF, 0x108, 2, 0); // VF Enable off
    expect(statusOf(client.legacyCommonRead(1, 0, 4))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP]);
    expect(statusOf(client.listQuery())).toEqual([0, 0]);
  });

  it('legacy offsets and lengths that are not inside one register: Q_INVALID_FIELD, nothing written', () => {
    dev(1).queueSelect = 0;
    const bad: [number, number][] = [[2, 4], [3, 2], [12, 4], [14, 4], [16, 4], [18, 2], [19, 2], [20, 1], [20, 2], [22, 2], [24, 1], [255, 1], [0, 5], [0, 8]];
    for (const [off, len] of bad) {
      expect(statusOf(client.legacyCommonRead(1, off, len)), `read ${off}/${len}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
      expect(statusOf(client.legacyCommonWrite(1, off, new Uint8Array(len).fill(0xff))), `write ${off}/${len}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
    }
    expect(statusOf(client.legacyCommonRead(1, 0, 0))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
    expect(statusOf(client.legacyCommonWrite(1, 14, new Uint8Array(0)))).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
    expect(dev(1).queueSelect).toBe(0);
    expect(dev(1).status).toBe(0);
    // device configuration: mac [0,6), status [6,8), then max_virtqueue_pairs, mtu, speed, duplex; 17.. is padding
    for (const [off, len] of [[5, 2], [6, 3], [7, 2], [17, 1], [20, 1], [0, 7]]) {
      expect(statusOf(client.legacyDeviceRead(1, off, len)), `dev read ${off}/${len}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
      expect(statusOf(client.legacyDeviceWrite(1, off, new Uint8Array(len))), `dev write ${off}/${len}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
    }
    expect(dev(1).macAddress).toBe('52:54:00:12:34:57');
  });
});

interface LegacyReg {
  off: number;
  size: number;
  value: number;
}

/** The legacy header of a freshly reset VF (virtio 1.3 4.1.4.10): queue_select 0. */
function legacyMap(msix: boolean): LegacyReg[] {
  const regs = [
    { off: 0, size: 4, value: VF_FEATURES_LO },
    { off: 4, size: 4, value: 0 },
    { off: 8, size: 4, value: 0 },
    { off: 12, size: 2, value: 256 },
    { off: 14, size: 2, value: 0 },
    { off: 16, size: 2, value: 0 },
    { off: 18, size: 1, value: 0 },
    { off: 19, size: 1, value: 0 },
  ];
  if (msix) regs.push({ off: 20, size: 2, value: 0xffff }, { off: 22, size: 2, value: 0xffff });
  return regs;
}

function enableVfMsix(n: number): void {
  const bdf = m.vfs[n - 1].bdf;
  let cap = m.hw.configRead(bdf, 0x34, 1);
  while (m.hw.configRead(bdf, cap, 1) !== 0x11) cap = m.hw.configRead(bdf, cap + 1, 1);
  const table = VF_BAR2 + (n - 1) * 0x8000 + 0x5000;
  for (let v = 0; v < 3; v++) {
    m.hw.mmioWrite(table + 16 * v, 4, MSI_ADDR);
    m.hw.mmioWrite(table + 16 * v + 8, 4, 0x60 + v);
    m.hw.mmioWrite(table + 16 * v + 12, 4, 0);
  }
  m.hw.configWrite(bdf, cap + 2, 2, 0x8000);
}

describe('the legacy common configuration of a VF through the admin queue', () => {
  for (const msix of [false, true]) {
    it(`reads at every offset and size 1-4 (MSI-X ${msix ? 'on: 24' : 'off: 20'} bytes)`, () => {
      if (msix) enableVfMsix(1);
      const regs = legacyMap(msix);
      const length = msix ? 24 : 20;
      for (let off = 0; off < 28; off++) {
        for (let size = 1; size <= 4; size++) {
          const r = regs.find((x) => off >= x.off && off + size <= x.off + x.size);
          const reply = client.legacyCommonRead(1, off, size);
          if (r === undefined || off + size > length) {
            expect(statusOf(reply), `${off}/${size}`).toEqual([EINVAL, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD]);
            continue;
          }
          expect(statusOf(reply), `${off}/${size}`).toEqual([0, 0]);
          expect(reply.result, `${off}/${size}`).toEqual(leBytes(Math.floor(r.value / 2 ** (8 * (off - r.off))) % 2 ** (8 * size), size));
        }
      }
    });

    it(`writes reach the VF state at every writable register and width (MSI-X ${msix ? 'on' : 'off'})`, () => {
      if (msix) enableVfMsix(1);
      const d = dev(1);
      const w = (off: number, value: number, size: number) => expect(statusOf(client.legacyCommonWrite(1, off, leBytes(value, size)))).toEqual([0, 0]);
      const read = (off: number, size: number) => {
        const b = client.legacyCommonRead(1, off, size).result;
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
        return v;
      };
      // guest features: only offered bits stick
      w(4, 0xffffffff, 4);
      expect(read(4, 4)).toBe(VF_FEATURES_LO);
      expect(d.driverFeaturesLo).toBe(VF_FEATURES_LO);
      w(4, 0x20, 1); // partial write merges into the register
      expect(read(4, 4)).toBe((VF_FEATURES_LO & ~0xff) | 0x20);
      // queue select / size per queue
      for (const [q, size] of [[0, 256], [1, 256], [2, 0], [0xffff, 0]]) {
        w(14, q, 2);
        expect(read(14, 2)).toBe(q);
        expect(read(12, 2)).toBe(size);
      }
      w(14, 1, 1); // a 1-byte write merges into queue_sel (0xffff from the loop)
      expect(d.queueSelect).toBe(0xff01);
      w(14, 1, 2);
      expect(d.queueSelect).toBe(1);
      // queue PFN (4096-byte pages) sets the legacy ring layout
      w(8, 0x1234, 4);
      expect(read(8, 4)).toBe(0x1234);
      const q1 = d.queues[1];
      expect([q1.descAddr, q1.availAddr, q1.usedAddr, q1.enabled]).toEqual([0x1234000, 0x1234000 + 4096, 0x1234000 + 8192, true]);
      w(8, 0, 4);
      expect(q1.enabled).toBe(false);
      // host features and queue size are read-only; ISR reads and clears
      w(0, 0, 4);
      expect(read(0, 4)).toBe(VF_FEATURES_LO);
      w(12, 16, 2);
      expect(read(12, 2)).toBe(256);
      d.isr = 3;
      expect(read(19, 1)).toBe(3);
      expect(read(19, 1)).toBe(0);
      // status: 0 resets
      w(18, 3, 1);
      expect(d.status).toBe(3);
      w(18, 0, 1);
      expect([d.status, d.driverFeaturesLo, d.queueSelect]).toEqual([0, 0, 0]);
      if (msix) {
        w(20, 1, 2);
        expect(read(20, 2)).toBe(1);
        w(14, 1, 2);
        w(22, 2, 2);
        expect(read(22, 2)).toBe(2);
        expect(d.queues[1].msixVector).toBe(2);
        w(22, 3, 2); // the VF has 3 vectors: 3 is out of the table
        expect(read(22, 2)).toBe(0xffff);
      }
    });
  }

  it('device configuration: the MAC byte by byte and as a whole, the link status; a legacy MAC write moves the switch port', () => {
    const mac = Array.from({ length: 6 }, (_, i) => client.legacyDeviceRead(2, i, 1).result[0]);
    expect(mac).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x58]);
    expect(Array.from(client.legacyDeviceRead(2, 0, 6).result)).toEqual(mac);
    expect(Array.from(client.legacyDeviceRead(2, 6, 2).result)).toEqual([1, 0]);
    expect(Array.from(client.legacyDeviceRead(2, 10, 2).result)).toEqual([0xdc, 0x05]);
    expect(statusOf(client.legacyDeviceWrite(2, 6, new Uint8Array([0, 0])))).toEqual([0, 0]);
    expect(Array.from(client.legacyDeviceRead(2, 6, 2).result)).toEqual([1, 0]); // status is read-only
    const newMac = new Uint8Array([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
    expect(statusOf(client.legacyDeviceWrite(2, 0, newMac))).toEqual([0, 0]);
    expect(dev(2).macAddress).toBe('02:aa:bb:cc:dd:ee');
    expect(m.pf.netSwitch.portFor(newMac)).toBe(dev(2));
    expect(m.pf.netSwitch.portFor(new Uint8Array(mac))).toBeUndefined();
  });
});

describe('a legacy driver through the admin queue', () => {
  for (const msix of [false, true]) {
    it(`brings a VF up and moves frames to and from the uplink (MSI-X ${msix ? 'on' : 'off'}, 10-byte header)`, () => {
      if (msix) enableVfMsix(1);
      const vf = 1;
      const w = (off: number, value: number, size: number) => expect(client.legacyCommonWrite(vf, off, leBytes(value, size)).status).toBe(0);
      const read = (off: number, size: number) => {
        const b = client.legacyCommonRead(vf, off, size).result;
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
        return v;
      };
      w(18, 0, 1); // reset
      w(18, 1, 1); // ACKNOWLEDGE
      w(18, 3, 1); // DRIVER
      const host = read(0, 4);
      expect(host & (1 << 5)).toBe(1 << 5);
      w(4, 1 << 5, 4); // guest features: MAC
      const mac = Array.from({ length: 6 }, (_, i) => client.legacyDeviceRead(vf, i, 1).result[0]);
      expect(mac).toEqual(Array.from(dev(1).mac));
      const rings: DriverVirtqueue[] = [];
      for (const q of [0, 1]) {
        w(14, q, 2);
        const size = read(12, 2);
        expect(size).toBe(256);
        const ring = new DriverVirtqueue(m.hw.memory, 0x2000000 + q * 0x10000, size, 'legacy');
        w(8, ring.pfn, 4);
        if (msix) w(22, q, 2);
        rings.push(ring);
      }
      if (msix) w(20, 2, 2);
      w(18, 7, 1); // DRIVER_OK
      expect(read(18, 1)).toBe(7);
      const [rx, tx] = rings;
      for (let i = 0; i < 4; i++) rx.add([{ addr: 0x2100000 + i * 2048, len: 2048, write: true }]);
      const [notify] = client.legacyNotifyInfo(vf).entries;
      const notifyAddr = m.vfs[0].barBase(notify.bar) + notify.offset;
      m.hw.mmioWrite(notifyAddr, 2, 0);
      // transmit: the legacy 10-byte header, then the frame
      const out: Uint8Array[] = [];
      m.pf.uplink.attach((f) => out.push(f));
      const f = frame(new Uint8Array([2, 0, 0, 0, 0, 7]), dev(1).mac, [0xde, 0xad]);
      m.hw.memory.write(0x2200000, new Uint8Array(10));
      m.hw.memory.write(0x2200000 + 10, f);
      tx.add([{ addr: 0x2200000, len: 10 + f.length }]);
      m.log.clear();
      m.hw.mmioWrite(notifyAddr, 2, 1);
      expect(out).toEqual([f]);
      expect(tx.takeUsed()).toEqual([{ head: 0, len: 0 }]);
      // receive from the wire
      const back = frame(dev(1).mac, new Uint8Array([2, 0, 0, 0, 0, 7]), [0xbe, 0xef]);
      m.pf.uplink.send(back);
      const [u] = rx.takeUsed();
      expect(u.len).toBe(10 + back.length);
      expect(m.hw.memory.read(0x2100000 + u.head * 2048 + 10, back.length)).toEqual(back);
      if (msix) {
        expect(m.log.messages.map((x) => x.data)).toEqual([0x61, 0x60]);
      } else {
        // a VF has no INTx: the ISR still records it
        expect(read(19, 1)).toBe(1);
      }
      // the notify through LEGACY_COMMON_CFG_WRITE at Queue Notify works as well
      tx.add([{ addr: 0x2200000, len: 10 + f.length }]);
      w(16, 1, 2);
      expect(out).toHaveLength(2);
    });
  }
});

describe('NEEDS_RESET for admin descriptors outside guest memory', () => {
  it('a command or result buffer outside memory puts the PF in NEEDS_RESET with a config interrupt, not a crash', () => {
    const size = m.hw.memory.size;
    const isrAddr = PF_BAR4 + 0x1000;
    expect(() => client.submit([{ addr: size - 4, len: 24 }], 8)).toThrow(/did not complete/);
    expect(m.pf.virtio.status & 0x40).toBe(0x40);
    expect(m.pf.virtio.lastError).toMatch(/outside guest memory/);
    expect(m.hw.mmioRead(isrAddr, 1) & 2).toBe(2);
    // the VFs are untouched; a reset and a new client work again
    expect(dev(1).status).toBe(0);
    const again = AdminQueueClient.open(m.hw, m.pf, 0xd00000);
    expect(statusOf(again.legacyCommonRead(1, 12, 2))).toEqual([0, 0]);
    // the result buffer this time
    const cmd = encodeAdminCommand(VIRTIO_ADMIN_CMD_LIST_QUERY, SRIOV, 0);
    m.hw.memory.write(0xd80000, cmd);
    again.queue.add([{ addr: 0xd80000, len: cmd.length }, { addr: 2 ** 36, len: 16, write: true }]);
    again.driver.kick(again.queueIndex);
    expect(m.pf.virtio.status & 0x40).toBe(0x40);
  });
});

describe('isolation between VFs', () => {
  function snapshot(d: VirtioNetDevice, bdf: string): string {
    const cfg = Array.from({ length: 64 }, (_, i) => m.hw.configRead(bdf, i * 4, 4));
    return JSON.stringify({
      status: d.status,
      features: [d.driverFeaturesLo, d.driverFeaturesHi, d.deviceFeatureSelect, d.driverFeatureSelect],
      vectors: d.configVector,
      sel: d.queueSelect,
      isr: d.isr,
      mac: Array.from(d.mac),
      legacy: d.legacy,
      queues: d.queues.map((q) => [q.size, q.enabled, q.msixVector, q.descAddr, q.availAddr, q.usedAddr, q.legacyPfn, q.lastAvailIdx, q.usedIdx]),
      cfg,
    });
  }

  it('random legacy accesses through the admin queue to one VF leave every other VF unchanged', async () => {
    m = await virtioMachine(4, 4);
    client = AdminQueueClient.open(m.hw, m.pf, ADMIN_MEM);
    const access = fc.record({
      op: fc.constantFrom(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ),
      offset: fc.integer({ min: 0, max: 30 }),
      size: fc.integer({ min: 0, max: 8 }),
      value: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(access, { maxLength: 40 }), (target, accesses) => {
        const others = [1, 2, 3, 4].filter((n) => n !== target);
        const before = others.map((n) => snapshot(dev(n), m.vfs[n - 1].bdf));
        for (const a of accesses) {
          // keep queue page frames inside a scratch area (or far outside memory)
          const value = a.offset === 8 && a.op === VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE ? (a.value & 1 ? 0x3000 + (a.value % 0x800) : 0xfffff) : a.value;
          const bytes = leBytes(value, Math.min(a.size, 4));
          const data = a.size > 4 ? new Uint8Array(a.size) : bytes;
          if (a.op === VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE) client.legacyCommonWrite(target, a.offset, data);
          else if (a.op === VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ) client.legacyCommonRead(target, a.offset, a.size);
          else if (a.op === VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE) client.legacyDeviceWrite(target, a.offset, data);
          else client.legacyDeviceRead(target, a.offset, a.size);
        }
        expect(others.map((n) => snapshot(dev(n), m.vfs[n - 1].bdf))).toEqual(before);
        expect(m.pf.virtio.status & 0x40).toBe(0);
        expect(statusOf(client.listQuery())).toEqual([0, 0]);
        // back to a clean target for the next run
        client.legacyCommonWrite(target, 18, new Uint8Array([0]));
      }),
      { numRuns: 60 },
    );
  });
});
