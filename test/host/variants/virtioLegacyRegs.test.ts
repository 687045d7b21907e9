// The virtio-vfio-pci variant's emulated legacy I/O BAR0 and config overrides: the register map at
// every (offset, size) with MSI-X off and on against an independent model of the virtio 0.9.5
// layout, the wasm decode against the same model, BAR0 sizing through config space, the config
// overrides of a transitional device, GET_REGION_INFO, and the I/O enable.
import { describe, expect, it } from 'vitest';
import { L, createCoreSync } from '../../../src/core/wasm.js';
import type { VirtioNetDevice } from '../../../src/hw/devices/virtio/virtioNetDevice.js';
import { VIRTIO_MSI_NO_VECTOR } from '../../../src/hw/devices/virtio/virtioSpec.js';
import { VIRTIOVF_NET_BAR0_SIZE, VL, virtioLegacyDecode } from '../../../src/host/variants/virtio/legacyIo.js';
import { REGION_INFO_SIZEOF, decodeRegionInfo, encodeRegionInfo } from '../../../src/host/vfio/uapi/regionInfo.js';
import {
  BAR0, CFG, LegacyBar, VF1, VFIO, enableMsix, errno, openVf, outcome, regionOffset, vfDevice, vfState, virtioVfMachine,
} from './virtioMachine.js';

// a core of its own for the decode checks
const core = createCoreSync();
const { raw, mem } = core;

// ---- an independent model of the legacy layout --------------------------------------------------

/** [offset, size] of each register of the legacy common header (4.1.4.10). */
function commonFields(msix: boolean): [number, number][] {
  const f: [number, number][] = [[0, 4], [4, 4], [8, 4], [12, 2], [14, 2], [16, 2], [18, 1], [19, 1]];
  if (msix) f.push([20, 2], [22, 2]);
  return f;
}
/** struct virtio_net_config fields up to duplex: mac, status, max_virtqueue_pairs, mtu, speed, duplex. */
const DEVICE_FIELDS: [number, number][] = [[0, 6], [6, 2], [8, 2], [10, 2], [12, 4], [16, 1]];

type Expect = { kind: 'EINVAL' } | { kind: 'notify' } | { kind: 'common' | 'device'; off: number };

function inOneField(fields: [number, number][], off: number, size: number): boolean {
  return fields.some(([o, s]) => off >= o && off + size <= o + s);
}

/**
 * What BAR0 does with (off, size): the variant refuses sizes other than 1/2/4, anything past 32
 * bytes, QUEUE_NOTIFY other than 2 bytes and the common/device seam; the PF's device refuses
 * what is not inside one register (Q_INVALID_FIELD -> EINVAL).
 */
function model(off: number, size: number, msix: boolean): Expect {
  if (size !== 1 && size !== 2 && size !== 4) return { kind: 'EINVAL' };
  if (off + size > 32) return { kind: 'EINVAL' };
  if (off === 16) return size === 2 ? { kind: 'notify' } : { kind: 'EINVAL' };
  const cfg = msix ? 24 : 20;
  if (off < cfg) {
    if (off + size > cfg) return { kind: 'EINVAL' };
    return inOneField(commonFields(msix), off, size) ? { kind: 'common', off } : { kind: 'EINVAL' };
  }
  return inOneField(DEVICE_FIELDS, off - cfg, size) ? { kind: 'device', off: off - cfg } : { kind: 'EINVAL' };
}

/** The legacy register image of a VF right after reset: common header and device configuration. */
function image(dev: VirtioNetDevice, msix: boolean): { common: Uint8Array; device: Uint8Array } {
  const common = new Uint8Array(24);
  const v = new DataView(common.buffer);
  v.setUint32(0, dev.featuresLo, true);
  v.setUint16(12, dev.queues[0].maxSize, true);
  if (msix) {
    v.setUint16(20, VIRTIO_MSI_NO_VECTOR, true);
    v.setUint16(22, VIRTIO_MSI_NO_VECTOR, true);
  }
  const device = new Uint8Array(17);
  const d = new DataView(device.buffer);
  device.set(dev.mac, 0);
  d.setUint16(6, 1, true); // VIRTIO_NET_S_LINK_UP
  d.setUint16(8, 1, true);
  d.setUint16(10, 1500, true);
  d.setUint32(12, 0xffffffff, true);
  device[16] = 0xff;
  return { common, device };
}

