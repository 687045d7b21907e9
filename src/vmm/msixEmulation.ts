import type { Eventfd } from '../host/fileTable.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import { PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_FLAGS_QSIZE } from '../hw/pciRegs.js';
import type { IrqHost } from './irqHost.js';
import { trySetIrqs } from './irqHost.js';

/** Where the MSI-X table and PBA are, from the capability. */
export interface MsixLayout {
  cap: number;
  vectors: number;
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

const ENTRY_CTRL_MASKBIT = 1;

/**
 * The MSI-X capability, table and PBA of an assigned function as the guest sees them: all the VMM's
 * (QEMU's msix.c with vfio-pci's vector notifiers). Guest accesses to the table and PBA never reach
 * the device file. A vector comes into use when the guest unmasks it with MSI-X enabled: the VMM
 * gives it an eventfd through SET_IRQS MSI-X (one vector at a time where the host can add vectors
 * while enabled, otherwise by re-enabling with the larger count, as QEMU does for NORESIZE). A
 * vector that fires while masked (its mask bit or the function mask) sets its PBA bit and is sent
 * when unmasked. Enabling with every vector masked still enables MSI-X on the host (with vector 0
 * and no eventfd), since some devices expect the physical function to follow the guest's enable.
 */
export class MsixEmulation {
  readonly table: Uint32Array;
  readonly pba: Uint32Array;
  readonly tableBytes: number;
  readonly pbaBytes: number;
  /** vectors the host has MSI-X entries for (0: MSI-X off there) */
  hostVectors = 0;
  /** vectors wired to their eventfd on the host */
  readonly wired: boolean[];
  private readonly eventfds: (Eventfd | null)[];
  /** messages sent / fires that found the vector masked */
  sent = 0;
  maskedFires = 0;

