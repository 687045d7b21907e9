// The PIIX4 ACPI PCI hotplug controller as QEMU 1.x implemented it for the tables SeaBIOS builds
// (SeaBIOS <= 1.16, src/fw/acpi-dsdt.dsl and ssdt-pcihp.dsl), which is what a v86 guest with
// `acpi: true` runs: ports 0xae00-0xae13 and the GPE0 block at 0xafe0-0xafe3.
//
//   0xae00 PCIU  slots with a device present that can be hot-plugged (QEMU 1.x "manufactures" the
//                up bits so that a hotplug event device-checks every such slot; extra checks are
//                harmless). The DSDT's PCNF reads it once per slot, so reading must not clear it.
//   0xae04 PCID  slots with an unplug request pending
//   0xae08 B0EJ  write (1 << slot): the guest's _EJ0 ran, the slot's device is removed
//   0xae0c RMV   slots that can be hot-plugged; SeaBIOS reads it at boot to keep _EJ0 only there
//   0xae10 SEL   bus select (QEMU >= 1.7); the SeaBIOS tables only know bus 0
// GPE0 (PIIX4: 2 status bytes, W1C, then 2 enable bytes); status bit 1 is "PCI hotplug" (_E01 runs
// PCNF). The SCI (IRQ 9, level, active high in SeaBIOS's MADT) is asserted while a hotplug status
// bit is both set and enabled. v86 answers neither block (its GPE bytes are plain storage, so
// Linux's W1C clear would set bits), so this controller takes both over.

export const PCIHP_BASE = 0xae00;
export const PCIHP_SIZE = 0x14;
export const GPE0_BASE = 0xafe0;
export const GPE0_SIZE = 4;
/** the SCI line of the PIIX4 PM function (its config 0x3c) */
export const SCI_IRQ = 9;
/** GPE0 status bit of the PCI hotplug event (PIIX4_PCI_HOTPLUG_STATUS) */
export const GPE_PCI_HOTPLUG = 1 << 1;
/** GPE0 status bit of the CPU hotplug event (counts toward the SCI as in QEMU) */
export const GPE_CPU_HOTPLUG = 1 << 2;

const PCI_UP = 0x00;
const PCI_DOWN = 0x04;
const PCI_EJ = 0x08;
const PCI_RMV = 0x0c;
const PCI_SEL = 0x10;

/** The parts of v86's CPU the controller uses (`emulator.v86.cpu`). */
export interface AcpiHotplugCpu {
  io: {
    ports: unknown[];
    register_read(port: number, device: object, r8?: (port: number) => number, r16?: (port: number) => number, r32?: (port: number) => number): void;
    register_write(port: number, device: object, w8?: (v: number) => void, w16?: (v: number) => void, w32?: (v: number) => void): void;
  };
  device_raise_irq(irq: number): void;
  device_lower_irq(irq: number): void;
}

export interface AcpiHotplugOptions {
  /** slots whose devices cannot be hot-plugged (QEMU's no_hotplug: host bridge, ISA bridge, PM...) */
  fixedSlots?: number[];
  /** slots with a device at power-on (cold-plugged: no event) */
  presentSlots?: number[];
  /** the guest ejected `slot` (wrote B0EJ): remove its functions */
  onEject?: (slot: number) => void;
  /** drives the SCI line; default: none until attach() */
  sci?: (level: boolean) => void;
}

function slotBit(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot > 31) throw new RangeError(`acpi hotplug: slot must be an integer 0..31, got ${slot}`);
  return (1 << slot) >>> 0;
}

/**
 * The PIIX4 ACPI PCI hotplug controller (QEMU 1.x's ports 0xae00-0xae13 and GPE0 at 0xafe0) that
 * SeaBIOS's ACPI tables drive, so Linux's acpiphp sees pcisim's slots and hot-add/eject works.
 */
