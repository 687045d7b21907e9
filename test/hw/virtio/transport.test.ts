// The modern virtio PCI transport (virtio 1.3 4.1): identity, the virtio structure capabilities,
// the common configuration field map, feature negotiation, the device status handshake and reset,
// queue configuration, MSI-X and INTx/ISR notifications, and the PCI configuration access capability.
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtioModernDriver } from '../../../src/hw/devices/virtio/modernDriver.js';
import {
  featureBits, VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_ADMIN_VQ, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_RING_RESET,
  VIRTIO_F_SR_IOV, VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS,
} from '../../../src/hw/devices/virtio/virtioSpec.js';
import { accessPairs } from '../helpers.js';
import { bringUpNet, frame, MSI_ADDR, PF, PF_BAR1, PF_BAR4, transmit, VF_BAR2, virtioMachine } from './helpers.js';
import type { VirtioMachine } from './helpers.js';

let m: VirtioMachine;
beforeEach(async () => {
  m = await virtioMachine(2);
});

const PF_FEATURES = featureBits(VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_F_SR_IOV, VIRTIO_F_RING_RESET, VIRTIO_F_ADMIN_VQ);
const VF_FEATURES = featureBits(VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_F_RING_RESET);

function caps(bdf: string): { at: number; len: number; type: number; bar: number; offset: number; length: number; extra: number }[] {
  const out = [];
  for (let p = m.hw.configRead(bdf, 0x34, 1); p !== 0; p = m.hw.configRead(bdf, p + 1, 1)) {
    if (m.hw.configRead(bdf, p, 1) !== 0x09) continue;
    out.push({
      at: p,
      len: m.hw.configRead(bdf, p + 2, 1),
      type: m.hw.configRead(bdf, p + 3, 1),
      bar: m.hw.configRead(bdf, p + 4, 1),
      offset: m.hw.configRead(bdf, p + 8, 4),
      length: m.hw.configRead(bdf, p + 12, 4),
      extra: m.hw.configRead(bdf, p + 16, 4),
    });
  }
  return out;
}

describe('identity and layout', () => {
  it('the PF is a non-transitional virtio network device with MSI-X in BAR1 and the virtio structures in BAR4', () => {
    const hw = m.hw;
    expect(hw.configRead(PF, 0, 4)).toBe(0x10411af4);
    expect(hw.configRead(PF, 0x08, 4)).toBe(0x02000001); // class 020000, revision 1
    expect(hw.configRead(PF, 0x2c, 4)).toBe(0x11001af4); // subsystem 1af4:1100 (>= 0x40)
    expect(hw.configRead(PF, 0x3d, 1)).toBe(1);
    expect(m.pf.barBase(1)).toBe(PF_BAR1);
    expect(m.pf.barSize(1)).toBe(0x1000);
    expect(m.pf.barBase(4)).toBe(PF_BAR4);
    expect(m.pf.barSize(4)).toBe(0x4000);
    expect(hw.configRead(PF, 0x10 + 16, 4) & 0xf).toBe(0x4); // 64-bit memory BAR
  });

  it('presents common, notify (multiplier 4), ISR, device and PCI-config capabilities (4.1.4)', () => {
    const want = (bar: number) => [
      { len: 16, type: 1, bar, offset: 0x0000, length: 64 },
      { len: 20, type: 2, bar, offset: 0x3000, length: 0x1000, extra: 4 },
      { len: 16, type: 3, bar, offset: 0x1000, length: 1 },
      { len: 16, type: 4, bar, offset: 0x2000, length: 20 },
      { len: 20, type: 5, bar: 0, offset: 0, length: 0, extra: 0 },
    ];
    expect(caps(PF)).toMatchObject(want(4));
    expect(caps(m.vfs[0].bdf)).toMatchObject(want(2));
    // the structure capabilities are read-only
    const c = caps(PF)[0];
    m.hw.configWrite(PF, c.at + 4, 4, 0xffffffff);
    m.hw.configWrite(PF, c.at + 8, 4, 0xffffffff);
    expect(caps(PF)[0]).toMatchObject({ bar: 4, offset: 0 });
  });
});

interface Field {
  name: string;
  off: number;
  size: 1 | 2 | 4;
  rw: boolean;
  pf: number;
  vf: number;
}

