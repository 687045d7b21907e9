import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import { MIG_FLAG, MigState } from '../../src/index.js';
import { liveMigrate } from '../../src/vmm/liveMigration.js';
import { MigrationDestination } from '../../src/vmm/migrationDestination.js';
import { MigrationSource } from '../../src/vmm/migrationSource.js';
import { RecordType, StreamReader, encodeHeader, encodeRecord, ramPayload } from '../../src/vmm/migrationStream.js';
import { MigrationError } from '../../src/vmm/vfioMigration.js';
import { Vmm } from '../../src/vmm/vmm.js';
import type { FakeControl } from './fakeMigrationDriver.js';
import { ALL_FLAGS, FAKE_SPEC, registerFakeMigration } from './fakeMigrationDriver.js';
import { MSI_SPEC } from './machine.js';

const { RUNNING, STOP, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = MigState;

interface Side {
  vmm: Vmm;
  ctl: FakeControl;
}

/** One host with fake-migratable devices (and optionally plain vfio-pci ones) assigned to a VMM. */
async function side(devices: { host: string; guest: string; flags?: number; plain?: boolean }[], flags = ALL_FLAGS, opts: { total?: number; initial?: number } = {}): Promise<Side> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  const ctl = registerFakeMigration(emu, flags, opts);
  for (const d of devices) emu.hw.addEndpoint(d.host, d.plain ? MSI_SPEC : FAKE_SPEC);
  const vmm = new Vmm(emu);
  for (const d of devices) {
    if (d.plain) {
      emu.host.driverOverride(d.host, 'vfio-pci');
      emu.host.bind(d.host, 'vfio-pci');
    } else {
      expect(emu.host.bind(d.host)).toBe('fake-mig');
    }
    vmm.assign(emu.host.openDevice(d.host), d.guest);
  }
  return { vmm, ctl };
}

const TWO = [
  { host: '0000:00:05.0', guest: '0000:00:03.0' },
  { host: '0000:00:06.0', guest: '0000:00:04.0' },
];

