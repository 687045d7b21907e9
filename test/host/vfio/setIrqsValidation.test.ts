// VFIO_DEVICE_SET_IRQS validation: vfio_set_irqs_validate_and_prepare (vfio_main.c), then the dispatch
// of vfio_pci_set_irqs_ioctl and the per-index handlers (vfio_pci_intrs.c). The expected results below
// are the kernel's, worked out from those functions for each state the device can be in.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Eventfd } from '../../../src/host/fileTable.js';
import {
  CONVENTIONAL_SPEC, PCIE_SPEC, ROOT_DEV, VFIO, createEmulator, errno, fds, irqSet, outcome,
} from './machine.js';
import type { Emulator, VfioDeviceFile } from './machine.js';

const NONE = VFIO.IRQ_SET_DATA_NONE;
const BOOL = VFIO.IRQ_SET_DATA_BOOL;
const EVENTFD = VFIO.IRQ_SET_DATA_EVENTFD;
const MASK = VFIO.IRQ_SET_ACTION_MASK;
const UNMASK = VFIO.IRQ_SET_ACTION_UNMASK;
const TRIGGER = VFIO.IRQ_SET_ACTION_TRIGGER;
const INTX = VFIO.PCI_INTX_IRQ_INDEX;
const MSI = VFIO.PCI_MSI_IRQ_INDEX;
const MSIX = VFIO.PCI_MSIX_IRQ_INDEX;
const ERR = VFIO.PCI_ERR_IRQ_INDEX;
const REQ = VFIO.PCI_REQ_IRQ_INDEX;

type State = 'none' | 'intx' | 'msi' | 'msix';

/** The enabling call of each state: TRIGGER with one eventfd on vector 0. */
const ENABLE: Record<Exclude<State, 'none'>, number> = { intx: INTX, msi: MSI, msix: MSIX };

let emu: Emulator;
let efd: Eventfd;

beforeAll(async () => {
  emu = await createEmulator();
  emu.hw.addEndpoint(ROOT_DEV, PCIE_SPEC); // INTA, MSI 4 vectors, MSI-X 8 vectors, PCIe
  emu.host.bind(ROOT_DEV);
  efd = emu.host.eventfd();
});

/** A freshly opened device file in `state` (the previous one closed: close_device tears everything down). */
let current: VfioDeviceFile | null = null;
function fresh(state: State): VfioDeviceFile {
  current?.close();
  current = emu.host.openDevice(ROOT_DEV);
  if (state !== 'none') current.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, ENABLE[state], 0, 1, fds(efd.fd)));
  return current;
}

/** SET_IRQS start 0 count 1 with a BOOL of 1 or the test eventfd, by data type. */
function call(file: VfioDeviceFile, index: number, data: number, action: number): string {
  const payload = data === BOOL ? Uint8Array.of(1) : data === EVENTFD ? fds(efd.fd) : new Uint8Array(0);
  return outcome(() => file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(data | action, index, 0, 1, payload)));
}

// Rows: index; columns: MASK(NONE, BOOL, EVENTFD) UNMASK(...) TRIGGER(...).
const E = 'EINVAL';
const T = 'ENOTTY';
const EXPECTED: Record<State, Record<number, string[]>> = {
  none: {
    // INTx: mask/unmask need INTx enabled; TRIGGER NONE/BOOL need it too; TRIGGER EVENTFD enables it
    [INTX]: [E, E, E, E, E, E, E, E, 'OK'],
    // MSI/MSI-X masking is not exported (ENOTTY); loopback needs the type enabled; EVENTFD enables it
    [MSI]: [T, T, T, T, T, T, E, E, 'OK'],
    [MSIX]: [T, T, T, T, T, T, E, E, 'OK'],
    // ERR/REQ: TRIGGER only; NONE with no trigger set is EINVAL, BOOL/EVENTFD with count 1 are fine
    [ERR]: [T, T, T, T, T, T, E, 'OK', 'OK'],
    [REQ]: [T, T, T, T, T, T, E, 'OK', 'OK'],
  },
  intx: {
    // mask by eventfd is not implemented; unmask by eventfd installs an irqfd; all loopbacks work
    [INTX]: ['OK', 'OK', T, 'OK', 'OK', 'OK', 'OK', 'OK', 'OK'],
    [MSI]: [T, T, T, T, T, T, E, E, E],
    [MSIX]: [T, T, T, T, T, T, E, E, E],
    [ERR]: [T, T, T, T, T, T, E, 'OK', 'OK'],
    [REQ]: [T, T, T, T, T, T, E, 'OK', 'OK'],
  },
  msi: {
    [INTX]: [E, E, E, E, E, E, E, E, E],
    [MSI]: [T, T, T, T, T, T, 'OK', 'OK', 'OK'],
    [MSIX]: [T, T, T, T, T, T, E, E, E],
    [ERR]: [T, T, T, T, T, T, E, 'OK', 'OK'],
    [REQ]: [T, T, T, T, T, T, E, 'OK', 'OK'],
  },
  msix: {
    [INTX]: [E, E, E, E, E, E, E, E, E],
    [MSI]: [T, T, T, T, T, T, E, E, E],
    [MSIX]: [T, T, T, T, T, T, 'OK', 'OK', 'OK'],
    [ERR]: [T, T, T, T, T, T, E, 'OK', 'OK'],
    [REQ]: [T, T, T, T, T, T, E, 'OK', 'OK'],
  },
};

