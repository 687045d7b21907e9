// VFIO_DEVICE_IOEVENTFD (vfio_pci_ioctl_ioeventfd, vfio_pci_ioeventfd): an eventfd that, when
// signalled, makes the host write `data` of 1/2/4/8 bytes at a BAR offset - never into the MSI-X table.
import { describe, expect, it } from 'vitest';
import { PCIE_SPEC, VFIO, errno, openOne, readLe, regionOffset } from './machine.js';

const IOEVENTFD_MINSZ = 28;

function ioeventfdArg(flags: number, offset: bigint, data: bigint, fd: number, argsz = 32, bufSize = 32): Uint8Array {
  const b = new Uint8Array(bufSize);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, argsz, true);
  dv.setUint32(4, flags >>> 0, true);
  if (bufSize >= 16) dv.setBigUint64(8, offset, true);
  if (bufSize >= 24) dv.setBigUint64(16, data, true);
  if (bufSize >= 28) dv.setInt32(24, fd, true);
  return b;
}

async function setup() {
  const o = await openOne(PCIE_SPEC);
  const efd = o.emu.host.eventfd();
  const add = (size: number, index: number, pos: number, data: bigint, fd = efd.fd) =>
    o.file.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(size, regionOffset(index, pos), data, fd));
  return { ...o, efd, add };
}

