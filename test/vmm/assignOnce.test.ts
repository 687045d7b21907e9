// vmm.assign refuses a device file that is already attached (issue 11 §5), as QEMU refuses a second
// attach of a device: at a second slot of the same VMM, in another VMM, or another file of the same
// device in the same VMM. The refusal leaves the first assignment working; after the VMM that holds
// it closes, the device can be opened and assigned again. A file of another user is refused too.
import { describe, expect, it } from 'vitest';
import { IommufdCtx } from '../../src/index.js';
import { Vmm } from '../../src/vmm/vmm.js';
import { Guest } from '../../src/guest/guest.js';
import { machine } from './machine.js';

const EP = { kind: 'endpoint' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:02.0' };

describe('vmm.assign: one device file, one guest slot', () => {
  it('refuses the same file at a second slot and in a second VMM; the first assignment keeps working', async () => {
    const m = await machine([EP]);
    const dev = m.vmm.device(EP.guestBdf)!;
    expect(() => m.vmm.assign(dev.file, '0000:00:03.0')).toThrow(/already attached at guest slot 0000:00:02\.0/);
    const other = new Vmm(m.emu);
    expect(() => other.assign(dev.file, '0000:00:02.0')).toThrow(/already attached/);
    expect(other.devices()).toEqual([]);
    expect(m.vmm.hw.function('0000:00:03.0')).toBeUndefined();
    // still assigned and usable at its slot
    expect(new Guest(m.vmm).enumerate().functions.map((f) => f.bdf)).toEqual([EP.guestBdf]);
    expect(dev.isClosed).toBe(false);
  });

  it('refuses a second file of the same host device in one VMM ("device is already attached")', async () => {
    const m = await machine([EP]);
    const second = m.emu.host.openDevice(EP.hostBdf);
    expect(() => m.vmm.assign(second, '0000:00:03.0')).toThrow(/device is already attached/);
    second.close();
  });

  it('lets the device be assigned again once the VMM holding it closed', async () => {
    const m = await machine([EP]);
    m.vmm.close();
    const next = new Vmm(m.emu);
    const d = next.assign(m.emu.host.openDevice(EP.hostBdf), '0000:00:03.0');
    expect(d.isClosed).toBe(false);
    next.close();
  });

  it("refuses a file opened by another iommufd context than the VMM's", async () => {
    const m = await machine([]);
    m.emu.hw.addEndpoint(EP.hostBdf, {
      vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, interruptPin: 1, bars: [{ kind: 'mem32', size: 0x1000 }], capabilities: [{ id: 'pm' }],
    });
    m.emu.host.bind(EP.hostBdf);
    const tenant = new IommufdCtx('tenant');
    const file = m.emu.host.openDevice(EP.hostBdf, { iommufd: tenant });
    expect(() => m.vmm.assign(file, EP.guestBdf)).toThrow(/iommufd context "tenant"/);
    const theirs = new Vmm(m.emu, { iommufd: tenant });
    const d = theirs.assign(file, EP.guestBdf);
    // its eventfds live in the tenant's table, not the default user's
    const e = d.eventfd();
    expect(tenant.files.get(e.fd)).toBe(e);
    expect(m.emu.host.vfio.files.get(e.fd)).not.toBe(e);
    e.close();
    theirs.close();
    expect(tenant.files.size).toBe(0);
  });
});
