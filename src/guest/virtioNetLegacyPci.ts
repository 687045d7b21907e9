import { VIRTIO_ID_NET, VIRTIO_PCI_VENDOR_ID } from '../hw/devices/virtio/virtioSpec.js';
import { PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../hw/pciRegs.js';
import { DriverError } from './driverError.js';
import type { EnumeratedFunction } from './enumerator.js';
import type { Guest } from './guest.js';
import type { IrqMode } from './interruptSetup.js';
import type { LegacyIo } from './legacyIo.js';
import { portLegacyIo } from './legacyIo.js';
import { guestIrqProvider } from './virtioIrqProvider.js';
import type { VirtioNetLegacyOptions } from './virtioNetLegacyDriver.js';
import { VirtioNetLegacyDriver } from './virtioNetLegacyDriver.js';

/** VIRTIO_PCI_ABI_VERSION: the Revision ID of a device with the legacy interface. */
export const VIRTIO_PCI_ABI_VERSION = 0;
/** the device IDs the legacy transport owns (virtio_pci_legacy_dev.c): 0x1000-0x103f */
export const VIRTIO_LEGACY_DEVICE_FIRST = 0x1000;
export const VIRTIO_LEGACY_DEVICE_LAST = 0x103f;

/** Options of {@link probeVirtioNetLegacy}. */
export interface VirtioNetLegacyPciOptions extends Omit<VirtioNetLegacyOptions, 'io' | 'memory' | 'dma' | 'irq'> {
  /** interrupt modes the driver may use (default MSI-X, then INTx; ['intx'] = pci=nomsi) */
  irq?: IrqMode[];
  /** wraps the I/O BAR accessor (a recorder, for tests) */
  wrapIo?: (io: LegacyIo) => LegacyIo;
}

/** Whether virtio_pci's legacy probe and virtio_net would take this function. */
export function isLegacyVirtioNet(f: EnumeratedFunction): boolean {
  return (
    f.vendorId === VIRTIO_PCI_VENDOR_ID &&
    f.deviceId >= VIRTIO_LEGACY_DEVICE_FIRST &&
    f.deviceId <= VIRTIO_LEGACY_DEVICE_LAST &&
    f.revision === VIRTIO_PCI_ABI_VERSION &&
    f.subsystemId === VIRTIO_ID_NET
  );
}

/** A legacy virtio-net function bound to the driver: the driver and how to unbind it. */
export interface VirtioNetLegacyPci {
  /** The function as the guest's enumeration found it. */
  readonly fn: EnumeratedFunction;
  /** The bound virtio-net legacy driver. */
  readonly driver: VirtioNetLegacyDriver;
  /** the port BAR0 decodes at */
  readonly ioBase: number;
  /** virtio_pci_remove: the driver's remove, then pci_disable_device (bus mastering off) */
  remove(): void;
}

/**
 * virtio_pci_probe for a legacy virtio-net function (virtio_pci with force_legacy, so the modern
 * capabilities a transitional device may also carry are not used): the identity checks of
 * vp_legacy_probe (device ID 0x1000-0x103f, revision 0, virtio device ID from the subsystem ID),
 * pci_enable_device, BAR0 mapped as the legacy I/O window, pci_set_master, then virtio_net's probe
 * over port I/O, guest memory and the guest's interrupt setup. Throws DriverError (ENODEV) for a
 * function that is not one.
 */
export function probeVirtioNetLegacy(guest: Guest, f: EnumeratedFunction, options: VirtioNetLegacyPciOptions = {}): VirtioNetLegacyPci {
  if (f.vendorId !== VIRTIO_PCI_VENDOR_ID || f.deviceId < VIRTIO_LEGACY_DEVICE_FIRST || f.deviceId > VIRTIO_LEGACY_DEVICE_LAST) {
    throw new DriverError('ENODEV', `${f.bdf} (${hex4(f.vendorId)}:${hex4(f.deviceId)}) is not a legacy virtio device`);
  }
  if (f.revision !== VIRTIO_PCI_ABI_VERSION) throw new DriverError('ENODEV', `${f.bdf}: expected ABI version ${VIRTIO_PCI_ABI_VERSION}, got ${f.revision}`);
  if (f.subsystemId !== VIRTIO_ID_NET) throw new DriverError('ENODEV', `${f.bdf}: virtio device ID ${f.subsystemId} is not a network device`);
  const bar0 = f.bars.find((b) => b.index === 0);
  if (!bar0 || bar0.kind !== 'io') throw new DriverError('ENODEV', `${f.bdf}: BAR0 is not an I/O BAR`);
  if (bar0.address === null) throw new DriverError('ENOMEM', `${f.bdf}: BAR0 has no address`);
  const rd = () => guest.config.read(f.bus, f.device, f.function, PCI_COMMAND, 2);
  const wr = (v: number) => guest.config.write(f.bus, f.device, f.function, PCI_COMMAND, 2, v);
  // pci_enable_device: decode for the kinds of BARs the function has
  const want = PCI_COMMAND_IO | (f.bars.some((b) => b.kind !== 'io') ? PCI_COMMAND_MEMORY : 0);
  let cmd = rd();
  if ((cmd & want) !== want) wr((cmd |= want));
  // pci_set_master
  if ((cmd & PCI_COMMAND_MASTER) === 0) wr(cmd | PCI_COMMAND_MASTER);
  const raw = portLegacyIo(guest.io, bar0.address, bar0.size);
  const io = options.wrapIo ? options.wrapIo(raw) : raw;
  const driver = new VirtioNetLegacyDriver({
    ...options,
    io,
    memory: guest.memory,
    dma: guest.dma,
    irq: guestIrqProvider(guest, f, options.irq),
  });
  const disable = () => {
    const c = rd();
    if (c & PCI_COMMAND_MASTER) wr(c & ~PCI_COMMAND_MASTER);
  };
  try {
    driver.probe();
  } catch (e) {
    disable();
    throw e;
  }
  return {
    fn: f,
    driver,
    ioBase: bar0.address,
    remove() {
      driver.remove();
      disable();
    },
  };
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