function le(bytes: Uint8Array, off: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[off + i];
  return v;
}

// ---- the wasm decode ----------------------------------------------------------------------------

describe('wasm decode of the legacy BAR0', () => {
  it('matches the model for every offset and size, MSI-X off and on, read and write', () => {
    for (const msix of [false, true]) {
      for (const write of [false, true]) {
        for (let off = 0; off < 40; off++) {
          for (let size = 0; size <= 8; size++) {
            const code = virtioLegacyDecode(core, off, size, msix ? 1 : 0, write ? 1 : 0, VIRTIOVF_NET_BAR0_SIZE);
            const target = code & 0xff;
            const opcode = (code >>> 8) & 0xff;
            const member = (code >>> 16) & 0xff;
            const want = model(off, size, msix);
            const at = `off ${off} size ${size} msix ${msix} write ${write}`;
            if (want.kind === 'notify') expect(target, at).toBe(VL.NOTIFY);
            else if (want.kind === 'common') expect([target, opcode, member], at).toEqual([VL.COMMON, write ? 2 : 3, off]);
            else if (want.kind === 'device') expect([target, opcode, member], at).toEqual([VL.DEVICE, write ? 4 : 5, want.off]);
            // the model's EINVAL for a register-straddling access inside one block is the device's
            // answer; the decode sends those on (as Linux does) and refuses only the rest
            else if (size !== 1 && size !== 2 && size !== 4) expect(target, at).toBe(VL.INVALID);
            else if (off + size > 32 || off === 16) expect(target, at).toBe(VL.INVALID);
          }
        }
      }
    }
  });

  it('refuses the seam between common header and device configuration, and nonsense inputs', () => {
    expect(virtioLegacyDecode(core, 18, 4, 0, 0, 32) & 0xff).toBe(VL.INVALID); // 18..21 crosses 20
    expect(virtioLegacyDecode(core, 22, 4, 1, 0, 32) & 0xff).toBe(VL.INVALID); // 22..25 crosses 24
    expect(virtioLegacyDecode(core, 20, 4, 1, 0, 32) & 0xff).toBe(VL.COMMON);
    expect(virtioLegacyDecode(core, 20, 4, 0, 0, 32) & 0xff).toBe(VL.DEVICE);
    expect(virtioLegacyDecode(core, 0xffffffff, 1, 0, 0, 32) & 0xff).toBe(VL.INVALID);
    expect(virtioLegacyDecode(core, 0, 1, 0, 0, 0) & 0xff).toBe(VL.INVALID);
    expect(virtioLegacyDecode(core, 28, 4, 0, 0, 32) & 0xff).toBe(VL.DEVICE);
    expect(virtioLegacyDecode(core, 29, 4, 0, 0, 32) & 0xff).toBe(VL.INVALID);
  });

  it('the one-call table export gives the same answers as one call per access', () => {
    for (const msix of [0, 1]) {
      const n = raw.virtioLegacyDecodeTable(msix, 1, 32);
      expect(n).toBe(128);
      const out = new Int32Array(mem.u8.buffer, L.SCRATCH, n);
      for (let off = 0; off < 32; off++) for (let size = 1; size <= 4; size++) expect(out[off * 4 + size - 1]).toBe(virtioLegacyDecode(core, off, size, msix, 1, 32));
    }
  });
});

// ---- the register map through the device file --------------------------------------------------

