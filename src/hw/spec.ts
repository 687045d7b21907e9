// The shapes a caller uses to describe hardware (API.md). Validation lives with each builder.
import { PciError, describeValue, hexValue } from './pciError.js';

/** One Base Address Register of an {@link EndpointSpec}: its kind, size (a power of two) and prefetchability. */
export interface BarSpec {
  kind: 'mem32' | 'mem64' | 'io';
  size: number;
  prefetchable?: boolean;
}

/** One capability of an {@link EndpointSpec}'s chain in the 256-byte header space (`id` selects the kind). */
export type CapabilitySpec =
  /** pme: PME_Support from D0 and D3hot, PME_En writable (PciFunction.raisePme); default: no PME */
  | { id: 'pm'; noSoftReset?: boolean; pme?: boolean }
  | { id: 'msi'; vectors: 1 | 2 | 4 | 8 | 16 | 32; is64?: boolean; perVectorMask?: boolean }
  | { id: 'msix'; vectors: number; tableBar: number; tableOffset: number; pbaBar: number; pbaOffset: number }
  | { id: 'pcie'; flr?: boolean }
  | { id: 'vendor'; length: number; data?: Uint8Array };

/** One PCI Express extended capability (chain at 0x100): Advanced Error Reporting or a Device Serial Number. */
export type ExtCapabilitySpec = { id: 'aer' } | { id: 'dsn'; serial: bigint };

/** What {@link Hardware.addEndpoint} builds: IDs, class, BARs, ROM and capabilities of a type 0 function. */
export interface EndpointSpec {
  vendorId: number;
  deviceId: number;
  /** 24-bit: base class, subclass, programming interface */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  interruptPin?: 0 | 1 | 2 | 3 | 4;
  /** index 0..5; a mem64 BAR also uses the next index (leave it null) */
  bars?: (BarSpec | null)[];
  /** bytes, a power of two of at least 2 KiB */
  romSize?: number;
  /** chain order = array order, starting at 0x40 */
  capabilities?: CapabilitySpec[];
  /** chain starts at 0x100; needs a 'pcie' capability (extended config space) */
  extendedCapabilities?: ExtCapabilitySpec[];
}

/**
 * A clone of a real function from its config image: the config space equals the image (capabilities
 * at their offsets, their versions, vendor bytes, the registers between capabilities); what a dump
 * cannot say comes beside it. The image is also the power-on state a reset returns to (BAR addresses
 * and Command included, as the dump had them); Header Type's multi-function bit follows the clone's
 * own topology, as for every function.
 */
export interface ConfigImageSpec {
  /** 256 or 4096 bytes (/sys/bus/pci/devices/<bdf>/config read as root), or `lspci -xxx` / `-xxxx` text */
  configImage: Uint8Array | string;
  /** index 0..5, null for an unimplemented BAR or a 64-bit BAR's upper half; kinds come from the image's BAR bits */
  barSizes: (number | null)[];
  /** bytes; needed when the image's ROM BAR is not 0 */
  romSize?: number;
  /**
   * Per byte, as long as the image: which bits software may write, and which are RW1C. Default: what the
   * header and each recognised capability have in hardware (endpointConfig.ts, capabilities/*);
   * every other byte is read-only. BAR and ROM registers always follow barSizes/romSize.
   */
  writableMask?: Uint8Array;
  /** Per byte, as long as the image: the write-1-to-clear bits (status registers); default as for writableMask. */
  rw1cMask?: Uint8Array;
}

/** What {@link Hardware.addBridge} builds: a PCI-to-PCI bridge (type 1 header) and the bus behind it. */
export interface BridgeSpec {
  /** the bus number behind the bridge; the bridge's bus registers power on strapped to it */
  secondaryBus: number;
  vendorId?: number;
  deviceId?: number;
  revision?: number;
  /** PCIe port type of the bridge's PCI Express capability (default: root port) */
  portType?: 'root' | 'downstream' | 'pci';
}

export function hex(n: number, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}

/**
 * `value` if it is an integer in min..max.
 * @throws PciError EINVAL (not a number at all) or ERANGE (out of range); register-width limits
 *   (0xff, 0xffff, 0xfffe ...) are how users write IDs and offsets, so those ranges print in hex
 */
export function checkInt(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const inHex = max >= 0xff && /^f+[ef8]?$/.test(max.toString(16));
    const show = inHex ? hexValue : describeValue;
    const code = typeof value === 'number' && Number.isInteger(value) ? 'ERANGE' : 'EINVAL';
    throw new PciError(code, `${field} must be an integer in ${show(min)}..${show(max)}, got ${show(value)}`);
  }
  return value;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}
