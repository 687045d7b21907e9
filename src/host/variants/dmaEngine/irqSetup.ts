// The interrupt setup vfio-pci-core holds for the user, as the migration stream's IRQS section
// carries it, and how it is re-established on the destination.
//
// What is the user's and migrates: which interrupt type is on (INTx, MSI, MSI-X or none), which
// vectors of it have a trigger eventfd (the vectors a VFIO_DEVICE_SET_IRQS DATA_EVENTFD enabled),
// MSI's allocated vector count, INTx's mask state (automasked after it fired and not yet unmasked
// by the user), the user's INTx Disable, and whether ERR / REQ triggers and an INTx unmask eventfd
// are installed.
//
// What does not migrate: the eventfds themselves (file numbers of the source VMM), the host vectors
// behind them, and the hardware MSI-X table and MSI message registers, which hold the host's
// messages, not the user's (the user cannot even read the MSI-X table through vfio: the region
// access skips it and the VMM emulates the table). Nothing is pending in the hardware PBA for a
// vector the user wired: vfio-pci-core never masks a wired vector, and the messages the device held
// back while quiesced travel in the device state blob and go out on the destination.
//
// Division of work on the destination:
// - The VMM re-issues VFIO_DEVICE_SET_IRQS for the same index with its own eventfds on the same
//   vectors (QEMU does this while it loads its config section, during RESUMING), and its ERR/REQ
//   triggers as it likes. The driver checks the setup when the device leaves RUNNING_P2P for RUNNING
//   (the first time after a resume): while the type or the wired vectors differ from the source's,
//   that arc fails with EINVAL and the device stays in RUNNING_P2P, quiesced, so no interrupt the
//   source's guest expects goes nowhere.
// - The driver restores the rest itself: the user's INTx Disable comes back with the VCONFIG
//   section (configImage.ts replays the Command register through the core's config write), and an
//   INTx that was masked on the source is masked again once the VMM has enabled INTx.

import { VFIO } from '../../vfio/uapi/constants.js';
import type { VfioPciCoreDevice } from '../../vfio/pciCore/vfioPciCoreDevice.js';
import type { IrqType } from '../../vfio/pciCore/irqs.js';
import { IRQS_MAX_BYTES } from './streamFormat.js';

export const IRQ_TYPE_CODE: Record<IrqType, number> = { none: 0, intx: 1, msi: 2, msix: 3 };
const CODE_TYPE: IrqType[] = ['none', 'intx', 'msi', 'msix'];
const TYPE_INDEX: Record<IrqType, number> = {
  none: -1,
  intx: VFIO.PCI_INTX_IRQ_INDEX,
  msi: VFIO.PCI_MSI_IRQ_INDEX,
  msix: VFIO.PCI_MSIX_IRQ_INDEX,
};

/** IRQS flags */
export const IRQS_INTX_MASKED = 0x01;
export const IRQS_VIRQ_DISABLED = 0x02;
export const IRQS_ERR_TRIGGER = 0x04;
export const IRQS_REQ_TRIGGER = 0x08;
export const IRQS_INTX_UNMASK_FD = 0x10;
const IRQS_FLAGS_KNOWN = 0x1f;

/**
 * The IRQS payload:
 *   0x00 u8   type: 0 none, 1 INTx, 2 MSI, 3 MSI-X
 *   0x01 u8   flags (IRQS_*)
 *   0x02 u16  count: vectors the bitmap covers, the device's vector count for the type (0 for none,
 *             1 for INTx)
 *   0x04 u16  MSI: vectors allocated at enable; 0 otherwise
 *   0x06 u16  reserved, 0
 *   0x08      bitmap, ceil(count / 32) u32: bit v set = vector v has a trigger eventfd; bits at or
 *             past count are 0
 */
export interface IrqSetup {
  type: IrqType;
  flags: number;
  count: number;
  msiNvec: number;
  /** vectors with a trigger, ascending */
  vectors: number[];
}

/** What vfio-pci-core has set up for the user now. */
export function captureIrqSetup(vdev: VfioPciCoreDevice): IrqSetup {
  const irqs = vdev.irqs;
  const type = irqs.type;
  let flags = 0;
  if (irqs.virqDisabled) flags |= IRQS_VIRQ_DISABLED;
  if (irqs.errTrigger) flags |= IRQS_ERR_TRIGGER;
  if (irqs.reqTrigger) flags |= IRQS_REQ_TRIGGER;
  if (type === 'intx') {
    if (irqs.ctx.get(0)?.masked) flags |= IRQS_INTX_MASKED;
    if (irqs.intxUnmaskFd) flags |= IRQS_INTX_UNMASK_FD;
  }
  const vectors = [...irqs.ctx.entries()].filter(([, c]) => c.trigger !== null).map(([v]) => v).sort((a, b) => a - b);
  return {
    type,
    flags,
    count: type === 'none' ? 0 : irqs.count(TYPE_INDEX[type]),
    msiNvec: type === 'msi' ? irqs.msiNvec : 0,
    vectors,
  };
}

