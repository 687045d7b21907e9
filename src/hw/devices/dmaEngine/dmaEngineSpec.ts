import type { EndpointSpec } from '../../spec.js';
import { isPowerOfTwo } from '../../spec.js';
import { DEVMEM_MAX_BYTES, DEVMEM_MIN_BYTES } from './deviceMemory.js';
import { DMAE_BAR0_SIZE, DMAE_MSIX_PBA_OFFSET, DMAE_MSIX_TABLE_OFFSET, DMAE_MSIX_VECTORS } from './regs.js';

/**
 * Identity of the DMA engine. Vendor 1b36 is Red Hat's range for QEMU-specific devices; device
 * 00f0 is not assigned in QEMU's docs/specs/pci-ids.rst, so this is a pcisim-only ID (a real
 * product would need one assigned). Class 08 80 00: base system peripheral, other.
 */
export const DMAE_VENDOR_ID = 0x1b36;
/** PCI device ID of the DMA engine (pcisim-only, see above). */
export const DMAE_DEVICE_ID = 0x00f0;
/** PCI revision ID of the DMA engine. */
export const DMAE_REVISION = 0x01;
/** PCI class code: 08 80 00, base system peripheral, other. */
export const DMAE_CLASS_CODE = 0x088000;
/** Default device memory (BAR2) size: 4 MiB. */
export const DMAE_DEFAULT_DEVICE_MEMORY = 4 << 20;

/** Options of {@link Hardware.addDmaEngine}. */
export interface DmaEngineOptions {
  /** BAR2 size: a power of two from 4 KiB to 1 GiB (default 4 MiB) */
  deviceMemoryBytes?: number;
}

/** The device memory size `options` ask for, validated. */
export function deviceMemoryBytesOf(options: DmaEngineOptions | undefined): number {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new Error('addDmaEngine options must be an object');
  const n = options?.deviceMemoryBytes ?? DMAE_DEFAULT_DEVICE_MEMORY;
  if (!isPowerOfTwo(n) || n < DEVMEM_MIN_BYTES || n > DEVMEM_MAX_BYTES) {
    throw new Error(`deviceMemoryBytes must be a power of two from ${DEVMEM_MIN_BYTES} to ${DEVMEM_MAX_BYTES}, got ${String(n)}`);
  }
  return n;
}

/**
 * Config space of the DMA engine: a PCIe endpoint with
 *   BAR0  mem32, 8 KiB: registers (regs.ts) at 0, MSI-X table at 0x1000, PBA at 0x1800
 *   BAR2  mem64 prefetchable (BAR2+BAR3): device memory
 *   PM (D0, D3hot; D3hot->D0 resets), MSI-X (2 vectors: completion, error), PCIe with FLR, AER,
 *   INTx pin A as the fallback when MSI-X is off.
 */
export function dmaEngineSpec(deviceMemoryBytes: number): EndpointSpec {
  return {
    vendorId: DMAE_VENDOR_ID,
    deviceId: DMAE_DEVICE_ID,
    classCode: DMAE_CLASS_CODE,
    revision: DMAE_REVISION,
    subsystemVendorId: DMAE_VENDOR_ID,
    subsystemId: DMAE_DEVICE_ID,
    interruptPin: 1,
    bars: [{ kind: 'mem32', size: DMAE_BAR0_SIZE }, null, { kind: 'mem64', size: deviceMemoryBytes, prefetchable: true }, null],
    capabilities: [
      { id: 'pm' },
      {
        id: 'msix',
        vectors: DMAE_MSIX_VECTORS,
        tableBar: 0,
        tableOffset: DMAE_MSIX_TABLE_OFFSET,
        pbaBar: 0,
        pbaOffset: DMAE_MSIX_PBA_OFFSET,
      },
      { id: 'pcie', flr: true },
    ],
    extendedCapabilities: [{ id: 'aer' }],
  };
}