/** struct virtio_pci_common_cfg after reset, queue_select = 0 (virtio 1.3 4.1.4.3). */
const COMMON: Field[] = [
  { name: 'device_feature_select', off: 0, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'device_feature', off: 4, size: 4, rw: false, pf: PF_FEATURES[0], vf: VF_FEATURES[0] },
  { name: 'driver_feature_select', off: 8, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'driver_feature', off: 12, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'config_msix_vector', off: 16, size: 2, rw: true, pf: 0xffff, vf: 0xffff },
  { name: 'num_queues', off: 18, size: 2, rw: false, pf: 2, vf: 2 },
  { name: 'device_status', off: 20, size: 1, rw: true, pf: 0, vf: 0 },
  { name: 'config_generation', off: 21, size: 1, rw: false, pf: 0, vf: 0 },
  { name: 'queue_select', off: 22, size: 2, rw: true, pf: 0, vf: 0 },
  { name: 'queue_size', off: 24, size: 2, rw: true, pf: 256, vf: 256 },
  { name: 'queue_msix_vector', off: 26, size: 2, rw: true, pf: 0xffff, vf: 0xffff },
  { name: 'queue_enable', off: 28, size: 2, rw: true, pf: 0, vf: 0 },
  { name: 'queue_notify_off', off: 30, size: 2, rw: false, pf: 0, vf: 0 },
  { name: 'queue_desc_lo', off: 32, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'queue_desc_hi', off: 36, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'queue_driver_lo', off: 40, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'queue_driver_hi', off: 44, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'queue_device_lo', off: 48, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'queue_device_hi', off: 52, size: 4, rw: true, pf: 0, vf: 0 },
  { name: 'queue_notify_data', off: 56, size: 2, rw: false, pf: 0, vf: 0 },
  { name: 'queue_reset', off: 58, size: 2, rw: true, pf: 0, vf: 0 },
  { name: 'admin_queue_index', off: 60, size: 2, rw: false, pf: 2, vf: 0 },
  { name: 'admin_queue_num', off: 62, size: 2, rw: false, pf: 1, vf: 0 },
];

describe('common configuration', () => {
  for (const who of ['pf', 'vf'] as const) {
    it(`${who}: every field at its offset and width has its reset value`, () => {
      const base = who === 'pf' ? PF_BAR4 : VF_BAR2;
      for (const f of COMMON) expect(m.hw.mmioRead(base + f.off, f.size), f.name).toBe(f[who]);
    });
  }

  it('every aligned (offset, size) read returns the bytes of the fields it covers', () => {
    const bytes: number[] = [];
    for (const f of COMMON) for (let i = 0; i < f.size; i++) bytes[f.off + i] = (f.pf >>> (8 * i)) & 0xff;
    for (const { off, size } of accessPairs(64)) {
      let want = 0;
      for (let i = size - 1; i >= 0; i--) want = want * 256 + bytes[off + i];
      expect(m.hw.mmioRead(PF_BAR4 + off, size), `0x${off.toString(16)}/${size}`).toBe(want);
    }
  });

  it('read-only fields ignore writes; the selects and addresses keep what is written', () => {
    for (const f of COMMON.filter((x) => !x.rw)) {
      m.hw.mmioWrite(PF_BAR4 + f.off, f.size, 0x5a5a5a5a & (2 ** (8 * f.size) - 1));
      expect(m.hw.mmioRead(PF_BAR4 + f.off, f.size), f.name).toBe(f.pf);
    }
    m.hw.mmioWrite(PF_BAR4 + 0, 4, 7);
    expect(m.hw.mmioRead(PF_BAR4 + 0, 4)).toBe(7);
    expect(m.hw.mmioRead(PF_BAR4 + 4, 4)).toBe(0); // no feature bits beyond 63
    for (const off of [32, 36, 40, 44, 48, 52]) {
      m.hw.mmioWrite(PF_BAR4 + off, 4, 0x1000 + off);
      expect(m.hw.mmioRead(PF_BAR4 + off, 4)).toBe(0x1000 + off);
    }
    // a 64-bit address written as two halves
    const dev = m.pf.virtio;
    expect(dev.queues[0].descAddr).toBe(0x1024 * 2 ** 32 + 0x1020);
  });
});