describe('legacy BAR0 register map through the device file', () => {
  for (const msix of [false, true]) {
    it(`reads every offset and size as the legacy layout says (MSI-X ${msix ? 'on' : 'off'})`, async () => {
      const m = await virtioVfMachine(2);
      const { emu } = m;
      const { file, c } = openVf(emu, VF1);
      if (msix) enableMsix(emu, c, 3);
      const bar = new LegacyBar(file);
      const dev = vfDevice(m, 1);
      const img = image(dev, msix);
      const other = vfState(vfDevice(m, 2));
      for (let off = 0; off < 36; off++) {
        for (let size = 1; size <= 4; size++) {
          const want = model(off, size, msix);
          const at = `off ${off} size ${size}`;
          if (want.kind === 'EINVAL') {
            expect(errno(() => bar.read(off, size)), at).toBe('EINVAL');
          } else if (want.kind === 'notify') {
            expect(bar.read(off, size), at).toBe(0); // the notify register reads 0
          } else {
            const src = want.kind === 'common' ? img.common : img.device;
            expect(bar.read(off, size), at).toBe(le(src, want.off, size));
          }
        }
      }
      expect(vfState(vfDevice(m, 2))).toEqual(other);
      file.close();
    });

    it(`writes every offset and size: refused where reads are, read-only registers unchanged (MSI-X ${msix ? 'on' : 'off'})`, async () => {
      const m = await virtioVfMachine(2);
      const { emu } = m;
      const { file, c } = openVf(emu, VF1);
      if (msix) enableMsix(emu, c, 3);
      const bar = new LegacyBar(file);
      const dev = vfDevice(m, 1);
      const img = image(dev, msix);
      const other = vfState(vfDevice(m, 2));
      for (let off = 0; off < 36; off++) {
        for (let size = 1; size <= 4; size++) {
          const want = model(off, size, msix);
          const at = `off ${off} size ${size}`;
          // write back what the register holds after reset, so each write leaves the state as it was
          const value = want.kind === 'common' ? le(img.common, want.off, size) : want.kind === 'device' ? le(img.device, want.off, size) : 0;
          expect(outcome(() => bar.write(off, size, value)), at).toBe(want.kind === 'EINVAL' ? 'EINVAL' : 'OK');
        }
      }
      // read-only registers ignore other values
      bar.write(0, 4, 0x12345678);
      bar.write(12, 2, 0x10);
      bar.write(19, 1, 0xff);
      bar.write(msix ? 24 + 6 : 26, 2, 0); // net status
      expect([bar.read(0, 4), bar.read(12, 2), bar.read(19, 1), bar.read(msix ? 30 : 26, 2)]).toEqual([dev.featuresLo, dev.queues[0].maxSize, 0, 1]);
      expect(vfState(vfDevice(m, 2))).toEqual(other);
      file.close();
    });
  }

  it('MSI-X state decides where the device configuration starts, per access', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { file, c } = openVf(emu, VF1);
    const bar = new LegacyBar(file);
    const dev = vfDevice(m, 1);
    expect(bar.read(20, 1)).toBe(dev.mac[0]);
    enableMsix(emu, c, 3);
    expect(bar.read(20, 2)).toBe(VIRTIO_MSI_NO_VECTOR); // config_vector
    expect(bar.read(24, 1)).toBe(dev.mac[0]);
    c.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0); // disable
    expect(bar.read(20, 1)).toBe(dev.mac[0]);
    file.close();
  });

  it('guest features, queue select, QUEUE_PFN, vectors and status write through to the VF', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { file, c } = openVf(emu, VF1);
    enableMsix(emu, c, 3);
    const bar = new LegacyBar(file);
    const dev = vfDevice(m, 1);
    bar.write(4, 4, 0xffffffff);
    expect(bar.read(4, 4)).toBe(dev.featuresLo); // only offered bits stick
    bar.write(14, 2, 1);
    expect(dev.queueSelect).toBe(1);
    bar.write(8, 4, 0x345);
    expect(dev.queues[1].legacyPfn).toBe(0x345);
    expect(dev.queues[1].descAddr).toBe(0x345000);
    bar.write(22, 2, 2);
    expect(dev.queues[1].msixVector).toBe(2);
    bar.write(22, 2, 7); // beyond the VF's 3 vectors
    expect(bar.read(22, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    bar.write(18, 1, 3);
    expect(dev.status).toBe(3);
    // byte access inside a register: the upper byte of queue_sel
    bar.write(15, 1, 0);
    expect(bar.read(14, 2)).toBe(1);
    bar.write(18, 1, 0); // reset
    expect([dev.status, dev.queues[1].legacyPfn, dev.queueSelect]).toEqual([0, 0, 0]);
    file.close();
  });

  it('a legacy driver may change the MAC through the device configuration', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { file } = openVf(emu, VF1);
    const bar = new LegacyBar(file);
    bar.write(20, 4, 0x44332211);
    bar.write(24, 2, 0x6655);
    expect(Array.from(vfDevice(m, 1).mac)).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    expect([20, 21, 22, 23, 24, 25].map((o) => bar.read(o, 1))).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    file.close();
  });

  it('needs I/O decode on in Command (EIO otherwise), as the variant last saw Command written', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { file, c } = openVf(emu, VF1);
    const bar = new LegacyBar(file);
    c.configWrite(4, 2, 0x0006);
    for (const off of [0, 16, 20, 31]) expect(errno(() => bar.read(off, 1)), `off ${off}`).toBe('EIO');
    expect(errno(() => bar.write(16, 2, 0))).toBe('EIO');
    c.configWrite(4, 1, 0x07); // a byte write of Command counts too
    expect(bar.read(0, 4)).toBe(vfDevice(m, 1).featuresLo);
    // a reset is the variant's reset_done: Command starts over
    c.reset();
    expect(errno(() => bar.read(0, 4))).toBe('EIO');
    file.close();
  });
});