describe('migration orchestration against the uapi (fake migration driver)', () => {
  it('two P2P devices: PRE_COPY passes, PRE_COPY_P2P for all before any STOP_COPY, STOP; destination RESUMING, STOP, RUNNING_P2P for all before any RUNNING', async () => {
    const src = await side(TWO);
    const dst = await side(TWO);
    const order: string[] = [];
    const r = liveMigrate(src.vmm, dst.vmm, { maxPasses: 2, chunkBytes: 1000 });
    expect(r.p2p).toBe(true);
    for (const d of TWO) {
      expect(src.ctl.arcs.get(d.host)).toEqual([[RUNNING, PRE_COPY], [PRE_COPY, PRE_COPY_P2P], [PRE_COPY_P2P, STOP_COPY], [STOP_COPY, STOP]]);
      // the kernel walks RUNNING -> RESUMING through RUNNING_P2P and STOP
      expect(dst.ctl.arcs.get(d.host)).toEqual([[RUNNING, RUNNING_P2P], [RUNNING_P2P, STOP], [STOP, RESUMING], [RESUMING, STOP], [STOP, RUNNING_P2P], [RUNNING_P2P, RUNNING]]);
      // every byte arrived, in order, exactly once
      expect(dst.ctl.received.get(d.host)!.length).toBe(src.ctl.total);
    }
    // P2P first for every device: the VMM-level order of requests
    for (const [bdf, states] of Object.entries(r.sourceStates)) order.push(...states.map((s) => `${bdf}:${s}`));
    expect(r.sourceStates['0000:00:03.0']).toEqual(['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP']);
    // the pre-copy pass read the initial data, STOP_COPY the rest
    expect(r.passes[0].deviceBytes).toBe(2 * src.ctl.initial);
    expect(r.passes[0].ready).toEqual({ '0000:00:03.0': src.ctl.initial, '0000:00:04.0': src.ctl.initial });
    expect(r.stopCopy.deviceBytes).toBe(2 * (src.ctl.total - src.ctl.initial));
  });

  it('P2P states only when every migrating device has them, and only with more than one device', async () => {
    const one = await side([TWO[0]]);
    const oneDst = await side([TWO[0]]);
    const r1 = liveMigrate(one.vmm, oneDst.vmm, { maxPasses: 1 });
    expect(r1.p2p).toBe(false);
    // the device has P2P, so the kernel's own route to STOP_COPY passes through PRE_COPY_P2P
    expect(r1.sourceStates['0000:00:03.0']).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
    expect(r1.destinationStates['0000:00:03.0']).toEqual(['RESUMING', 'STOP', 'RUNNING']);

    const noP2p = MIG_FLAG.STOP_COPY | MIG_FLAG.PRE_COPY;
    const a = await side(TWO, noP2p);
    const b = await side(TWO, noP2p);
    const r2 = liveMigrate(a.vmm, b.vmm, { maxPasses: 1 });
    expect(r2.p2p).toBe(false);
    expect(a.ctl.arcs.get('0000:00:05.0')).toEqual([[RUNNING, PRE_COPY], [PRE_COPY, STOP_COPY], [STOP_COPY, STOP]]);
    expect(b.ctl.arcs.get('0000:00:05.0')).toEqual([[RUNNING, STOP], [STOP, RESUMING], [RESUMING, STOP], [STOP, RUNNING]]);
  });

  it('without PRE_COPY the devices go straight to STOP_COPY at stop time (through RUNNING_P2P with P2P)', async () => {
    const flags = MIG_FLAG.STOP_COPY | MIG_FLAG.P2P;
    const src = await side(TWO, flags);
    const dst = await side(TWO, flags);
    const r = liveMigrate(src.vmm, dst.vmm, { maxPasses: 2 });
    expect(r.passes.every((p) => p.deviceBytes === 0)).toBe(true);
    expect(r.sourceStates['0000:00:04.0']).toEqual(['RUNNING_P2P', 'STOP_COPY', 'STOP']);
    expect(src.ctl.arcs.get('0000:00:06.0')).toEqual([[RUNNING, RUNNING_P2P], [RUNNING_P2P, STOP], [STOP, STOP_COPY], [STOP_COPY, STOP]]);
    expect(dst.ctl.received.get('0000:00:06.0')!.length).toBe(src.ctl.total);
  });

  it('a failed arc on the source: the device goes back to its recovery state, every device runs again, the migration fails', async () => {
    const src = await side(TWO);
    const dst = await side(TWO);
    src.ctl.failArc(STOP_COPY, null, '0000:00:06.0');
    expect(() => liveMigrate(src.vmm, dst.vmm, { maxPasses: 1 })).toThrow(MigrationError);
    for (const d of TWO) expect(src.ctl.arcs.get(d.host)!.at(-1)![1]).toBe(RUNNING);
    expect(src.ctl.resets.get('0000:00:06.0') ?? 0).toBe(0);
    // the destination's devices were reset: they hold nothing valid
    for (const d of TWO) expect(dst.ctl.resets.get(d.host)).toBeGreaterThan(0);
  });

  it('an arc that leaves the device in ERROR falls back to DEVICE_RESET', async () => {
    const src = await side(TWO);
    const dst = await side(TWO);
    src.ctl.failArc(PRE_COPY_P2P, MigState.ERROR, '0000:00:05.0');
    expect(() => liveMigrate(src.vmm, dst.vmm, { maxPasses: 1 })).toThrow(/PRE_COPY_P2P failed/);
    expect(src.ctl.resets.get('0000:00:05.0')).toBe(1);
    expect(src.vmm.log.grep('VFIO_DEVICE_RESET').length).toBe(1);
    // the other device was taken back to RUNNING by its arcs, not reset
    expect(src.ctl.resets.get('0000:00:06.0') ?? 0).toBe(0);
    expect(src.ctl.arcs.get('0000:00:06.0')!.at(-1)![1]).toBe(RUNNING);
  });

  it('a failed RUNNING on the destination fails the migration and resets it there; the source resumes', async () => {
    const src = await side(TWO);
    const dst = await side(TWO);
    dst.ctl.failArc(RUNNING, null, '0000:00:05.0');
    expect(() => liveMigrate(src.vmm, dst.vmm, { maxPasses: 1 })).toThrow(MigrationError);
    // source: STOP back to RUNNING (the kernel's route passes RUNNING_P2P)
    for (const d of TWO) expect(src.ctl.arcs.get(d.host)!.slice(-2)).toEqual([[STOP, RUNNING_P2P], [RUNNING_P2P, RUNNING]]);
  });

  it('a device without migration support blocks migration unless allowed, and then is left out', async () => {
    const devs = [TWO[0], { host: '0000:00:07.0', guest: '0000:00:05.0', plain: true }];
    const src = await side(devs);
    const dst = await side(devs);
    expect(() => liveMigrate(src.vmm, dst.vmm)).toThrow(/migration is blocked: 0000:00:05.0/);
    expect(src.ctl.arcs.size).toBe(0);
    const src2 = await side(devs);
    const dst2 = await side(devs);
    const r = liveMigrate(src2.vmm, dst2.vmm, { allowUnmigratable: true, maxPasses: 1 });
    expect(r.devices).toEqual(['0000:00:03.0']);
    expect(r.p2p).toBe(false);
  });

  it('the VMM state moves with the devices: BARs, MSI-X enable, table and PBA, Interrupt Line', async () => {
    const src = await side([TWO[0]]);
    const dst = await side([TWO[0]]);
    const g = src.vmm.hw;
    const bdf = '0000:00:03.0';
    g.configWrite(bdf, 0x10, 4, 0xc0100000);
    g.configWrite(bdf, 0x3c, 1, 11);
    g.configWrite(bdf, 0x04, 2, 0x0006);
    const cap = src.vmm.device(bdf)!.msix!.layout.cap;
    g.configWrite(bdf, cap + 2, 2, 0xc000); // enable + function mask
    g.mmioWrite(0xc0102000 + 16 + 8, 4, 0x41);
    g.mmioWrite(0xc0102000 + 16 + 12, 4, 0); // unmask entry 1
    const before = src.vmm.device(bdf)!;
    before.msix!.fire(1); // fires while function-masked: pending
    expect(before.msix!.pba[0]).toBe(2);
    liveMigrate(src.vmm, dst.vmm, { maxPasses: 0 });
    const h = dst.vmm.hw;
    const after = dst.vmm.device(bdf)!;
    expect(h.configRead(bdf, 0x10, 4)).toBe(0xc0100000);
    expect(h.configRead(bdf, 0x3c, 1)).toBe(11);
    expect(h.configRead(bdf, 0x04, 2) & 0x6).toBe(0x6);
    expect(h.configRead(bdf, cap + 2, 2) & 0xc000).toBe(0xc000);
    expect(h.mmioRead(0xc0102000 + 16 + 8, 4)).toBe(0x41);
    expect(h.mmioRead(0xc0103000, 4)).toBe(2);
    // the interrupt setup was made again with the destination's eventfds on the same vectors
    expect(after.msix!.wired).toEqual(before.msix!.wired);
    expect(after.msix!.hostVectors).toBe(before.msix!.hostVectors);
  });
});