describe('feature negotiation and device status', () => {
  it('offers its features in two 32-bit windows and keeps what the driver accepts', () => {
    const d = new VirtioModernDriver(m.hw, PF);
    expect(d.deviceFeatures()).toEqual(PF_FEATURES);
    expect(PF_FEATURES).toEqual([0x10010020, 0x321]);
    m.hw.mmioWrite(PF_BAR4 + 0, 4, 2);
    expect(m.hw.mmioRead(PF_BAR4 + 4, 4)).toBe(0);
    expect(d.negotiate(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC))).toEqual([0x20, 0x1]);
    expect(d.status).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    // after FEATURES_OK the driver features are frozen
    d.writeDriverFeatures(0xffffffff, 0xffffffff);
    m.hw.mmioWrite(PF_BAR4 + 8, 4, 0);
    expect(m.hw.mmioRead(PF_BAR4 + 12, 4)).toBe(0x20);
    expect(m.pf.virtio.netHdrLen).toBe(12);
  });

  it('refuses FEATURES_OK for features it does not offer, or without VIRTIO_F_VERSION_1', () => {
    const d = new VirtioModernDriver(m.hw, PF);
    d.reset();
    d.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    d.writeDriverFeatures(1 << VIRTIO_NET_F_MRG_RXBUF, 1);
    d.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    expect(d.status & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    d.writeDriverFeatures(1 << VIRTIO_NET_F_MAC, 0);
    d.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    expect(d.status & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    d.writeDriverFeatures(1 << VIRTIO_NET_F_MAC, 1);
    d.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    expect(d.status & VIRTIO_CONFIG_S_FEATURES_OK).toBe(VIRTIO_CONFIG_S_FEATURES_OK);
  });

  it('writing 0 to device_status resets features, queues and vectors; NEEDS_RESET is the device\'s bit', () => {
    const n = bringUpNet(m.hw, PF, 0x100000);
    expect(n.driver.status).toBe(0x0f);
    const dev = m.pf.virtio;
    expect(dev.queues[0].enabled && dev.queues[1].enabled).toBe(true);
    n.driver.status = 0x0f | VIRTIO_CONFIG_S_NEEDS_RESET;
    expect(n.driver.status).toBe(0x0f);
    n.driver.status = 0;
    expect(n.driver.status).toBe(0);
    for (const f of COMMON) expect(m.hw.mmioRead(PF_BAR4 + f.off, f.size), f.name).toBe(f.pf);
    expect(dev.queues.every((q) => !q.enabled && q.descAddr === 0)).toBe(true);
  });

  it('a FAILED or not-yet-DRIVER_OK device processes nothing', () => {
    const a = bringUpNet(m.hw, m.vfs[0].bdf, 0x100000);
    const b = bringUpNet(m.hw, m.vfs[1].bdf, 0x200000);
    const dst = m.pf.member(2)!.mac;
    a.driver.status = a.driver.status | VIRTIO_CONFIG_S_FAILED;
    transmit(m.hw, a, frame(dst, m.pf.member(1)!.mac));
    expect(a.tx.takeUsed()).toEqual([]);
    expect(b.rx.takeUsed()).toEqual([]);
  });
});

describe('queue configuration', () => {
  const sel = (q: number) => m.hw.mmioWrite(PF_BAR4 + 22, 2, q);
  const r16 = (off: number) => m.hw.mmioRead(PF_BAR4 + off, 2);

  it('queue_notify_off and queue_notify_data name the queue; nonexistent queues read 0', () => {
    for (const q of [0, 1, 2]) {
      sel(q);
      expect([r16(24), r16(30), r16(56)]).toEqual([256, q, q]);
    }
    sel(3);
    expect([r16(24), r16(26), r16(28), r16(30), r16(56)]).toEqual([0, 0xffff, 0, 0, 0]);
    m.hw.mmioWrite(PF_BAR4 + 24, 2, 16);
    expect(r16(24)).toBe(0);
  });

  it('queue_size takes powers of two up to the maximum, not while the queue is enabled', () => {
    sel(1);
    for (const [w, r] of [[64, 64], [3, 64], [512, 64], [0, 64], [1, 1], [256, 256]] as const) {
      m.hw.mmioWrite(PF_BAR4 + 24, 2, w);
      expect(r16(24), `write ${w}`).toBe(r);
    }
    m.hw.mmioWrite(PF_BAR4 + 28, 2, 1);
    expect(r16(28)).toBe(1);
    m.hw.mmioWrite(PF_BAR4 + 24, 2, 16);
    m.hw.mmioWrite(PF_BAR4 + 32, 4, 0x5000);
    expect([r16(24), m.hw.mmioRead(PF_BAR4 + 32, 4)]).toEqual([256, 0]);
    m.hw.mmioWrite(PF_BAR4 + 28, 2, 0); // the driver must not write 0; ignored
    expect(r16(28)).toBe(1);
  });

  it('queue_reset returns a queue to its reset values when VIRTIO_F_RING_RESET was negotiated', () => {
    const d = new VirtioModernDriver(m.hw, PF);
    d.negotiate(featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_RING_RESET));
    d.setupQueue(1, 0x100000, 32, 1);
    sel(1);
    expect([r16(24), r16(26), r16(28)]).toEqual([32, 1, 1]);
    m.hw.mmioWrite(PF_BAR4 + 58, 2, 1);
    expect([r16(58), r16(24), r16(26), r16(28), m.hw.mmioRead(PF_BAR4 + 32, 4)]).toEqual([0, 256, 0xffff, 0, 0]);
  });

  it('queue_reset is ignored when VIRTIO_F_RING_RESET was not negotiated', () => {
    const d = new VirtioModernDriver(m.hw, PF);
    d.negotiate(featureBits(VIRTIO_F_VERSION_1));
    d.setupQueue(1, 0x100000, 32, 1);
    sel(1);
    m.hw.mmioWrite(PF_BAR4 + 58, 2, 1);
    expect([r16(24), r16(26), r16(28)]).toEqual([32, 1, 1]);
  });

  it('MSI-X vectors outside the table read back NO_VECTOR', () => {
    m.hw.mmioWrite(PF_BAR4 + 16, 2, 3);
    expect(r16(16)).toBe(3);
    m.hw.mmioWrite(PF_BAR4 + 16, 2, 4); // the PF has 4 vectors
    expect(r16(16)).toBe(0xffff);
    sel(0);
    m.hw.mmioWrite(PF_BAR4 + 26, 2, 2);
    expect(r16(26)).toBe(2);
    m.hw.mmioWrite(PF_BAR4 + 26, 2, 0x7ff);
    expect(r16(26)).toBe(0xffff);
  });
});

