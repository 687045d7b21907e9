import type { DeviceModel } from '../deviceModel.js';
import type { PciFunction } from '../pciFunction.js';

const PAGE = 4096;

/**
 * The model behind `addEndpoint`: each memory or I/O BAR is plain device memory (sparse, zero until
 * written), so drivers and tests can see their accesses land. Reset clears it.
 */
export class GenericEndpoint implements DeviceModel {
  private pages = new Map<number, Uint8Array>();

  private page(bar: number, offset: number, create: boolean): Uint8Array | undefined {
    const key = bar * 2 ** 45 + Math.floor(offset / PAGE);
    let p = this.pages.get(key);
    if (!p && create) {
      p = new Uint8Array(PAGE);
      this.pages.set(key, p);
    }
    return p;
  }

  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    const p = this.page(bar, offset, false);
    if (!p) return 0;
    const o = offset % PAGE;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | p[o + i];
    return v >>> 0;
  }

  barWrite(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    const p = this.page(bar, offset, true)!;
    const o = offset % PAGE;
    for (let i = 0; i < size; i++) p[o + i] = (value >>> (8 * i)) & 0xff;
  }

  reset(): void {
    this.pages.clear();
  }
}