export class AcpiPciHotplug {
  /** slots that can be hot-plugged (RMV); slot 0 (the host bridge) never */
  readonly hotplugEnable: number;
  private present = 0;
  private down = 0;
  private select = 0;
  /** GPE0: status bytes 0-1, enable bytes 2-3 */
  readonly gpe = new Uint8Array(GPE0_SIZE);
  private sciLevel = false;
  private sci: (level: boolean) => void;
  private readonly onEject: (slot: number) => void;
  /** counters for whoever shows the controller at work */
  readonly stats = {
    /** guest reads of the 0xae00 and GPE0 blocks */
    reads: 0,
    /** guest writes to the 0xae00 and GPE0 blocks */
    writes: 0,
    /** plug() calls (hot-adds) */
    plugs: 0,
    /** requestUnplug() calls */
    unplugRequests: 0,
    /** slots the guest ejected through B0EJ */
    ejects: 0,
    /** times the SCI went from low to high */
    sciRaised: 0,
  };

  constructor(options: AcpiHotplugOptions = {}) {
    let fixed = 1; // slot 0
    for (const s of options.fixedSlots ?? []) fixed |= slotBit(s);
    this.hotplugEnable = ~fixed >>> 0;
    for (const s of options.presentSlots ?? []) this.present |= slotBit(s);
    this.onEject = options.onEject ?? (() => {});
    this.sci = options.sci ?? (() => {});
  }

  /** A device appeared in `slot` (hot-add): the guest is told through GPE bit 1 and the SCI. */
  plug(slot: number): void {
    const bit = slotBit(slot);
    if (!(this.hotplugEnable & bit)) throw new Error(`acpi hotplug: slot ${slot} is not hot-pluggable`);
    this.present = (this.present | bit) >>> 0;
    this.gpe[0] |= GPE_PCI_HOTPLUG;
    this.stats.plugs++;
    this.updateSci();
  }

  /** Asks the guest to release `slot` (like `device_del`): it ejects the slot when done. */
  requestUnplug(slot: number): void {
    const bit = slotBit(slot);
    if (!(this.hotplugEnable & bit)) throw new Error(`acpi hotplug: slot ${slot} is not hot-pluggable`);
    this.down = (this.down | bit) >>> 0;
    this.gpe[0] |= GPE_PCI_HOTPLUG;
    this.stats.unplugRequests++;
    this.updateSci();
  }

  /** Bitmaps as the guest reads them. */
  get up(): number {
    return (this.present & this.hotplugEnable) >>> 0;
  }
  /** PCID: slots with an unplug request the guest has not ejected yet */
  get pendingDown(): number {
    return this.down;
  }
  /** slots with a device present, hot-pluggable or not */
  get presentSlots(): number {
    return this.present;
  }
  /** whether the SCI is asserted */
  get sciAsserted(): boolean {
    return this.sciLevel;
  }

  /** A 32-bit register of the 0xae00 block, by offset. */
  private reg(offset: number): number {
    switch (offset) {
      case PCI_UP:
        // SeaBIOS's tables only describe bus 0; other selected buses read as empty (QEMU: no bsel)
        return this.select === 0 ? this.up : 0;
      case PCI_DOWN:
        return this.select === 0 ? this.down : 0;
      case PCI_EJ:
        return 0; // no eject features
      case PCI_RMV:
        return this.select === 0 ? this.hotplugEnable : 0;
      case PCI_SEL:
        return this.select;
      default:
        return 0;
    }
  }

