import { L } from '../core/wasm.js';
import { ConfigBuilder } from './configBuilder.js';
import type { DeviceModel } from './deviceModel.js';
import type { Hardware } from './hardware.js';
import { buildPcie } from './capabilities/pcie.js';
import { PciBus } from './pciBus.js';
import { PciFunction, writtenByte } from './pciFunction.js';
import {
  PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_BUS_RESET, PCI_CACHE_LINE_SIZE, PCI_CLASS_PROG, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY,
  PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_ROOT_PORT, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE, PCI_INTERRUPT_LINE, PCI_IO_BASE,
  PCI_IO_BASE_UPPER16, PCI_IO_LIMIT, PCI_IO_LIMIT_UPPER16, PCI_MEMORY_BASE, PCI_MEMORY_LIMIT, PCI_PREF_BASE_UPPER32,
  PCI_PREF_LIMIT_UPPER32, PCI_PREF_MEMORY_BASE, PCI_PREF_MEMORY_LIMIT, PCI_PRIMARY_BUS, PCI_REVISION_ID, PCI_ROM_ADDRESS1,
  PCI_SEC_STATUS, PCI_SECONDARY_BUS, PCI_STATUS, PCI_STATUS_ERROR_BITS, PCI_SUBORDINATE_BUS, PCI_VENDOR_ID, PCI_DEVICE_ID,
} from './pciRegs.js';
import type { BridgeSpec } from './spec.js';
import { checkInt } from './spec.js';

const noBars: DeviceModel = {
  barRead: () => 0xffffffff,
  barWrite: () => {},
};

/** A forwarding window [base, end) in one address space. */
export interface Window {
  base: number;
  end: number;
}

/**
 * A PCI-to-PCI bridge (type 1 header): bus numbers, I/O, memory and prefetchable windows, secondary
 * status and bridge control. Windows power on closed (base above limit); bus numbers power on strapped
 * to the topology's numbers, as platform firmware would have left them. Setting Secondary Bus Reset
 * resets everything behind the bridge.
 */
export class Bridge extends PciFunction {
  /** Always true: a bridge has a type 1 header. */
  override readonly isBridge = true;
  /** The bridge's Expansion ROM BAR is at 0x38 (PCI_ROM_ADDRESS1). */
  override readonly romReg = PCI_ROM_ADDRESS1;
  /** The bus behind the bridge. */
  readonly secondary: PciBus;