  constructor(
    private readonly host: IrqHost,
    readonly layout: MsixLayout,
    /** GET_IRQ_INFO MSI-X: how many vectors the host offers, and whether it can add them while enabled */
    readonly hostCount: number,
    readonly noResize: boolean,
  ) {
    const n = layout.vectors;
    this.table = new Uint32Array(n * 4);
    this.pba = new Uint32Array(Math.ceil(n / 32) + (Math.ceil(n / 32) & 1)); // QWORD-sized PBA
    this.tableBytes = n * 16;
    this.pbaBytes = Math.ceil(n / 64) * 8;
    this.wired = new Array(n).fill(false);
    this.eventfds = new Array(n).fill(null);
    this.resetTable();
    // Message Control: Enable and Function Mask are the VMM's; Table Size stays the device's
    host.emu.emulate(layout.cap + PCI_MSIX_FLAGS, 2, (n - 1) & PCI_MSIX_FLAGS_QSIZE, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  }

  /** msix_reset: every entry masked with a zero message, nothing pending. */
  resetTable(): void {
    this.table.fill(0);
    for (let v = 0; v < this.layout.vectors; v++) this.table[v * 4 + 3] = ENTRY_CTRL_MASKBIT;
    this.pba.fill(0);
  }

  get control(): number {
    return this.host.emu.read(this.layout.cap + PCI_MSIX_FLAGS, 2);
  }

  get enabled(): boolean {
    return (this.control & PCI_MSIX_FLAGS_ENABLE) !== 0;
  }

  get functionMasked(): boolean {
    return (this.control & PCI_MSIX_FLAGS_MASKALL) !== 0;
  }

  /** A vector is masked while MSI-X is off, the function is masked, or its own mask bit is set. */
  masked(v: number): boolean {
    const c = this.control;
    return (c & PCI_MSIX_FLAGS_ENABLE) === 0 || (c & PCI_MSIX_FLAGS_MASKALL) !== 0 || (this.table[v * 4 + 3] & ENTRY_CTRL_MASKBIT) !== 0;
  }

  controlOverlaps(off: number, size: number): boolean {
    const at = this.layout.cap + PCI_MSIX_FLAGS;
    return off < at + 2 && at < off + size;
  }

  inTable(bar: number, off: number): boolean {
    const l = this.layout;
    return bar === l.tableBar && off >= l.tableOffset && off < l.tableOffset + this.tableBytes;
  }

  inPba(bar: number, off: number): boolean {
    const l = this.layout;
    return bar === l.pbaBar && off >= l.pbaOffset && off < l.pbaOffset + this.pbaBytes;
  }

  // ---- guest accesses ---------------------------------------------------------------------------

  tableRead(off: number, size: 1 | 2 | 4): number {
    return readLe(this.table, off - this.layout.tableOffset, size);
  }

  tableWrite(off: number, size: 1 | 2 | 4, value: number): void {
    const at = off - this.layout.tableOffset;
    if (at + size > this.tableBytes) return;
    const v = at >> 4;
    const wasMasked = this.masked(v);
    if (!wasMasked && (at & 15) < 12) {
      // PCI 6.8.3.5: changing an unmasked entry's message is undefined; QEMU takes the new value
      const h = this.host;
      h.log.once(`${h.name}:msix:unmasked-write`, `${h.name}: guest rewrote MSI-X entry ${v}'s message while it was unmasked; the new message is used from the next interrupt`);
    }
    writeLe(this.table, at, size, value);
    // reserved bits of Vector Control read as 0
    this.table[v * 4 + 3] &= ENTRY_CTRL_MASKBIT;
    this.maskChanged(v, wasMasked);
  }

  pbaRead(off: number, size: 1 | 2 | 4): number {
    return readLe(this.pba, off - this.layout.pbaOffset, size);
  }

  // ---- Message Control --------------------------------------------------------------------------

  /**
   * After a guest write to Message Control (msix_write_config): the device handles enable/disable;
   * here every vector whose masked state changed is used/released, and pending ones are sent.
   */
  controlWritten(oldControl: number): 'enable' | 'disable' | 'update' {
    const was = (oldControl & PCI_MSIX_FLAGS_ENABLE) !== 0;
    const now = this.enabled;
    if (!was && now) return 'enable';
    if (was && !now) return 'disable';
    if (now) {
      const wasMaskAll = (oldControl & PCI_MSIX_FLAGS_MASKALL) !== 0;
      for (let v = 0; v < this.layout.vectors; v++) {
        const wasMasked = wasMaskAll || (this.table[v * 4 + 3] & ENTRY_CTRL_MASKBIT) !== 0;
        this.maskChanged(v, wasMasked);
      }
    }
    return 'update';
  }

  /** The guest enabled MSI-X: set it up on the host with the vectors it already unmasked. */
  enableHost(): boolean {
    const used: number[] = [];
    for (let v = 0; v < this.layout.vectors; v++) if (!this.masked(v)) used.push(v);
    const wire = used.filter((v) => this.usable(v));
    const h = this.host;
    let ok: boolean;
    if (wire.length === 0) {
      // vfio_enable_msix_no_vec: MSI-X on at the device with vector 0 unused
      ok = trySetIrqs(h, 'MSI-X enable', () => h.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [-1] }));
      if (ok) this.hostVectors = 1;
    } else {
      ok = this.enableVectors(Math.max(...wire) + 1, new Set(wire));
    }
    if (ok) for (const v of used) this.sendIfPending(v);
    return ok;
  }

