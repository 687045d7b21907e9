// The shapes a caller uses to describe hardware (API.md). Validation lives with each builder.
import { PciError, describeValue, hexValue } from './pciError.js';

/** One Base Address Register of an {@link EndpointSpec}: its kind, size (a power of two) and prefetchability. */
export interface BarSpec {
  /** Memory BAR decoding 32 or 64 bits of address (a 64-bit BAR takes two slots), or an I/O port BAR. */
  kind: 'mem32' | 'mem64' | 'io';
  /** Size in bytes, a power of two (memory: at least 16; I/O: 4 to 256). */
  size: number;
  /** Prefetchable bit of a memory BAR (PCI_BASE_ADDRESS_MEM_PREFETCH); default false. */
  prefetchable?: boolean;
}

/** One capability of an {@link EndpointSpec}'s chain in the 256-byte header space (`id` selects the kind). */
export type CapabilitySpec =
  /** pme: PME_Support from D0 and D3hot, PME_En writable (PciFunction.raisePme); default: no PME */
  | {
      /** Power Management capability (PCI_CAP_ID_PM). */
      id: 'pm';
      /** No_Soft_Reset in PMCSR: the D3hot->D0 transition keeps the function's state (no internal reset). */
      noSoftReset?: boolean;
      /** PME_Support from D0 and D3hot, PME_En writable (PciFunction.raisePme); default: no PME. */
      pme?: boolean;
    }
  | {
      /** MSI capability (PCI_CAP_ID_MSI). */
      id: 'msi';
      /** Multiple Message Capable: how many vectors the function can use. */
      vectors: 1 | 2 | 4 | 8 | 16 | 32;
      /** 64-bit Address Capable (PCI_MSI_FLAGS_64BIT). */
      is64?: boolean;
      /** Per-Vector Masking Capable (PCI_MSI_FLAGS_MASKBIT): Mask and Pending registers. */
      perVectorMask?: boolean;
    }
  | {
      /** MSI-X capability (PCI_CAP_ID_MSIX). */
      id: 'msix';
      /** Table Size: number of MSI-X vectors (table entries). */
      vectors: number;
      /** BAR index (BIR) holding the MSI-X table. */
      tableBar: number;
      /** Offset of the MSI-X table inside its BAR (8-byte aligned). */
      tableOffset: number;
      /** BAR index (BIR) holding the Pending Bit Array. */
      pbaBar: number;
      /** Offset of the Pending Bit Array inside its BAR (8-byte aligned). */
      pbaOffset: number;
    }
  | {
      /** PCI Express capability (PCI_CAP_ID_EXP); gives the function extended config space. */
      id: 'pcie';
      /** Function Level Reset Capability in Device Capabilities (PCI_EXP_DEVCAP_FLR). */
      flr?: boolean;
    }
  | {
      /** Vendor-specific capability (PCI_CAP_ID_VNDR). */
      id: 'vendor';
      /** Capability length in bytes, header included. */
      length: number;
      /** Bytes after the 3-byte header (ID, next, length); zeros when omitted. */
      data?: Uint8Array;
    };

/** One PCI Express extended capability (chain at 0x100): Advanced Error Reporting or a Device Serial Number. */
export type ExtCapabilitySpec =
  | {
      /** Advanced Error Reporting (PCI_EXT_CAP_ID_ERR). */
      id: 'aer';
    }
  | {
      /** Device Serial Number (PCI_EXT_CAP_ID_DSN). */
      id: 'dsn';
      /** The 64-bit serial number. */
      serial: bigint;
    };

/** What {@link Hardware.addEndpoint} builds: IDs, class, BARs, ROM and capabilities of a type 0 function. */
export interface EndpointSpec {
  /** Vendor ID register (PCI_VENDOR_ID), e.g. 0x1af4 for virtio. */
  vendorId: number;
  /** Device ID register (PCI_DEVICE_ID). */
  deviceId: number;
  /** 24-bit: base class, subclass, programming interface */
  classCode: number;
  /** Revision ID register (PCI_REVISION_ID); default 0. */
  revision?: number;
  /** Subsystem Vendor ID (PCI_SUBSYSTEM_VENDOR_ID); default 0. */
  subsystemVendorId?: number;
  /** Subsystem ID (PCI_SUBSYSTEM_ID); default 0. */
  subsystemId?: number;
  /** Interrupt Pin register: 0 = no INTx, 1-4 = INTA#-INTD#; default 0. */
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
  /** Vendor ID of the bridge function; default 0x1b36 (Red Hat, as QEMU's generic bridges). */
  vendorId?: number;
  /** Device ID of the bridge function; default 0x000c (QEMU's PCIe root port). */
  deviceId?: number;
  /** Revision ID of the bridge function; default 0. */
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