describe('notifications', () => {
  function msix(bdf: string, tableAddr: number, vectors: number): void {
    let cap = m.hw.configRead(bdf, 0x34, 1);
    while (m.hw.configRead(bdf, cap, 1) !== 0x11) cap = m.hw.configRead(bdf, cap + 1, 1);
    for (let v = 0; v < vectors; v++) {
      m.hw.mmioWrite(tableAddr + 16 * v, 4, MSI_ADDR);
      m.hw.mmioWrite(tableAddr + 16 * v + 4, 4, 0);
      m.hw.mmioWrite(tableAddr + 16 * v + 8, 4, 0x40 + v);
      m.hw.mmioWrite(tableAddr + 16 * v + 12, 4, 0);
    }
    m.hw.configWrite(bdf, cap + 2, 2, 0x8000);
  }

  it('used buffers raise the queue\'s MSI-X vector; a link change raises the config vector', () => {
    msix(m.vfs[0].bdf, VF_BAR2 + 0x5000, 3);
    const a = bringUpNet(m.hw, m.vfs[0].bdf, 0x100000);
    a.driver.setConfigVector(2);
    m.log.clear();
    transmit(m.hw, a, frame(m.pf.member(2)!.mac, m.pf.member(1)!.mac));
    expect(m.log.messages).toEqual([{ addressLo: MSI_ADDR, addressHi: 0, data: 0x41, source: m.vfs[0].bdf }]);
    m.log.clear();
    m.pf.member(1)!.setLink(false);
    expect(m.log.messages.map((x) => x.data)).toEqual([0x42]);
    expect(a.driver.deviceConfig(6, 2)).toBe(0);
    expect(m.hw.mmioRead(VF_BAR2 + 21, 1)).toBe(1); // config_generation moved
  });

  it('without MSI-X: ISR bit 0 and INTx for used buffers, bit 1 for config changes; reading ISR clears and deasserts', () => {
    const p = bringUpNet(m.hw, PF, 0x100000);
    const isr = PF_BAR4 + 0x1000;
    transmit(m.hw, p, frame(new Uint8Array([2, 0, 0, 0, 0, 9]), m.pf.virtio.mac));
    expect(m.log.intxLevels.get(PF)).toBe(true);
    expect(m.hw.configRead(PF, 0x06, 2) & 0x08).toBe(0x08);
    expect(m.hw.mmioRead(isr, 1)).toBe(1);
    expect(m.log.intxLevels.get(PF)).toBe(false);
    expect(m.hw.mmioRead(isr, 1)).toBe(0);
    m.pf.virtio.setLink(false);
    expect(m.hw.mmioRead(isr, 1)).toBe(2);
  });

  it('VRING_AVAIL_F_NO_INTERRUPT suppresses used-buffer notifications', () => {
    const p = bringUpNet(m.hw, PF, 0x100000);
    p.tx.suppressInterrupts(true);
    transmit(m.hw, p, frame(new Uint8Array([2, 0, 0, 0, 0, 9]), m.pf.virtio.mac));
    expect(p.tx.takeUsed()).toHaveLength(1);
    expect(m.hw.mmioRead(PF_BAR4 + 0x1000, 1)).toBe(0);
  });
});