  constructor(hw: Hardware, bdf: string, bus: PciBus, device: number, fn: number, slot: number, spec: BridgeSpec) {
    super(hw, bdf, bus, device, fn, noBars, slot);
    this.secondary = new PciBus(spec.secondaryBus, this);
    const b = new ConfigBuilder(this.core, slot);
    this.vendorId = checkInt(spec.vendorId ?? 0x1b36, 0, 0xfffe, 'bridge vendorId');
    this.deviceId = checkInt(spec.deviceId ?? 0x000c, 0, 0xffff, 'bridge deviceId');
    b.reg(PCI_VENDOR_ID, 2, this.vendorId);
    b.reg(PCI_DEVICE_ID, 2, this.deviceId);
    b.reg(PCI_COMMAND, 2, 0, 0x0547, 0, L.EV_COMMAND);
    b.reg(PCI_STATUS, 2, 0, 0, PCI_STATUS_ERROR_BITS);
    b.reg(PCI_REVISION_ID, 1, checkInt(spec.revision ?? 0, 0, 255, 'bridge revision'));
    b.reg(PCI_CLASS_PROG, 3, 0x060400);
    b.reg(PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
    b.reg(PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_BRIDGE);
    b.reg(PCI_PRIMARY_BUS, 1, bus.number, 0xff, 0, L.EV_BRIDGE);
    b.reg(PCI_SECONDARY_BUS, 1, spec.secondaryBus, 0xff, 0, L.EV_BRIDGE);
    b.reg(PCI_SUBORDINATE_BUS, 1, spec.secondaryBus, 0xff, 0, L.EV_BRIDGE);
    b.reg(PCI_IO_BASE, 1, 0xf1, 0xf0, 0, L.EV_BRIDGE);
    b.reg(PCI_IO_LIMIT, 1, 0x01, 0xf0, 0, L.EV_BRIDGE);
    b.reg(PCI_SEC_STATUS, 2, 0, 0, PCI_STATUS_ERROR_BITS);
    b.reg(PCI_MEMORY_BASE, 2, 0xfff0, 0xfff0, 0, L.EV_BRIDGE);
    b.reg(PCI_MEMORY_LIMIT, 2, 0x0000, 0xfff0, 0, L.EV_BRIDGE);
    b.reg(PCI_PREF_MEMORY_BASE, 2, 0xfff1, 0xfff0, 0, L.EV_BRIDGE);
    b.reg(PCI_PREF_MEMORY_LIMIT, 2, 0x0001, 0xfff0, 0, L.EV_BRIDGE);
    b.reg(PCI_PREF_BASE_UPPER32, 4, 0, 0xffffffff, 0, L.EV_BRIDGE);
    b.reg(PCI_PREF_LIMIT_UPPER32, 4, 0, 0xffffffff, 0, L.EV_BRIDGE);
    b.reg(PCI_IO_BASE_UPPER16, 2, 0, 0xffff, 0, L.EV_BRIDGE);
    b.reg(PCI_IO_LIMIT_UPPER16, 2, 0, 0xffff, 0, L.EV_BRIDGE);
    b.reg(PCI_INTERRUPT_LINE, 1, 0, 0xff);
    b.reg(PCI_BRIDGE_CONTROL, 2, 0, 0x004f, 0, L.EV_BRIDGE);
    const portType = spec.portType ?? 'root';
    if (portType !== 'pci') buildPcie(b, false, portType === 'root' ? PCI_EXP_TYPE_ROOT_PORT : PCI_EXP_TYPE_DOWNSTREAM, 'bridge pcie');
    b.commit();
  }

  /** Secondary Bus Number register: the bus directly behind the bridge. */
  get secondaryBus(): number {
    return this.mem.u8[this.base + PCI_SECONDARY_BUS];
  }
  /** Subordinate Bus Number register: the highest bus number behind the bridge. */
  get subordinateBus(): number {
    return this.mem.u8[this.base + PCI_SUBORDINATE_BUS];
  }

  /** Strap a bus-number register's power-on value (topology construction only). */
  strapBusNumber(reg: number, value: number): void {
    this.mem.u8[this.base + reg] = value;
    this.mem.u8[this.base + L.INIT + reg] = value;
  }

  /** The I/O window, or null when closed or I/O forwarding is disabled. */
  ioWindow(): Window | null {
    if ((this.configRead(PCI_COMMAND, 2) & PCI_COMMAND_IO) === 0) return null;
    const lo = this.configRead(PCI_IO_BASE, 1);
    const hi = this.configRead(PCI_IO_LIMIT, 1);
    const wide = (lo & 0x0f) === 0x01;
    const base = ((lo & 0xf0) << 8) + (wide ? this.configRead(PCI_IO_BASE_UPPER16, 2) * 0x10000 : 0);
    const limit = ((hi & 0xf0) << 8) + 0xfff + (wide ? this.configRead(PCI_IO_LIMIT_UPPER16, 2) * 0x10000 : 0);
    return limit >= base ? { base, end: limit + 1 } : null;
  }

  /** The non-prefetchable and prefetchable memory windows that are open. */
  memWindows(): Window[] {
    if ((this.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) === 0) return [];
    const out: Window[] = [];
    const mb = (this.configRead(PCI_MEMORY_BASE, 2) & 0xfff0) * 0x10000;
    const ml = (this.configRead(PCI_MEMORY_LIMIT, 2) & 0xfff0) * 0x10000 + 0xfffff;
    if (ml >= mb) out.push({ base: mb, end: ml + 1 });
    const pb = (this.configRead(PCI_PREF_MEMORY_BASE, 2) & 0xfff0) * 0x10000 + this.configRead(PCI_PREF_BASE_UPPER32, 4) * 2 ** 32;
    const pl = (this.configRead(PCI_PREF_MEMORY_LIMIT, 2) & 0xfff0) * 0x10000 + 0xfffff + this.configRead(PCI_PREF_LIMIT_UPPER32, 4) * 2 ** 32;
    if (pl >= pb) out.push({ base: pb, end: pl + 1 });
    return out;
  }

  protected override configSideEffects(ev: number, off: number, size: 1 | 2 | 4, value: number): void {
    super.configSideEffects(ev, off, size, value);
    if (ev & L.EV_BRIDGE) {
      this.hw.busNumbersChanged();
      this.hw.decodeChanged();
      const ctl = writtenByte(off, size, value, PCI_BRIDGE_CONTROL);
      if (ctl >= 0 && (ctl & PCI_BRIDGE_CTL_BUS_RESET) !== 0) this.resetSecondary();
    }
  }

  /** Secondary Bus Reset: every function behind the bridge returns to power-on, recursively. */
  resetSecondary(): void {
    for (const f of this.secondary.ordered()) {
      f.reset('bus');
      if (f instanceof Bridge) f.resetSecondary();
    }
  }
}