describe('the VMM state of MSI and INTx moves too', () => {
  it('MSI: address, data, enabled vectors and mask move; the destination sets the same vectors up on its host', async () => {
    const src = await side([TWO[0]]);
    const dst = await side([TWO[0]]);
    const bdf = '0000:00:03.0';
    const g = src.vmm.hw;
    const msi = src.vmm.device(bdf)!.msi!;
    g.configWrite(bdf, msi.cap + 4, 4, 0xfee00000);
    g.configWrite(bdf, msi.cap + 8, 4, 0);
    g.configWrite(bdf, msi.dataOff, 2, 0x40);
    g.configWrite(bdf, msi.maskOff, 4, 0b0100);
    g.configWrite(bdf, msi.cap + 2, 2, (2 << 4) | 1);
    expect(msi.hostVectors).toBe(4);
    msi.fire(2); // masked: pending
    liveMigrate(src.vmm, dst.vmm, { maxPasses: 0 });
    const after = dst.vmm.device(bdf)!.msi!;
    expect(after.enabled).toBe(true);
    expect(after.hostVectors).toBe(4);
    expect(after.message(3)).toEqual([0xfee00000, 0, 0x43]);
    expect(dst.vmm.hw.configRead(bdf, after.pendingOff, 4)).toBe(0b0100);
    // the destination's host really has MSI on with 4 vectors
    const sent: number[] = [];
    dst.vmm.hw.setInterruptSink({ msi: (_l, _h, d) => sent.push(d), intx() {} });
    dst.vmm.hw.configWrite(bdf, after.maskOff, 4, 0);
    expect(sent).toEqual([0x42]);
  });

  it('INTx held for the EOI on the source is held again on the destination', async () => {
    const src = await side([TWO[0]]);
    const dst = await side([TWO[0]]);
    const bdf = '0000:00:03.0';
    const levels: boolean[] = [];
    src.vmm.device(bdf)!.intx!.trigger!.signal();
    expect(src.vmm.device(bdf)!.intx!.asserted).toBe(true);
    dst.vmm.hw.setInterruptSink({ msi() {}, intx: (_f, l) => levels.push(l) });
    liveMigrate(src.vmm, dst.vmm, { maxPasses: 0 });
    expect(dst.vmm.device(bdf)!.intx!.asserted).toBe(true);
    expect(levels).toEqual([true]);
    expect(dst.vmm.eoi(bdf)).toBe(true);
    expect(levels).toEqual([true, false]);
  });
});