describe('SET_IRQS: DATA_{NONE,BOOL,EVENTFD} x ACTION_{MASK,UNMASK,TRIGGER} on every index', () => {
  for (const state of ['none', 'intx', 'msi', 'msix'] as State[]) {
    it(`gives the kernel's answers with ${state === 'none' ? 'no interrupts' : state} enabled`, () => {
      const got: Record<number, string[]> = {};
      for (const index of [INTX, MSI, MSIX, ERR, REQ]) {
        got[index] = [];
        for (const action of [MASK, UNMASK, TRIGGER]) {
          for (const data of [NONE, BOOL, EVENTFD]) got[index].push(call(fresh(state), index, data, action));
        }
      }
      expect(got).toEqual(EXPECTED[state]);
    });
  }
});

describe('SET_IRQS: start and count', () => {
  it('checks start and start + count against the index count before anything else', () => {
    const f = fresh('none');
    const set = (flags: number, index: number, start: number, count: number, data?: Uint8Array) =>
      outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(flags, index, start, count, data)));
    // INTx has 1 vector, MSI 4, MSI-X 8, ERR and REQ 1: start must be below it, start + count not above
    expect(set(NONE | MASK, INTX, 1, 0)).toBe(E);
    expect(set(NONE | TRIGGER, INTX, 0, 2)).toBe(E);
    expect(set(NONE | MASK, MSI, 4, 0)).toBe(E); // EINVAL, not the ENOTTY of MSI masking
    expect(set(NONE | MASK, MSI, 3, 2)).toBe(E);
    expect(set(NONE | MASK, MSI, 3, 1)).toBe(T);
    expect(set(NONE | TRIGGER, MSIX, 8, 0)).toBe(E);
    expect(set(NONE | TRIGGER, ERR, 1, 0)).toBe(E);
    expect(set(NONE | TRIGGER, REQ, 0, 2)).toBe(E);
    // count >= U32_MAX - start wraps: EINVAL
    expect(set(NONE | TRIGGER, MSIX, 1, 0xfffffffe)).toBe(E);
    expect(set(NONE | TRIGGER, MSIX, 0, 0xffffffff)).toBe(E);
    // a valid block in range enables MSI
    expect(set(EVENTFD | TRIGGER, MSI, 2, 2, fds(efd.fd, efd.fd))).toBe('OK');
  });

  it('answers EINVAL on an index the device lacks (count 0: even start 0 is out of range)', async () => {
    const e2 = await createEmulator();
    e2.hw.addEndpoint(ROOT_DEV, CONVENTIONAL_SPEC); // no pin, MSI 1, no MSI-X, not PCIe
    e2.host.bind(ROOT_DEV);
    const f = e2.host.openDevice(ROOT_DEV);
    for (const index of [INTX, MSIX, ERR]) {
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 0)))).toBe(E);
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 0, 1, fds(-1))))).toBe(E);
    }
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, MSI, 0, 2)))).toBe(E);
  });

  it('disables the enabled type with DATA_NONE|TRIGGER and count 0, and only that type', () => {
    for (const state of ['intx', 'msi', 'msix'] as const) {
      const f = fresh(state);
      for (const other of [INTX, MSI, MSIX].filter((i) => i !== ENABLE[state])) {
        expect(outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, other, 0, 0)))).toBe(E);
      }
      expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, ENABLE[state], 0, 0))).toBe(0);
      // now nothing is enabled: loopback fails, and any type can be enabled
      expect(outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, ENABLE[state], 0, 1)))).toBe(E);
      for (const index of [INTX, MSI, MSIX]) {
        expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 0, 1, fds(efd.fd)))).toBe(0);
        f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 0));
      }
    }
  });

  it('treats count 0 with BOOL or EVENTFD as an empty block where the handler allows it', () => {
    const f = fresh('msi');
    expect(outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(BOOL | TRIGGER, MSI, 0, 0)))).toBe('OK');
    expect(outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSI, 0, 0)))).toBe('OK');
    // INTx and ERR/REQ need exactly one element for BOOL/EVENTFD
    const g = fresh('intx');
    expect(outcome(() => g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, INTX, 0, 0)))).toBe(E);
    expect(outcome(() => g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(BOOL | UNMASK, INTX, 0, 0)))).toBe(E);
    for (const index of [ERR, REQ]) {
      expect(outcome(() => g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(BOOL | TRIGGER, index, 0, 0)))).toBe(E);
      expect(outcome(() => g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 0, 0)))).toBe(E);
    }
  });

  it('cannot enable MSI or MSI-X with zero vectors: pci_alloc_irq_vectors(1, 0) is ERANGE', () => {
    for (const index of [MSI, MSIX]) {
      const f = fresh('none');
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 0, 0)))).toBe('ERANGE');
      // nothing got enabled
      expect(outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, INTX, 0, 1, fds(efd.fd))))).toBe('OK');
    }
  });

  it('grows neither an enabled MSI block nor an enabled MSI-X (both NORESIZE: Linux 6.1 has no dynamic MSI-X)', () => {
    const f = fresh('msi'); // enabled with one vector
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSI, 1, 1, fds(efd.fd))))).toBe(E);
    // so is detaching one (Linux 6.1 checks the block against num_ctx before anything)
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSI, 1, 1, fds(-1))))).toBe(E);
    const g = fresh('msix'); // enabled with one vector
    expect(errno(() => g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSIX, 5, 3, fds(efd.fd, efd.fd, efd.fd))))).toBe(E);
    expect(errno(() => g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSIX, 5, 1, fds(-1))))).toBe(E);
    // disabling and enabling with more vectors is the way (what QEMU does on a NORESIZE host)
    expect(g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, MSIX, 0, 0))).toBe(0);
    expect(g.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSIX, 5, 3, fds(efd.fd, efd.fd, efd.fd)))).toBe(0);
  });
});