describe('PCI configuration access capability (4.1.4.9)', () => {
  const at = () => caps(PF).find((c) => c.type === 5)!.at;

  it('pci_cfg_data reads and writes cap.length bytes at cap.offset of cap.bar', () => {
    const c = at();
    m.hw.configWrite(PF, c + 4, 1, 4);
    m.hw.configWrite(PF, c + 8, 4, 18); // num_queues
    m.hw.configWrite(PF, c + 12, 4, 2);
    expect([m.hw.configRead(PF, c + 4, 1), m.hw.configRead(PF, c + 8, 4), m.hw.configRead(PF, c + 12, 4)]).toEqual([4, 18, 2]);
    expect(m.hw.configRead(PF, c + 16, 2)).toBe(2);
    expect(m.hw.configRead(PF, c + 16, 4) & 0xffff).toBe(2);
    // a write: queue_select = 2 through config space
    m.hw.configWrite(PF, c + 8, 4, 22);
    m.hw.configWrite(PF, c + 16, 4, 2);
    expect(m.hw.mmioRead(PF_BAR4 + 22, 2)).toBe(2);
    expect(m.hw.mmioRead(PF_BAR4 + 24, 2)).toBe(256);
    // a 4-byte read of device_feature (select 0)
    m.hw.configWrite(PF, c + 8, 4, 4);
    m.hw.configWrite(PF, c + 12, 4, 4);
    expect(m.hw.configRead(PF, c + 16, 4)).toBe(PF_FEATURES[0]);
  });

  it('works while memory decode is off, and a read of ISR through it clears ISR', () => {
    const c = at();
    m.pf.virtio.setLink(false);
    m.hw.configWrite(PF, 0x04, 2, 0);
    m.hw.configWrite(PF, c + 4, 1, 4);
    m.hw.configWrite(PF, c + 8, 4, 0x1000);
    m.hw.configWrite(PF, c + 12, 4, 1);
    expect(m.hw.configRead(PF, c + 16, 1)).toBe(2);
    expect(m.hw.configRead(PF, c + 16, 1)).toBe(0);
  });

  it('does nothing for a bad length, a misaligned offset, an absent BAR or an offset past the BAR', () => {
    const c = at();
    m.hw.configWrite(PF, c + 16, 4, 0xabcdef01);
    for (const [bar, off, len] of [[4, 18, 3], [4, 19, 2], [0, 0, 4], [7, 0, 4], [4, 0x4000, 4]]) {
      m.hw.configWrite(PF, c + 4, 1, bar);
      m.hw.configWrite(PF, c + 8, 4, off);
      m.hw.configWrite(PF, c + 12, 4, len);
      expect(m.hw.configRead(PF, c + 16, 4), `${bar}/${off}/${len}`).toBe(0xabcdef01);
    }
  });
});