export function encodeIrqSetup(s: IrqSetup): Uint8Array {
  const words = Math.ceil(s.count / 32);
  const out = new Uint8Array(8 + 4 * words);
  const v = new DataView(out.buffer);
  v.setUint8(0, IRQ_TYPE_CODE[s.type]);
  v.setUint8(1, s.flags);
  v.setUint16(2, s.count, true);
  v.setUint16(4, s.msiNvec, true);
  for (const vec of s.vectors) {
    const at = 8 + 4 * (vec >>> 5);
    v.setUint32(at, (v.getUint32(at, true) | (1 << (vec & 31))) >>> 0, true);
  }
  return out;
}

/**
 * Parses and validates an IRQS payload for the destination `vdev`: known type and flags, the
 * vector count the destination has for that type, a bitmap of exactly that size with no bit past
 * it. Returns the setup or why it is not acceptable.
 */
export function decodeIrqSetup(bytes: Uint8Array, vdev: VfioPciCoreDevice): IrqSetup | string {
  if (bytes.length < 8 || bytes.length > IRQS_MAX_BYTES) return `IRQS section of ${bytes.length} bytes (8 to ${IRQS_MAX_BYTES})`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = v.getUint8(0);
  if (code >= CODE_TYPE.length) return `IRQS: unknown interrupt type ${code}`;
  const type = CODE_TYPE[code];
  const flags = v.getUint8(1);
  if (flags & ~IRQS_FLAGS_KNOWN) return `IRQS: unknown flags 0x${flags.toString(16)}`;
  if (type !== 'intx' && flags & (IRQS_INTX_MASKED | IRQS_INTX_UNMASK_FD)) return `IRQS: INTx mask flags with interrupt type ${type}`;
  const count = v.getUint16(2, true);
  const want = type === 'none' ? 0 : vdev.irqs.count(TYPE_INDEX[type]);
  if (type !== 'none' && want === 0) return `IRQS: the source used ${type}, which this device does not have`;
  if (count !== want) return `IRQS: ${count} ${type} vectors, this device has ${want}`;
  const msiNvec = v.getUint16(4, true);
  if (type === 'msi' ? msiNvec < 1 || msiNvec > count : msiNvec !== 0) return `IRQS: MSI vectors allocated ${msiNvec} with type ${type} and ${count} vectors`;
  if (v.getUint16(6, true) !== 0) return 'IRQS: reserved bytes are not zero';
  const words = Math.ceil(count / 32);
  if (bytes.length !== 8 + 4 * words) return `IRQS section of ${bytes.length} bytes, ${count} vectors need ${8 + 4 * words}`;
  const vectors: number[] = [];
  for (let w = 0; w < words; w++) {
    const bits = v.getUint32(8 + 4 * w, true);
    for (let b = 0; b < 32; b++) {
      if ((bits >>> b) & 1) {
        const vec = w * 32 + b;
        if (vec >= count) return `IRQS: vector ${vec} is set, the device has ${count}`;
        vectors.push(vec);
      }
    }
  }
  return { type, flags, count, msiNvec, vectors };
}

/**
 * Null when the destination's interrupt setup carries `expected` (same type, the same vectors wired
 * to eventfds), else what the VMM still has to do.
 */
export function irqSetupMismatch(expected: IrqSetup, vdev: VfioPciCoreDevice): string | null {
  const now = captureIrqSetup(vdev);
  const list = (v: number[]) => (v.length ? v.join(', ') : 'none');
  if (now.type !== expected.type || now.vectors.join() !== expected.vectors.join()) {
    return (
      `the source had ${expected.type} with trigger eventfds on vectors [${list(expected.vectors)}], ` +
      `this device has ${now.type} on [${list(now.vectors)}]: re-issue VFIO_DEVICE_SET_IRQS with this VMM's eventfds before RUNNING`
    );
  }
  return null;
}

/** What the driver restores itself: INTx masked again if it was masked on the source. */
export function restoreIntxMask(expected: IrqSetup, vdev: VfioPciCoreDevice): void {
  if (expected.type === 'intx' && expected.flags & IRQS_INTX_MASKED && vdev.irqs.type === 'intx') vdev.irqs.intxMask();
}
