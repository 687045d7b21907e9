// SR-IOV (PCIe SR-IOV 1.1): the extended capability's registers and their hardware masks, VF BAR
// sizing through the capability, VF Enable making VFs appear at PF RID + First VF Offset + VF Stride * i
// and disappear again, what VF config space looks like, and VF memory decode governed by VF MSE.
import { beforeEach, describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/index.js';
import type { Hardware } from '../../src/index.js';
import { PCI_SRIOV_BAR, PCI_SRIOV_CAP, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_ARI, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_FUNC_LINK, PCI_SRIOV_INITIAL_VF, PCI_SRIOV_NUM_VF, PCI_SRIOV_STATUS, PCI_SRIOV_SUP_PGSIZE, PCI_SRIOV_SYS_PGSIZE, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_VF_DID, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE, PCI_SRIOV_VFM } from '../../src/hw/pciRegs.js';
import type { VirtioNetPf } from '../../src/hw/devices/virtio/virtioNetPf.js';
import { VirtualFunction } from '../../src/hw/sriov.js';

const PF = '0000:00:04.0';
const CAP = 0x100;
const VF_BAR2 = 0xe0000000;
const VF_SIZE = 0x8000;
const COMMON_NUM_QUEUES = 18;

let hw: Hardware;
let pf: VirtioNetPf;

const rd = (off: number, size: 1 | 2 | 4 = 4) => hw.configRead(PF, CAP + off, size);
const wr = (off: number, size: 1 | 2 | 4, v: number) => hw.configWrite(PF, CAP + off, size, v);

function enable(n: number, ctrl = PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE): void {
  wr(PCI_SRIOV_NUM_VF, 2, n);
  wr(PCI_SRIOV_BAR + 8, 4, VF_BAR2);
  wr(PCI_SRIOV_BAR + 12, 4, 0);
  wr(PCI_SRIOV_CTRL, 2, ctrl);
}

beforeEach(async () => {
  hw = (await createEmulator()).hw;
  pf = hw.addVirtioNet(PF, { totalVfs: 4 });
});

describe('SR-IOV capability registers', () => {
  it('sits at 0x100 as extended capability 0x0010 version 1, 0x40 bytes, with the power-on values', () => {
    expect(pf.sriov!.cap).toBe(CAP);
    const hdr = rd(0);
    expect(hdr & 0xffff).toBe(0x0010);
    expect((hdr >>> 16) & 0xf).toBe(1);
    expect(hdr >>> 20).toBe(0); // last extended capability
    expect(rd(PCI_SRIOV_CAP)).toBe(0); // no VF migration, no ARI preserved
    expect(rd(PCI_SRIOV_CTRL, 2)).toBe(0);
    expect(rd(PCI_SRIOV_STATUS, 2)).toBe(0);
    expect(rd(PCI_SRIOV_INITIAL_VF, 2)).toBe(4);
    expect(rd(PCI_SRIOV_TOTAL_VF, 2)).toBe(4);
    expect(rd(PCI_SRIOV_NUM_VF, 2)).toBe(0);
    expect(rd(PCI_SRIOV_FUNC_LINK, 1)).toBe(0);
    expect(rd(PCI_SRIOV_VF_OFFSET, 2)).toBe(1);
    expect(rd(PCI_SRIOV_VF_STRIDE, 2)).toBe(1);
    expect(rd(PCI_SRIOV_VF_DID, 2)).toBe(0x1041);
    expect(rd(PCI_SRIOV_SUP_PGSIZE)).toBe(0x553);
    expect(rd(PCI_SRIOV_SYS_PGSIZE)).toBe(1);
    const bars = [0, 1, 2, 3, 4, 5].map((i) => rd(PCI_SRIOV_BAR + 4 * i));
    expect(bars).toEqual([0, 0, 0x4, 0, 0, 0]); // VF BAR0 hardwired zero; VF BAR2 64-bit memory
    expect(rd(PCI_SRIOV_VFM)).toBe(0);
  });

  it('only Control (VFE, MSE, ARI), NumVFs, System Page Size and the VF BAR address bits take writes', () => {
    const before = Array.from({ length: 16 }, (_, i) => rd(4 * i));
    // every dword but Control/NumVFs/SysPageSize/VF BARs: all-ones then zero changes nothing
    for (let i = 0; i < 16; i++) {
      const off = 4 * i;
      if ([PCI_SRIOV_CTRL, PCI_SRIOV_NUM_VF, PCI_SRIOV_SYS_PGSIZE].includes(off) || (off >= PCI_SRIOV_BAR && off < PCI_SRIOV_VFM)) continue;
      wr(off, 4, 0xffffffff);
      expect(rd(off), `dword 0x${off.toString(16)}`).toBe(before[i]);
      wr(off, 4, 0);
      expect(rd(off), `dword 0x${off.toString(16)}`).toBe(before[i]);
    }
    // Control: VF Migration bits are read-only zero without VF Migration Capable; Status is RO
    wr(PCI_SRIOV_NUM_VF, 2, 0);
    wr(PCI_SRIOV_CTRL, 4, 0xffffffff);
    expect(rd(PCI_SRIOV_CTRL, 2)).toBe(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
    expect(rd(PCI_SRIOV_STATUS, 2)).toBe(0);
    wr(PCI_SRIOV_CTRL, 2, 0);
    // NumVFs takes any value up to TotalVFs while VF Enable is clear
    for (const n of [0, 1, 4, 3]) {
      wr(PCI_SRIOV_NUM_VF, 2, n);
      expect(rd(PCI_SRIOV_NUM_VF, 2)).toBe(n);
    }
    wr(PCI_SRIOV_NUM_VF, 2, 5); // more than TotalVFs: ignored
    expect(rd(PCI_SRIOV_NUM_VF, 2)).toBe(3);
    // the Function Dependency Link byte next to NumVFs is read-only
    wr(PCI_SRIOV_NUM_VF, 4, 0xffff0002);
    expect(rd(PCI_SRIOV_NUM_VF)).toBe(0x00000002);
    // System Page Size: only supported page-size bits
    wr(PCI_SRIOV_SYS_PGSIZE, 4, 0x10);
    expect(rd(PCI_SRIOV_SYS_PGSIZE)).toBe(0x10);
    wr(PCI_SRIOV_SYS_PGSIZE, 4, 0x4); // 16 KiB is not supported: no bit sticks, the old size stays
    expect(rd(PCI_SRIOV_SYS_PGSIZE)).toBe(0x10);
    wr(PCI_SRIOV_SYS_PGSIZE, 4, 1);
    expect(rd(PCI_SRIOV_SYS_PGSIZE)).toBe(1);
  });

  it('sizes VF BARs through the capability: ~(size - 1) | flags per VF, hardwired-zero BARs read 0', () => {
    for (let i = 0; i < 6; i++) wr(PCI_SRIOV_BAR + 4 * i, 4, 0xffffffff);
    expect([0, 1, 2, 3, 4, 5].map((i) => rd(PCI_SRIOV_BAR + 4 * i))).toEqual([0, 0, ((~(VF_SIZE - 1) & 0xfffffff0) | 0x4) >>> 0, 0xffffffff, 0, 0]);
    // the address goes back in and reads back exactly; low bits below the size are not kept
    wr(PCI_SRIOV_BAR + 8, 4, 0x12345678);
    wr(PCI_SRIOV_BAR + 12, 4, 0x9);
    expect(rd(PCI_SRIOV_BAR + 8)).toBe(0x12340004);
    expect(rd(PCI_SRIOV_BAR + 12)).toBe(0x9);
    expect(pf.sriov!.vfBarBase(2)).toBe(0x9_1234_0000);
  });

  it('a System Page Size above the VF BAR size makes each VF BAR a page (and aligns it)', () => {
    wr(PCI_SRIOV_SYS_PGSIZE, 4, 0x10); // 64 KiB
    wr(PCI_SRIOV_BAR + 8, 4, 0xffffffff);
    expect(rd(PCI_SRIOV_BAR + 8)).toBe(0xffff0004);
    expect(pf.sriov!.vfBarSize(2)).toBe(0x10000);
    wr(PCI_SRIOV_SYS_PGSIZE, 4, 0x2); // 8 KiB: the BAR is 32 KiB again
    wr(PCI_SRIOV_BAR + 8, 4, 0xffffffff);
    expect(rd(PCI_SRIOV_BAR + 8)).toBe(0xffff8004);
    expect(pf.sriov!.vfBarSize(2)).toBe(VF_SIZE);
  });
});

describe('VF Enable', () => {
  it('adds NumVFs VFs at PF RID + First VF Offset + VF Stride * i; clearing it removes them', () => {
    enable(3);
    const vfs = hw.functions().filter((f) => f.isVirtfn);
    expect(vfs.map((f) => f.bdf)).toEqual(['0000:00:04.1', '0000:00:04.2', '0000:00:04.3']);
    for (const [i, vf] of vfs.entries()) {
      expect(vf).toBeInstanceOf(VirtualFunction);
      expect((vf as VirtualFunction).vfNumber).toBe(i + 1);
      expect(vf.physfn).toBe(pf);
      // known by the PF's vendor and the VF Device ID, but the registers read 0xffff
      expect([vf.vendorId, vf.deviceId]).toEqual([0x1af4, 0x1041]);
      expect(hw.configRead(vf.bdf, 0, 4)).toBe(0xffffffff);
      expect(hw.configRead(vf.bdf, 0x08, 4) >>> 8).toBe(0x020000);
      expect(hw.configRead(vf.bdf, 0x08, 1)).toBe(1);
      expect(hw.configRead(vf.bdf, 0x2c, 4)).toBe(0x11001af4);
      expect(hw.configRead(vf.bdf, 0x0e, 1)).toBe(0); // type 0, no multi-function bit
      expect(hw.configRead(vf.bdf, 0x3d, 1)).toBe(0); // no INTx
    }
    expect(hw.configRead(PF, 0x0e, 1)).toBe(0); // VFs do not make the PF multi-function
    expect(pf.vfs).toHaveLength(3);
    wr(PCI_SRIOV_CTRL, 2, 0);
    expect(hw.functions().map((f) => f.bdf)).toEqual([PF]);
    for (const vf of vfs) {
      expect(vf.alive).toBe(false);
      expect(hw.configRead(vf.bdf, 0, 4)).toBe(0xffffffff);
      expect(hw.configRead(vf.bdf, 0x08, 4)).toBe(0xffffffff);
    }
    // enabling again makes new functions with fresh state
    enable(2);
    expect(pf.vfs.map((v) => v.bdf)).toEqual(['0000:00:04.1', '0000:00:04.2']);
    expect(pf.vfs[0]).not.toBe(vfs[0]);
  });

  it('a removed VF held by someone reads all-ones and can never touch the VF that takes its slot', () => {
    enable(1);
    const stale = pf.vfs[0];
    const oldSlot = stale.slot;
    wr(PCI_SRIOV_CTRL, 2, 0);
    enable(1);
    const fresh = pf.vfs[0];
    expect(fresh.slot).toBe(oldSlot);
    expect(stale.slot).not.toBe(oldSlot);
    expect(stale.configRead(0x08, 4)).toBe(0xffffffff);
    stale.configWrite(0x04, 2, 0x0004);
    stale.reset('flr');
    stale.barWrite(2, 0x14, 1, 0x0f); // device_status through the stale object
    expect(stale.configRead(0x04, 2)).toBe(0xffff);
    expect(hw.configRead(fresh.bdf, 0x04, 2)).toBe(0);
    expect(hw.configRead(fresh.bdf, 0x08, 4)).toBe(0x02000001);
    expect(pf.member(1)!.status).toBe(0);
  });

  it('VFs spill onto the next device numbers of the bus', async () => {
    hw = (await createEmulator()).hw;
    pf = hw.addVirtioNet(PF, { totalVfs: 10 });
    enable(10);
    expect(pf.vfs.map((v) => v.bdf)).toEqual([
      '0000:00:04.1', '0000:00:04.2', '0000:00:04.3', '0000:00:04.4', '0000:00:04.5', '0000:00:04.6', '0000:00:04.7',
      '0000:00:05.0', '0000:00:05.1', '0000:00:05.2',
    ]);
    expect(hw.configRead('0000:00:05.0', 0x0e, 1)).toBe(0);
  });

  it('follows a different First VF Offset and VF Stride', async () => {
    hw = (await createEmulator()).hw;
    pf = hw.addVirtioNet('0000:00:08.0', { totalVfs: 3, firstVfOffset: 8, vfStride: 2 });
    expect(hw.configRead('0000:00:08.0', CAP + PCI_SRIOV_VF_OFFSET, 4)).toBe(0x00020008);
    hw.configWrite('0000:00:08.0', CAP + PCI_SRIOV_NUM_VF, 2, 3);
    hw.configWrite('0000:00:08.0', CAP + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE);
    expect(pf.vfs.map((v) => v.bdf)).toEqual(['0000:00:09.0', '0000:00:09.2', '0000:00:09.4']);
    expect(pf.sriov!.routingId(2)).toBe((0x08 << 3) + 8 + 4);
  });

  it('refuses a TotalVFs that would run off the bus', async () => {
    hw = (await createEmulator()).hw;
    expect(() => hw.addVirtioNet('0000:00:1f.0', { totalVfs: 8 })).toThrow(/does not fit on bus/);
    expect(hw.functions()).toHaveLength(0);
  });

  it('ignores NumVFs and System Page Size writes while VF Enable is set', () => {
    enable(2);
    wr(PCI_SRIOV_NUM_VF, 2, 4);
    expect(rd(PCI_SRIOV_NUM_VF, 2)).toBe(2);
    wr(PCI_SRIOV_SYS_PGSIZE, 4, 0x10);
    expect(rd(PCI_SRIOV_SYS_PGSIZE)).toBe(1);
    expect(pf.vfs).toHaveLength(2);
    // VF Enable with NumVFs 0 makes no VFs
    wr(PCI_SRIOV_CTRL, 2, 0);
    wr(PCI_SRIOV_NUM_VF, 2, 0);
    wr(PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE);
    expect(pf.vfs).toHaveLength(0);
    expect(pf.sriov!.vfEnabled).toBe(true);
  });

  it('skips a VF whose address another function already has', async () => {
    hw = (await createEmulator()).hw;
    pf = hw.addVirtioNet(PF, { totalVfs: 4 });
    hw.addEndpoint('0000:00:04.2', { vendorId: 0x8086, deviceId: 0x1234, classCode: 0 });
    enable(3);
    expect(pf.vfs.map((v) => v.bdf)).toEqual(['0000:00:04.1', '0000:00:04.3']);
    expect(pf.sriov!.conflicts).toEqual(['VF 2 at 0000:00:04.2: the address is taken by another function']);
    expect(hw.configRead('0000:00:04.2', 0, 4)).toBe(0x12348086);
  });

  it('a PF Function Level Reset clears VF Enable and removes the VFs', () => {
    enable(3);
    const exp = 0x48; // PCIe capability after PM
    expect(hw.configRead(PF, exp, 1)).toBe(0x10);
    hw.configWrite(PF, exp + 8, 2, 0x8000);
    expect(pf.vfs).toHaveLength(0);
    expect(hw.functions().map((f) => f.bdf)).toEqual([PF]);
    expect(rd(PCI_SRIOV_CTRL, 2)).toBe(0);
    expect(rd(PCI_SRIOV_NUM_VF, 2)).toBe(0);
  });
});

describe('VF config space and memory', () => {
  it('Command keeps only Bus Master Enable; BAR registers are read-only zero', () => {
    enable(1);
    const vf = pf.vfs[0].bdf;
    hw.configWrite(vf, 0x04, 2, 0xffff);
    expect(hw.configRead(vf, 0x04, 2)).toBe(0x0004);
    for (let i = 0; i < 6; i++) {
      hw.configWrite(vf, 0x10 + 4 * i, 4, 0xffffffff);
      expect(hw.configRead(vf, 0x10 + 4 * i, 4)).toBe(0);
    }
    // the VF has MSI-X and a PCIe capability with FLR
    const caps: number[] = [];
    for (let p = hw.configRead(vf, 0x34, 1); p !== 0; p = hw.configRead(vf, p + 1, 1)) caps.push(hw.configRead(vf, p, 1));
    expect(caps.slice(0, 2)).toEqual([0x10, 0x11]);
    expect(caps.slice(2).every((id) => id === 0x09)).toBe(true);
    expect(hw.configRead(vf, 0x40 + 4, 4) & 0x10000000).toBe(0x10000000);
  });

  it('VF i decodes VF BAR2 + i * size only while VF MSE is set, whatever the PF Command says', () => {
    enable(3, PCI_SRIOV_CTRL_VFE);
    expect(hw.decodedRanges('mem')).toEqual([]);
    expect(hw.mmioRead(VF_BAR2 + COMMON_NUM_QUEUES, 2)).toBe(0xffff);
    wr(PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
    const ranges = hw.decodedRanges('mem').map((r) => [r.base, r.end, r.fn.bdf, r.bar]);
    expect(ranges).toEqual([
      [VF_BAR2, VF_BAR2 + VF_SIZE, '0000:00:04.1', 2],
      [VF_BAR2 + VF_SIZE, VF_BAR2 + 2 * VF_SIZE, '0000:00:04.2', 2],
      [VF_BAR2 + 2 * VF_SIZE, VF_BAR2 + 3 * VF_SIZE, '0000:00:04.3', 2],
    ]);
    for (let i = 0; i < 3; i++) {
      const vf = pf.vfs[i];
      expect(vf.barBase(2)).toBe(VF_BAR2 + i * VF_SIZE);
      expect(vf.barSize(2)).toBe(VF_SIZE);
      expect(vf.barKind(0)).toBe(0);
      expect(hw.mmioRead(VF_BAR2 + i * VF_SIZE + COMMON_NUM_QUEUES, 2)).toBe(2); // num_queues of VF i's common config
    }
    // PF memory decode off changes nothing for the VFs; VF MSE off stops them
    hw.configWrite(PF, 0x04, 2, 0);
    expect(hw.mmioRead(VF_BAR2 + COMMON_NUM_QUEUES, 2)).toBe(2);
    wr(PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE);
    expect(hw.mmioRead(VF_BAR2 + COMMON_NUM_QUEUES, 2)).toBe(0xffff);
    // moving VF BAR2 moves every VF
    wr(PCI_SRIOV_BAR + 8, 4, 0xd0000000);
    wr(PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
    expect(hw.mmioRead(0xd0000000 + 2 * VF_SIZE + COMMON_NUM_QUEUES, 2)).toBe(2);
    expect(hw.mmioRead(VF_BAR2 + COMMON_NUM_QUEUES, 2)).toBe(0xffff);
  });
});