describe('DEVICE_IOEVENTFD', () => {
  it('writes the data into the BAR when the eventfd is signalled, consuming its count', async () => {
    const { file, efd, add } = await setup();
    expect(add(4, 0, 0x100, 0xdeadbeefn)).toBe(0);
    expect(readLe(file, 0, 0x100, 4)).toBe(0);
    efd.signal();
    expect(readLe(file, 0, 0x100, 4)).toBe(0xdeadbeef);
    expect(efd.count).toBe(0);
  });

  it('supports 1, 2, 4 and 8 byte writes on memory and I/O BARs', async () => {
    const { emu, file, add } = await setup();
    const fds = [1, 2, 3, 4, 5].map(() => emu.host.eventfd());
    add(1, 0, 0x200, 0x1122334455667788n, fds[0].fd);
    add(2, 0, 0x210, 0x1122334455667788n, fds[1].fd);
    add(4, 0, 0x220, 0x1122334455667788n, fds[2].fd);
    add(8, 2, 0x230, 0x1122334455667788n, fds[3].fd);
    add(2, 1, 0x6, 0xabcdn, fds[4].fd);
    for (const f of fds) f.signal();
    expect(readLe(file, 0, 0x200, 4)).toBe(0x88);
    expect(readLe(file, 0, 0x210, 4)).toBe(0x7788);
    expect(readLe(file, 0, 0x220, 4)).toBe(0x55667788);
    expect([readLe(file, 2, 0x230, 4), readLe(file, 2, 0x234, 4)]).toEqual([0x55667788, 0x11223344]);
    expect(readLe(file, 1, 0x6, 2)).toBe(0xabcd);
  });

  it('refuses a duplicate (same BAR, offset, data, size) with EEXIST and removes it with fd -1', async () => {
    const { emu, file, efd, add } = await setup();
    add(4, 0, 0x100, 1n);
    const other = emu.host.eventfd();
    expect(errno(() => add(4, 0, 0x100, 1n, other.fd))).toBe('EEXIST');
    expect(add(4, 0, 0x100, 2n, other.fd)).toBe(0); // other data: another ioeventfd
    expect(add(2, 0, 0x100, 1n, other.fd)).toBe(0); // other size: another one too
    expect(add(4, 0, 0x100, 1n, -1)).toBe(0);
    file.write(regionOffset(0, 0x100), new Uint8Array(4));
    efd.signal();
    expect(readLe(file, 0, 0x100, 4)).toBe(0);
    expect(errno(() => add(4, 0, 0x100, 1n, -1))).toBe('ENODEV');
    expect(add(4, 0, 0x100, 1n)).toBe(0);
  });

  it('answers ENODEV for removing what was never added', async () => {
    const { add } = await setup();
    expect(errno(() => add(4, 0, 0x100, 5n, -1))).toBe('ENODEV');
  });

  it('validates flags, size bits and fd', async () => {
    const { file, efd } = await setup();
    for (const flags of [0, 3, 5, 0xf, 0x10, 0x14, 0x80000004]) {
      expect(errno(() => file.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(flags, 0x100n, 0n, efd.fd)))).toBe('EINVAL');
    }
    expect(errno(() => file.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(4, 0x100n, 0n, -2)))).toBe('EINVAL');
  });

  it('validates argsz (28 is enough: reserved is not copied) and the buffer', async () => {
    const { file, efd } = await setup();
    expect(errno(() => file.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(4, 0x100n, 0n, efd.fd, IOEVENTFD_MINSZ - 1)))).toBe('EINVAL');
    expect(file.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(4, 0x100n, 0n, efd.fd, IOEVENTFD_MINSZ, IOEVENTFD_MINSZ))).toBe(0);
    expect(errno(() => file.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(4, 0x104n, 0n, efd.fd, 32, 24)))).toBe('EFAULT');
  });

  it('only targets BARs, inside their bounds', async () => {
    const { add } = await setup();
    for (const index of [VFIO.PCI_ROM_REGION_INDEX, VFIO.PCI_CONFIG_REGION_INDEX, VFIO.PCI_VGA_REGION_INDEX, 9, 0xffffff]) {
      expect(errno(() => add(4, index, 0, 0n))).toBe('EINVAL');
    }
    expect(errno(() => add(4, 0, 0x3ffd, 0n))).toBe('EINVAL'); // 16K BAR
    expect(add(4, 0, 0x3ffc, 0n)).toBe(0);
    expect(errno(() => add(1, 1, 0x20, 0n))).toBe('EINVAL'); // 32-byte I/O BAR
    expect(errno(() => add(4, 3, 0, 0n))).toBe('EINVAL'); // upper half of the 64-bit BAR
    expect(errno(() => add(4, 4, 0, 0n))).toBe('EINVAL'); // unimplemented
  });

  it('never writes into the MSI-X table, not even partly', async () => {
    const { add } = await setup();
    // the table is BAR0 0x2000..0x207f (8 vectors)
    for (const [size, pos] of [[4, 0x2000], [1, 0x207f], [4, 0x1ffe], [8, 0x1ff8 + 4], [2, 0x2040]]) {
      expect(errno(() => add(size, 0, pos, 0n))).toBe('EINVAL');
    }
    expect(add(4, 0, 0x1ffc, 0n)).toBe(0);
    expect(add(8, 0, 0x1ff8, 0n)).toBe(0);
    expect(add(4, 0, 0x2080, 0n)).toBe(0);
  });

  it('answers EBADF for an fd that is not open and EINVAL for a file that is no eventfd', async () => {
    const { file, add } = await setup();
    expect(errno(() => add(4, 0, 0x100, 0n, 999))).toBe('EBADF');
    expect(errno(() => add(4, 0, 0x100, 0n, (file as unknown as { fd: number }).fd))).toBe('EINVAL');
  });

  it('skips the write while Memory Space is off, and drops every ioeventfd on close', async () => {
    const { emu, bdf, c, file, efd, add } = await setup();
    add(4, 0, 0x100, 0x1234n);
    const cmd = c.configRead(4, 2);
    c.configWrite(4, 2, cmd & ~2);
    efd.signal();
    c.configWrite(4, 2, cmd);
    expect(readLe(file, 0, 0x100, 4)).toBe(0);
    file.close();
    const again = emu.host.openDevice(bdf);
    efd.signal();
    expect(readLe(again, 0, 0x100, 4)).toBe(0);
    expect(errno(() => again.ioctl(VFIO.DEVICE_IOEVENTFD, ioeventfdArg(4, 0x100n, 0x1234n, -1)))).toBe('ENODEV');
  });

  it('holds at most 1000 (ENOSPC)', async () => {
    const { add } = await setup();
    for (let i = 0; i < 1000; i++) add(4, 2, 4 * i, 0n);
    expect(errno(() => add(4, 2, 4000, 0n))).toBe('ENOSPC');
    expect(add(4, 2, 0, 0n, -1)).toBe(0);
    expect(add(4, 2, 4000, 0n)).toBe(0);
  });
});