// ---- config space and region info ----------------------------------------------------------------

describe('a transitional virtio-net device in config space', () => {
  it('reports Device ID 0x1000, Revision 0, Subsystem 1af4:0001 and BAR0 as a 32-byte I/O BAR, at every access size', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { c } = openVf(emu, VF1);
    expect(c.configRead(0x00, 4)).toBe(0x10001af4);
    expect(c.configRead(0x08, 4)).toBe(0x02000000); // class 020000, revision 0 (hardware says 1)
    expect(emu.hw.configRead(VF1, 0x08, 1)).toBe(1);
    expect(c.configRead(0x2c, 4)).toBe(0x00011af4);
    expect(c.configRead(0x10, 4)).toBe(0x00000001);
    // every byte and word of those dwords agrees with the dword
    for (const dw of [0x00, 0x08, 0x10, 0x2c]) {
      const v = c.configRead(dw, 4);
      for (let i = 0; i < 4; i++) expect(c.configRead(dw + i, 1), `byte ${dw + i}`).toBe((v >>> (8 * i)) & 0xff);
      for (let i = 0; i < 4; i += 2) expect(c.configRead(dw + i, 2), `word ${dw + i}`).toBe((v >>> (8 * i)) & 0xffff);
    }
    // a multi-dword read across the overrides patches each register in place
    const b = emu.host.openDevice(VF1).read(regionOffset(CFG, 0), 0x40);
    const dv = new DataView(b.buffer, b.byteOffset);
    expect([dv.getUint32(0, true), dv.getUint32(8, true), dv.getUint32(0x10, true), dv.getUint32(0x2c, true)]).toEqual([0x10001af4, 0x02000000, 1, 0x00011af4]);
  });

  it('BAR0 sizes through config space and reads back the programmed base; hardware BAR0 stays zero', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { c } = openVf(emu, VF1);
    c.configWrite(0x10, 4, 0xffffffff);
    expect(c.configRead(0x10, 4)).toBe(0xffffffe1);
    c.configWrite(0x10, 4, 0xc000);
    expect(c.configRead(0x10, 4)).toBe(0x0000c001);
    c.configWrite(0x10, 4, 0x12345678);
    expect(c.configRead(0x10, 4)).toBe(0x12345661);
    c.configWrite(0x11, 1, 0xab);
    expect(c.configRead(0x10, 4)).toBe(0x1234ab61);
    c.configWrite(0x12, 2, 0);
    expect(c.configRead(0x10, 4)).toBe(0x0000ab61);
    expect(emu.hw.configRead(VF1, 0x10, 4)).toBe(0);
    // the other BARs are vfio-pci-core's: VF BAR2 as vconfig has it
    expect(c.configRead(0x18, 4)).toBe(0x4);
  });

  it("Command's I/O bit reads as the user last wrote it; hardware has none", async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { c } = openVf(emu, VF1); // wrote IO | MEM | MASTER
    expect(c.configRead(4, 2) & 0x7).toBe(0x7);
    expect(emu.hw.configRead(VF1, 4, 2) & 0x1).toBe(0);
    c.configWrite(4, 2, 0x0006);
    expect(c.configRead(4, 2) & 0x1).toBe(0);
    c.configWrite(4, 1, 0x01);
    expect(c.configRead(4, 1) & 0x1).toBe(1);
    expect(c.configRead(5, 1)).toBe(c.configRead(4, 2) >> 8); // the high byte alone is not patched
  });

  it('GET_REGION_INFO reports BAR0 as 32 bytes, READ|WRITE, not mappable; the other regions are the core answer', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const { file, c } = openVf(emu, VF1);
    const r0 = c.getRegionInfo(BAR0);
    expect(r0).toMatchObject({ index: 0, size: 32n, offset: 0n, flags: VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE, caps: [] });
    const r2 = c.getRegionInfo(2);
    expect(r2.size).toBe(0x8000n);
    expect(r2.flags & VFIO.REGION_INFO_FLAG_MMAP).toBe(VFIO.REGION_INFO_FLAG_MMAP);
    // argsz below the struct: EINVAL; cap_offset comes back as given (only minsz bytes are copied)
    const short = new Uint8Array(REGION_INFO_SIZEOF);
    encodeRegionInfo({ argsz: 16, flags: 0, index: 0, capOffset: 0, size: 0n, offset: 0n }, short);
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, short))).toBe('EINVAL');
    const arg = new Uint8Array(REGION_INFO_SIZEOF);
    encodeRegionInfo({ argsz: REGION_INFO_SIZEOF, flags: 0xff, index: 0, capOffset: 0x1234, size: 5n, offset: 7n }, arg);
    file.ioctl(VFIO.DEVICE_GET_REGION_INFO, arg);
    expect(decodeRegionInfo(arg)).toEqual({ argsz: REGION_INFO_SIZEOF, flags: 3, index: 0, capOffset: 0x1234, size: 32n, offset: 0n });
    expect(c.getInfo().numRegions).toBe(9);
  });

  it('under plain vfio-pci the same VF shows what it is: 1af4:1041, revision 1, no BAR0', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    emu.host.driverOverride(VF1, 'vfio-pci');
    expect(emu.host.bind(VF1, 'vfio-pci')).toBe('vfio-pci');
    const file = emu.host.openDevice(VF1);
    const c = new (await import('../../../src/vmm/vfioClient.js')).VfioClient(file);
    expect([c.configRead(0, 4), c.configRead(8, 1), c.configRead(0x10, 4), c.configRead(0x2c, 4)]).toEqual([0x10411af4, 1, 0, 0x11001af4]);
    expect(c.getRegionInfo(BAR0).size).toBe(0n);
    expect(errno(() => file.read(regionOffset(BAR0, 0), 4))).toBe('EINVAL');
  });
});