  /** Port read in the 0xae00 block; `size` 1, 2 or 4 bytes. Outside the block: all-ones. */
  read(port: number, size: 1 | 2 | 4): number {
    const off = port - PCIHP_BASE;
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    if (off < 0 || off + size > PCIHP_SIZE) return mask;
    this.stats.reads++;
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = off + i;
      v |= ((this.reg(o & ~3) >>> (8 * (o & 3))) & 0xff) << (8 * i);
    }
    return (v & mask) >>> 0;
  }

  /** Port write in the 0xae00 block. The registers are dword registers (QEMU: 4-byte accesses only). */
  write(port: number, size: 1 | 2 | 4, value: number): void {
    const off = port - PCIHP_BASE;
    if (off < 0 || off + size > PCIHP_SIZE || size !== 4 || (off & 3)) return;
    this.stats.writes++;
    value >>>= 0;
    if (off === PCI_EJ) {
      if (this.select !== 0 || value === 0) return;
      const slot = 31 - Math.clz32(value & -value); // ffs - 1: the lowest slot written
      const bit = (1 << slot) >>> 0;
      this.down = (this.down & ~bit) >>> 0; // the request is complete
      if (!(this.hotplugEnable & bit)) return; // no_hotplug devices stay
      this.present = (this.present & ~bit) >>> 0;
      this.stats.ejects++;
      this.onEject(slot);
    } else if (off === PCI_SEL) {
      this.select = value;
    }
  }

  /** GPE0 block read (byte registers; wider reads compose bytes). */
  gpeRead(port: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = port + i - GPE0_BASE;
      v |= (o >= 0 && o < GPE0_SIZE ? this.gpe[o] : 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  /** GPE0 block write: status bytes are write-1-to-clear, enable bytes are plain. */
  gpeWrite(port: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = port + i - GPE0_BASE;
      if (o < 0 || o >= GPE0_SIZE) continue;
      const b = (value >>> (8 * i)) & 0xff;
      if (o < GPE0_SIZE / 2) this.gpe[o] &= ~b;
      else this.gpe[o] = b;
    }
    this.updateSci();
  }

  /** Drives the SCI from the GPE state (QEMU's pm_update_sci for the GPE part). */
  private updateSci(): void {
    const level = (this.gpe[0] & this.gpe[GPE0_SIZE / 2] & (GPE_PCI_HOTPLUG | GPE_CPU_HOTPLUG)) !== 0;
    if (level === this.sciLevel) return;
    this.sciLevel = level;
    if (level) this.stats.sciRaised++;
    this.sci(level);
  }

  /**
   * Asserts the SCI again if it should be. v86's own ACPI timer lowers IRQ 9 whenever its PM timer
   * does not fire, so a level the guest has not yet serviced can be dropped; call this periodically.
   */
  refreshSci(): void {
    if (this.sciLevel) this.sci(true);
  }

  /**
   * Serves both port blocks on v86's I/O bus and drives IRQ 9. Returns a function that puts back
   * the port handlers that were there before.
   */
  attach(cpu: AcpiHotplugCpu): () => void {
    const saved: [number, unknown][] = [];
    const own = { name: 'acpi-pcihp' };
    const hook = (port: number, r: (p: number, s: 1 | 2 | 4) => number, w: (p: number, s: 1 | 2 | 4, v: number) => void) => {
      saved.push([port, { ...(cpu.io.ports[port] as object) }]);
      cpu.io.register_read(port, own, () => r(port, 1), () => r(port, 2), () => r(port, 4) | 0);
      cpu.io.register_write(port, own, (v) => w(port, 1, v), (v) => w(port, 2, v), (v) => w(port, 4, v));
    };
    for (let p = PCIHP_BASE; p < PCIHP_BASE + PCIHP_SIZE; p++) hook(p, (a, s) => this.read(a, s), (a, s, v) => this.write(a, s, v));
    for (let p = GPE0_BASE; p < GPE0_BASE + GPE0_SIZE; p++) hook(p, (a, s) => this.gpeRead(a, s), (a, s, v) => this.gpeWrite(a, s, v));
    this.sci = (level) => (level ? cpu.device_raise_irq(SCI_IRQ) : cpu.device_lower_irq(SCI_IRQ));
    if (this.sciLevel) this.sci(true);
    return () => {
      for (const [port, entry] of saved) Object.assign(cpu.io.ports[port] as object, entry);
      this.sci = () => {};
    };
  }
}