describe('SET_IRQS: flags, argsz and data', () => {
  it('needs exactly one data type bit', () => {
    const f = fresh('intx');
    for (const data of [0, NONE | BOOL, BOOL | EVENTFD, NONE | EVENTFD, NONE | BOOL | EVENTFD]) {
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(data | TRIGGER, INTX, 0, 1, new Uint8Array(4))))).toBe(E);
    }
  });

  it('answers ENOTTY for no action bit or several (no handler matches)', () => {
    const f = fresh('intx');
    for (const index of [INTX, MSI, ERR, REQ]) {
      for (const action of [0, MASK | UNMASK, MASK | TRIGGER, UNMASK | TRIGGER, MASK | UNMASK | TRIGGER]) {
        expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | action, index, 0, 1)))).toBe(T);
      }
    }
  });

  it('rejects unknown flag bits, an index past REQ and argsz below the header with EINVAL', () => {
    const f = fresh('intx');
    for (const bit of [0x40, 0x80, 0x100, 0x80000000]) {
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER | bit, INTX, 0, 1)))).toBe(E);
    }
    for (const index of [5, 6, 0xffffffff]) expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 1)))).toBe(E);
    for (const argsz of [0, 12, 19]) expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, INTX, 0, 1, undefined, argsz)))).toBe(E);
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, new Uint8Array(16)))).toBe('EFAULT');
  });

  it('needs argsz to cover count data elements (EINVAL), and the buffer to hold them (EFAULT)', () => {
    const f = fresh('msix');
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSIX, 0, 2, fds(efd.fd, efd.fd), 27)))).toBe(E);
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(BOOL | TRIGGER, MSIX, 0, 3, Uint8Array.of(1, 1, 1), 22)))).toBe(E);
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSIX, 0, 2, fds(efd.fd), 28)))).toBe('EFAULT');
    // DATA_NONE needs no data whatever the count
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, MSIX, 0, 8))).toBe(0);
  });

  it('answers EBADF for an fd that is not open and EINVAL for an open file that is no eventfd', () => {
    const notOpen = 999;
    const other = fresh('none') as unknown as { fd: number };
    expect(typeof other.fd).toBe('number');
    const cases: [number, number, number][] = [
      [EVENTFD | TRIGGER, INTX, -1],
      [EVENTFD | TRIGGER, MSI, -1],
      [EVENTFD | TRIGGER, MSIX, -1],
      [EVENTFD | TRIGGER, ERR, -1],
      [EVENTFD | TRIGGER, REQ, -1],
    ];
    for (const [flags, index] of cases) {
      const f = fresh('none');
      const self = (f as unknown as { fd: number }).fd;
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(flags, index, 0, 1, fds(notOpen))))).toBe('EBADF');
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(flags, index, 0, 1, fds(self))))).toBe(E);
    }
    // the INTx unmask irqfd too
    const f = fresh('intx');
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds(notOpen))))).toBe('EBADF');
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds((f as unknown as { fd: number }).fd))))).toBe(E);
  });

  it('leaves a failed MSI enable with nothing enabled', () => {
    const f = fresh('none');
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSI, 0, 2, fds(efd.fd, 999))))).toBe('EBADF');
    expect(outcome(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, MSI, 0, 1)))).toBe(E);
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSIX, 0, 1, fds(efd.fd)))).toBe(0);
  });

  it('unwinds a failed block on an enabled MSI-X/MSI: start through the failing vector lose their triggers', () => {
    // vfio_msi_set_block: vectors are set one by one; at the first failure every vector from start
    // through the failing one is set to -1, vectors after it are not touched
    for (const index of [MSIX, MSI]) {
      const f = fresh('none');
      const e = [0, 1, 2, 3].map(() => emu.host.eventfd());
      const counts = [0, 0, 0, 0];
      e.forEach((x, i) => x.onSignal(() => counts[i]++));
      f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 0, 4, fds(...e.map((x) => x.fd))));
      const fresh2 = emu.host.eventfd();
      if (index === MSIX) {
        // vector 1 gets a new eventfd, vector 2's fd is not open: EBADF, vector 3 untouched
        expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 1, 3, fds(fresh2.fd, 999, e[3].fd))))).toBe('EBADF');
      } else {
        // vector 2's fd is an open file that is no eventfd (eventfd_ctx_fdget: EINVAL)
        const notEventfd = (f as unknown as { fd: number }).fd;
        expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 1, 2, fds(fresh2.fd, notEventfd))))).toBe(E);
      }
      let freshCount = 0;
      fresh2.onSignal(() => freshCount++);
      expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 4))).toBe(0);
      expect(counts).toEqual([1, 0, 0, 1]);
      expect(freshCount).toBe(0);
      // the type stays enabled: the vectors can be set again
      expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 1, 1, fds(e[1].fd)))).toBe(0);
      expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 1, 1))).toBe(0);
      expect(counts).toEqual([1, 1, 0, 1]);
    }
  });

  it('takes fds below -1 as "no eventfd" for TRIGGER (INTx, MSI) and as "leave it" for ERR/REQ', () => {
    const f = fresh('none');
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, INTX, 0, 1, fds(-7)))).toBe(0);
    // INTx is now enabled (with no eventfd): loopback works, MSI cannot be enabled
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, INTX, 0, 1))).toBe(0);
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, MSI, 0, 1, fds(efd.fd))))).toBe(E);
    // ERR: set a trigger, then -2 keeps it (NONE loopback still works), -1 clears it (loopback EINVAL)
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, ERR, 0, 1, fds(efd.fd)))).toBe(0);
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, ERR, 0, 1, fds(-2)))).toBe(0);
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, ERR, 0, 1))).toBe(0);
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, ERR, 0, 1, fds(-1)))).toBe(0);
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, ERR, 0, 1)))).toBe(E);
  });

  it('clears ERR/REQ with DATA_NONE and count 0 when a trigger is set', () => {
    for (const index of [ERR, REQ]) {
      const f = fresh('none');
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 0)))).toBe(E);
      f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, index, 0, 1, fds(efd.fd)));
      expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 0))).toBe(0);
      expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(NONE | TRIGGER, index, 0, 1)))).toBe(E);
    }
  });

  it('refuses to switch between INTx, MSI and MSI-X without disabling first', () => {
    for (const from of ['intx', 'msi', 'msix'] as const) {
      for (const to of [INTX, MSI, MSIX].filter((i) => i !== ENABLE[from])) {
        const f = fresh(from);
        expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | TRIGGER, to, 0, 1, fds(efd.fd))))).toBe(E);
      }
    }
  });

  it('installs one INTx unmask irqfd at a time (EBUSY), until it is removed with fd -1 or its eventfd closes', () => {
    const f = fresh('intx');
    const u1 = emu.host.eventfd();
    const u2 = emu.host.eventfd();
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds(u1.fd)))).toBe(0);
    expect(errno(() => f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds(u2.fd))))).toBe('EBUSY');
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds(-1)))).toBe(0);
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds(u2.fd)))).toBe(0);
    u2.close();
    expect(f.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD | UNMASK, INTX, 0, 1, fds(u1.fd)))).toBe(0);
  });
});
