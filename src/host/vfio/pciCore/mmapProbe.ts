import { L } from '../../../core/wasm.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';
import { MMAP_PAGE as PAGE } from '../mapping.js';

// vfio_pci_probe_mmaps (run from vfio_pci_core_finish_enable): which BARs user space may mmap while
// the device is open. A memory BAR of at least a page maps; a smaller one maps only if it starts a
// page and vfio can reserve the rest of that page (a "vfio sub-page reserved" dummy resource), so that
// no other device's registers share the page the user maps. I/O BARs never map.


/** A reserved range [start, end) of memory space. */
export interface DummyResource {
  start: number;
  end: number;
}

/** Does [start, end) overlap a memory resource of any host device, or a range another open device reserved? */
function memoryInUse(vdev: VfioPciCoreDevice, start: number, end: number): boolean {
  const overlaps = (s: number, e: number) => s < end && start < e;
  for (const f of vdev.vfio.hw.functions()) {
    const pdev = vdev.vfio.pciDevOf(f);
    if (!pdev) continue;
    for (let i = 0; i <= L.ROM_INDEX; i++) {
      const len = pdev.resourceLen(i);
      if (!len || (i < L.ROM_INDEX && f.barKind(i) === L.BAR_IO)) continue;
      const s = pdev.resourceStart(i);
      if (overlaps(s, s + len)) return true;
    }
    const other = vdev.vfio.vfioDeviceOf(pdev) as Partial<VfioPciCoreDevice> | undefined;
    for (const d of other?.dummyResources ?? []) if (overlaps(d.start, d.end)) return true;
  }
  return false;
}

/** Fills vdev.barMmapSupported and takes the dummy reservations of sub-page BARs. */
export function probeMmaps(vdev: VfioPciCoreDevice): void {
  vdev.barMmapSupported = [false, false, false, false, false, false];
  vdev.dummyResources = [];
  for (let bar = 0; bar < 6; bar++) {
    const kind = vdev.fn.barKind(bar);
    if (kind !== L.BAR_MEM32 && kind !== L.BAR_MEM64) continue;
    const start = vdev.barAddress(bar);
    const len = vdev.barLen(bar);
    if (!start || !len) continue;
    if (len >= PAGE) {
      vdev.barMmapSupported[bar] = true;
      continue;
    }
    if (start % PAGE !== 0) continue;
    const dummy = { start: start + len, end: start + PAGE };
    if (memoryInUse(vdev, dummy.start, dummy.end)) continue;
    vdev.dummyResources.push(dummy);
    vdev.barMmapSupported[bar] = true;
  }
}

/** vfio_pci_core_disable: the reservations go with the device's last close. */
export function releaseMmaps(vdev: VfioPciCoreDevice): void {
  vdev.barMmapSupported = [];
  vdev.dummyResources = [];
}