describe('the VMM migration stream: bad input is refused before anything is applied', () => {
  async function dest() {
    const d = await side(TWO);
    const m = new MigrationDestination(d.vmm);
    m.begin();
    return { d, m };
  }

  it('bad magic, bad version, unknown record type, reserved byte, oversize payload', async () => {
    const bad = [
      Uint8Array.from([...new TextEncoder().encode('NOTAVMM!'), 1, 0, 0, 0]),
      (() => {
        const h = encodeHeader();
        h[8] = 9;
        return h;
      })(),
    ];
    for (const b of bad) {
      const { m } = await dest();
      expect(() => m.receive(b)).toThrow(MigrationError);
    }
    const rec = encodeRecord(RecordType.RAM, '', ramPayload(0x1000, new Uint8Array(16)));
    for (const patch of [(r: Uint8Array) => (r[0] = 42), (r: Uint8Array) => (r[1] = 1), (r: Uint8Array) => new DataView(r.buffer).setUint32(4, 0x7fffffff, true)]) {
      const { m } = await dest();
      const r = rec.slice();
      patch(r);
      m.receive(encodeHeader());
      expect(() => m.receive(r)).toThrow(MigrationError);
    }
  });

  it('RAM outside guest RAM, data for a device that is not resuming, VMM state of the wrong shape; the destination devices are reset', async () => {
    const cases = [
      encodeRecord(RecordType.RAM, '', ramPayload(1 << 20, new Uint8Array(8))),
      encodeRecord(RecordType.RAM, '', new Uint8Array(4)),
      encodeRecord(RecordType.DEVICE, '0000:00:1f.0', new Uint8Array(8)),
      encodeRecord(RecordType.VMM_DEVICE, '0000:00:03.0', new Uint8Array(40)),
    ];
    for (const c of cases) {
      const { d, m } = await dest();
      const memBefore = d.vmm.memory.bytes.slice();
      m.receive(encodeHeader());
      expect(() => m.receive(c)).toThrow(MigrationError);
      expect(Buffer.compare(d.vmm.memory.bytes, memBefore)).toBe(0);
      for (const t of TWO) expect(d.ctl.resets.get(t.host)).toBeGreaterThan(0);
    }
  });

  it('a stream cut short (no END) is refused at finish; the reader takes records split anywhere', async () => {
    const src = await side(TWO);
    const chunks: Uint8Array[] = [];
    const s = new MigrationSource(src.vmm, (c) => chunks.push(c));
    s.start();
    s.iterate();
    s.complete();
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    // byte-by-byte split parses to the same records
    const r1 = new StreamReader();
    let n1 = 0;
    for (let i = 0; i < all.length; i += 7) n1 += r1.push(all.subarray(i, i + 7)).length;
    expect(r1.ended).toBe(true);
    expect(n1).toBe(new StreamReader().push(all).length);
    const { m } = await dest();
    m.receive(all.subarray(0, all.length - 8));
    expect(() => m.finish()).toThrow(/without its END/);
  });
});
