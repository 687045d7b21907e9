// Live migration through VMMs whose user is not the default iommufd context: the data fds a
// MIG_DEVICE_STATE SET returns are numbers in the device owner's file table (the kernel puts data_fd
// in the caller's table), so the VMM must look them up there, not in the default user's.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import { IommufdCtx } from '../../src/host/vfio/iommufd.js';
import { MigState } from '../../src/index.js';
import { liveMigrate } from '../../src/vmm/liveMigration.js';
import { VfioMigration } from '../../src/vmm/vfioMigration.js';
import { Vmm } from '../../src/vmm/vmm.js';
import type { FakeControl } from './fakeMigrationDriver.js';
import { ALL_FLAGS, FAKE_SPEC, registerFakeMigration } from './fakeMigrationDriver.js';

const HOST = '0000:00:05.0';
const GUEST = '0000:00:03.0';

async function side(user: string): Promise<{ vmm: Vmm; ctl: FakeControl; ctx: IommufdCtx; emu: Awaited<ReturnType<typeof createEmulator>> }> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  const ctl = registerFakeMigration(emu, ALL_FLAGS);
  emu.hw.addEndpoint(HOST, FAKE_SPEC);
  expect(emu.host.bind(HOST)).toBe('fake-mig');
  const ctx = new IommufdCtx(user);
  const vmm = new Vmm(emu, { iommufd: ctx });
  vmm.assign(emu.host.openDevice(HOST, { iommufd: ctx }), GUEST);
  return { vmm, ctl, ctx, emu };
}

describe('migration with the VMMs on their own iommufd contexts', () => {
  it('migrates every byte; the data fds are found in the owner context, not the default one', async () => {
    const src = await side('tenant-src');
    const dst = await side('tenant-dst');
    const r = liveMigrate(src.vmm, dst.vmm, { maxPasses: 2, chunkBytes: 1000 });
    expect(r.sourceStates[GUEST]).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
    expect(r.destinationStates[GUEST]).toEqual(['RESUMING', 'STOP', 'RUNNING']);
    expect(dst.ctl.received.get(HOST)!.length).toBe(src.ctl.total);
  });

  it('a stream opened by SET lives in the owner table; the default table has no such number', async () => {
    const s = await side('tenant');
    const m = new VfioMigration(s.vmm.devices()[0], s.emu.host);
    const stream = m.setState(MigState.STOP_COPY)!;
    const fd = stream.fd as number;
    expect(fd).toBeGreaterThanOrEqual(3);
    expect(s.ctx.files.get(fd)).toBe(stream);
    expect(s.emu.host.fd(fd, s.ctx)).toBe(stream);
    expect(() => s.emu.host.fd(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    m.setState(MigState.STOP);
    m.setState(MigState.RUNNING);
  });
});