  disableHost(): void {
    if (this.hostVectors === 0) return;
    const h = this.host;
    trySetIrqs(h, 'MSI-X disable', () => h.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0));
    this.hostVectors = 0;
    this.wired.fill(false);
  }

  /** SET_IRQS MSI-X for vectors 0..n-1: eventfds for `wire`, -1 for the rest. */
  private enableVectors(n: number, wire: Set<number>): boolean {
    const h = this.host;
    const fds: number[] = [];
    for (let v = 0; v < n; v++) fds.push(wire.has(v) || this.wired[v] ? this.eventfdOf(v).fd : -1);
    const ok = trySetIrqs(h, 'MSI-X enable', () => h.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds }));
    if (!ok) return false;
    this.hostVectors = n;
    for (let v = 0; v < n; v++) this.wired[v] = fds[v] >= 0;
    return true;
  }

  /** A vector the host can give an entry; out-of-range ones are logged once and stay unwired. */
  private usable(v: number): boolean {
    if (v < this.hostCount) return true;
    const h = this.host;
    h.log.once(`${h.name}:msix:range:${v}`, `${h.name}: MSI-X vector ${v} is beyond the ${this.hostCount} the host offers; it is not wired`);
    return false;
  }

  private eventfdOf(v: number): Eventfd {
    let e = this.eventfds[v];
    if (e === null || e.closed) {
      e = this.host.eventfd();
      e.onSignal((ev) => {
        ev.read();
        this.fire(v);
      });
      this.eventfds[v] = e;
    }
    return e;
  }

  /** vfio_msix_vector_use: the guest unmasked `v` with MSI-X enabled. */
  private use(v: number): void {
    if (this.wired[v] || this.hostVectors === 0 || !this.usable(v)) return;
    const h = this.host;
    if (v < this.hostVectors || !this.noResize) {
      const fd = this.eventfdOf(v).fd;
      if (trySetIrqs(h, 'MSI-X vector', () => h.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, v, { kind: 'eventfd', fds: [fd] }))) {
        this.wired[v] = true;
        this.hostVectors = Math.max(this.hostVectors, v + 1);
      }
      return;
    }
    // the host cannot add vectors while enabled: disable and enable again with the larger count
    const keep = new Set<number>([v]);
    this.wired.forEach((w, i) => w && keep.add(i));
    trySetIrqs(h, 'MSI-X disable', () => h.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0));
    this.hostVectors = 0;
    this.wired.fill(false);
    this.enableVectors(v + 1, keep);
  }

  /** msix_handle_mask_update: a vector that became unmasked comes into use and sends what is pending. */
  private maskChanged(v: number, wasMasked: boolean): void {
    const now = this.masked(v);
    if (now === wasMasked || now) return; // masking keeps the eventfd: fires then only set the PBA bit
    this.use(v);
    this.sendIfPending(v);
  }

  private sendIfPending(v: number): void {
    const w = v >> 5;
    const bit = 1 << (v & 31);
    if ((this.pba[w] & bit) === 0 || this.masked(v)) return;
    this.pba[w] &= ~bit;
    this.send(v);
  }

  /** Vector `v`'s eventfd fired (msix_notify). */
  fire(v: number): void {
    if (!this.enabled) return;
    if (this.masked(v)) {
      this.maskedFires++;
      this.pba[v >> 5] |= 1 << (v & 31);
      return;
    }
    this.send(v);
  }

  private send(v: number): void {
    const t = this.table;
    this.sent++;
    this.host.sendMsi(t[v * 4], t[v * 4 + 1], t[v * 4 + 2]);
  }

  /**
   * Sets MSI-X up on the host as the source had it (a migration destination): `hostVectors`
   * entries, eventfds on exactly the `wired` vectors, so the device's driver finds the interrupt
   * setup it left on the source. Pending vectors that are unmasked go out.
   */
  restoreHost(wired: boolean[], hostVectors: number): boolean {
    this.disableHost();
    if (!this.enabled || hostVectors === 0) return true;
    const set = new Set<number>();
    wired.forEach((w, v) => w && set.add(v));
    const ok = this.enableVectors(hostVectors, set);
    if (ok) for (let v = 0; v < this.layout.vectors; v++) this.sendIfPending(v);
    return ok;
  }

  close(): void {
    for (const e of this.eventfds) e?.close();
    this.eventfds.fill(null);
  }
}

function readLe(words: Uint32Array, at: number, size: number): number {
  const w = words[at >> 2] ?? 0;
  const shift = 8 * (at & 3);
  return size === 4 ? w >>> 0 : (w >>> shift) & (size === 2 ? 0xffff : 0xff);
}

function writeLe(words: Uint32Array, at: number, size: number, value: number): void {
  const i = at >> 2;
  if (size === 4) {
    words[i] = value >>> 0;
    return;
  }
  const shift = 8 * (at & 3);
  const mask = (size === 2 ? 0xffff : 0xff) << shift;
  words[i] = ((words[i] & ~mask) | ((value << shift) & mask)) >>> 0;
}
