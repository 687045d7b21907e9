import type { VfioDeviceFile } from '../host/vfio/deviceFile.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import { DEVICE_INFO_SIZEOF, decodeDeviceInfo, encodeDeviceInfo } from '../host/vfio/uapi/deviceInfo.js';
import type { DeviceInfo } from '../host/vfio/uapi/deviceInfo.js';
import { REGION_INFO_SIZEOF, decodeRegionInfo, encodeRegionInfo } from '../host/vfio/uapi/regionInfo.js';
import type { RegionInfo } from '../host/vfio/uapi/regionInfo.js';
import { IRQ_INFO_SIZEOF, decodeIrqInfo, encodeIrqInfo } from '../host/vfio/uapi/irqInfo.js';
import type { IrqInfo } from '../host/vfio/uapi/irqInfo.js';
import { buildIrqSet } from '../host/vfio/uapi/irqSet.js';
import type { IrqSetData } from '../host/vfio/uapi/irqSet.js';
import { decodeInfoCapChain } from '../host/vfio/uapi/infoCap.js';
import type { FoundInfoCap } from '../host/vfio/uapi/infoCap.js';
import { buildDeviceFeature } from '../host/vfio/uapi/deviceFeature.js';
import { regionOffset } from '../host/vfio/deviceFile.js';

/**
 * Typed calls over a vfio device file, as a VMM's vfio helpers make them. The byte-level ioctl stays
 * the ground truth; these only build and parse the structs.
 */
export class VfioClient {
  constructor(
    /** The device file the calls go to. */
    readonly file: VfioDeviceFile,
  ) {}

  /** VFIO_DEVICE_GET_INFO: device flags, number of regions and IRQ indexes. */
  getInfo(): DeviceInfo {
    const arg = encodeDeviceInfo({ argsz: DEVICE_INFO_SIZEOF, flags: 0, numRegions: 0, numIrqs: 0, capOffset: 0, pad: 0 });
    this.file.ioctl(VFIO.DEVICE_GET_INFO, arg);
    return decodeDeviceInfo(arg);
  }

  /** Region info with its capability chain (asks again with the argsz the kernel says it needs). */
  getRegionInfo(index: number): RegionInfo & {
    /** The region's info capabilities (sparse mmap, type ...), in chain order. */
    caps: FoundInfoCap[];
    /** The whole struct vfio_region_info buffer as the kernel filled it. */
    raw: Uint8Array;
  } {
    let argsz = REGION_INFO_SIZEOF;
    for (;;) {
      const arg = new Uint8Array(argsz);
      encodeRegionInfo({ argsz, flags: 0, index, capOffset: 0, size: 0n, offset: 0n }, arg);
      this.file.ioctl(VFIO.DEVICE_GET_REGION_INFO, arg);
      const info = decodeRegionInfo(arg);
      if (info.flags & VFIO.REGION_INFO_FLAG_CAPS && info.argsz > argsz) {
        argsz = info.argsz;
        continue;
      }
      const caps = info.flags & VFIO.REGION_INFO_FLAG_CAPS && info.capOffset ? decodeInfoCapChain(arg, info.capOffset) : [];
      return { ...info, caps, raw: arg };
    }
  }

  /** VFIO_DEVICE_GET_IRQ_INFO for IRQ index `index` (INTx, MSI, MSI-X, ERR, REQ). */
  getIrqInfo(index: number): IrqInfo {
    const arg = encodeIrqInfo({ argsz: IRQ_INFO_SIZEOF, flags: 0, index, count: 0 });
    this.file.ioctl(VFIO.DEVICE_GET_IRQ_INFO, arg);
    return decodeIrqInfo(arg);
  }

  /** VFIO_DEVICE_SET_IRQS: `action` (DATA_*|ACTION_*) on vectors start..start+count of IRQ index `index`. */
  setIrqs(index: number, action: number, start: number, data: IrqSetData = { kind: 'none' }, count?: number): void {
    this.file.ioctl(VFIO.DEVICE_SET_IRQS, buildIrqSet({ flags: action, index, start, count }, data));
  }

  /** VFIO_DEVICE_RESET. */
  reset(): void {
    this.file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
  }

  /** VFIO_DEVICE_FEATURE with `flags` (feature and GET/SET/PROBE) and payload; returns the data after the header. */
  feature(flags: number, payload: Uint8Array | number = 0): Uint8Array {
    const arg = buildDeviceFeature(flags, payload);
    this.file.ioctl(VFIO.DEVICE_FEATURE, arg);
    return arg.subarray(8);
  }

  /** A little-endian read of 1, 2 or 4 bytes at `offset` of region `index`. */
  readRegion(index: number, offset: number, size: 1 | 2 | 4): number {
    const b = this.file.read(regionOffset(index, offset), size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | b[i];
    return v >>> 0;
  }

  /** A little-endian write of 1, 2 or 4 bytes at `offset` of region `index`; returns bytes written. */
  writeRegion(index: number, offset: number, size: 1 | 2 | 4, value: number): number {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (value >>> (8 * i)) & 0xff;
    return this.file.write(regionOffset(index, offset), b);
  }

  /** Reads the config region (VFIO_PCI_CONFIG_REGION_INDEX) at `offset`. */
  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.readRegion(VFIO.PCI_CONFIG_REGION_INDEX, offset, size);
  }

  /** Writes the config region (VFIO_PCI_CONFIG_REGION_INDEX) at `offset`; returns bytes written. */
  configWrite(offset: number, size: 1 | 2 | 4, value: number): number {
    return this.writeRegion(VFIO.PCI_CONFIG_REGION_INDEX, offset, size, value);
  }
}

export { regionOffset };
