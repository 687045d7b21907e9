// The VCONFIG section: the user's view of config space, saved on the source and put back on the
// destination through vfio-pci-core's own config write path (the driver never writes vconfig or the
// perm bits directly).
//
// What is saved: every byte a read of the vfio config region returns (VfioConfig.rw, the exported
// read path): vconfig where vfio virtualizes a bit (BARs as the user programmed them, Command's
// MEM/IO, INTx Disable, MSI's queue size, Initiate FLR, ...) and hardware where it does not. The raw
// VCONFIG area alone would not do: bits vfio passes through (Bus Master, PCIe Device Control fields,
// AER masks) live only in hardware, and vconfig's copy of them is whatever it was at open.
//
// What the destination does with it (replayConfig): writes each byte whose value differs from the
// destination's current view, as a user write through VfioConfig.rw, so perm bits decide what lands
// in vconfig, what goes to hardware and what is dropped, and the side effects run as for any user
// write (BAR fixup, INTx masking, power state, Max_Read_Request). Skipped: Status (RW1C bits would
// clear destination bits), the MSI and MSI-X capabilities (their enables belong to SET_IRQS, see
// irqSetup.ts), and Command, which is written last so memory decode comes on with the BARs in
// place.

import type { VfioConfig } from '../../vfio/pciCore/config/vfioConfig.js';
import { hex } from './streamFormat.js';
import { PCI_CAPABILITY_LIST, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CFG_SPACE_SIZE, PCI_COMMAND, PCI_STATUS, PCI_STATUS_CAP_LIST } from '../../../hw/pciRegs.js';

/** Header bytes that identify the function: IDs, revision and class, header type, subsystem IDs. */
const IDENTITY_BYTES: [number, number, string][] = [
  [0x00, 4, 'vendor/device ID'],
  [0x08, 4, 'revision/class code'],
  [0x0e, 1, 'header type'],
  [0x2c, 4, 'subsystem IDs'],
];

/** The user's view of the whole config space (what a VMM reads through the config region). */
export function captureConfig(cfg: VfioConfig): Uint8Array {
  const out = new Uint8Array(cfg.size);
  cfg.rw(0, out, false);
  return out;
}

/** The capability chains of a config image, walked defensively: [id, offset] lists, or why not. */
function chains(img: Uint8Array): string | string[] {
  const out: string[] = [];
  if (img[PCI_STATUS] & PCI_STATUS_CAP_LIST) {
    let pos = img[PCI_CAPABILITY_LIST] & ~3;
    for (let n = 0; pos; n++) {
      if (n >= 48 || pos < 0x40 || pos > PCI_CFG_SPACE_SIZE - 2) return `capability pointer ${hex(pos, 2)} is not a valid capability offset`;
      out.push(`${hex(img[pos], 2)}@${hex(pos, 2)}`);
      pos = img[pos + 1] & ~3;
    }
  }
  if (img.length > PCI_CFG_SPACE_SIZE) {
    const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
    let pos = PCI_CFG_SPACE_SIZE;
    for (let n = 0; ; n++) {
      if (n >= (img.length - PCI_CFG_SPACE_SIZE) / 4 || pos < PCI_CFG_SPACE_SIZE || pos > img.length - 4) {
        return `extended capability pointer ${hex(pos, 3)} is not a valid offset`;
      }
      const hdr = v.getUint32(pos, true);
      if (hdr === 0 || hdr === 0xffffffff) break;
      out.push(`e${hex(hdr & 0xffff, 4)}v${(hdr >>> 16) & 0xf}@${hex(pos, 3)}`);
      const next = (hdr >>> 20) & ~3;
      if (next === 0) break;
      pos = next;
    }
  }
  return out;
}

/**
 * Null when `img` is the config image of a function like the destination's (same size, same
 * identifying header bytes, same capability layout), else why not. Reads only.
 */
export function checkConfigImage(img: Uint8Array, cfg: VfioConfig): string | null {
  if (img.length !== cfg.size) return `VCONFIG of ${img.length} bytes, this device's config space has ${cfg.size}`;
  const cur = captureConfig(cfg);
  for (const [off, len, what] of IDENTITY_BYTES) {
    for (let i = off; i < off + len; i++) {
      if (img[i] !== cur[i]) return `VCONFIG ${what} at ${hex(off, 2)} differs from this device's`;
    }
  }
  const a = chains(img);
  if (typeof a === 'string') return `VCONFIG: ${a}`;
  const b = chains(cur);
  if (typeof b === 'string') return `this device's config space: ${b}`;
  if (a.join() !== b.join()) return `VCONFIG capability layout [${a.join(' ')}] differs from this device's [${b.join(' ')}]`;
  return null;
}

/** Puts the user's view `img` (checked by checkConfigImage) back through the core's config writes. */
export function replayConfig(img: Uint8Array, cfg: VfioConfig): void {
  const cur = captureConfig(cfg);
  const skip = new Uint8Array(cfg.size);
  skip.fill(1, PCI_COMMAND, PCI_STATUS + 2);
  for (const [id, off, len] of cfg.caps) if (id === PCI_CAP_ID_MSI || id === PCI_CAP_ID_MSIX) skip.fill(1, off, off + len);
  const one = new Uint8Array(1);
  for (let pos = 0; pos < cfg.size; pos++) {
    if (skip[pos] || img[pos] === cur[pos]) continue;
    one[0] = img[pos];
    cfg.rw(pos, one, true);
  }
  const cmd = img.subarray(PCI_COMMAND, PCI_COMMAND + 2);
  if (cmd[0] !== cur[PCI_COMMAND] || cmd[1] !== cur[PCI_COMMAND + 1]) cfg.rw(PCI_COMMAND, cmd.slice(), true);
}
