import type { Emulator } from '../index.js';
import { InterruptLog } from '../index.js';
import type { ConfigAccess } from '../guest/configAccess.js';
import type { EnumeratedFunction, EnumerationResult } from '../guest/enumerator.js';
import { PCI_CAP_ID_MSIX, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_PBA, PCI_MSIX_TABLE, PCI_ROM_ADDRESS } from '../hw/pciRegs.js';
import type { DefaultTopology } from './defaultTopology.js';

const hx = (n: number, w = 8) => n.toString(16).padStart(w, '0');

/**
 * Uses the enumerated machine the way a driver would: MMIO and port I/O at the addresses firmware
 * assigned, the expansion ROM through its BAR, and MSI-X programmed through the table in a BAR; the
 * device side (raising interrupts) is driven through the topology's function handles.
 */
export function runLiveDemo(emu: Emulator, topo: DefaultTopology, access: ConfigAccess, result: EnumerationResult): string[] {
  const hw = emu.hw;
  const out: string[] = [];
  const find = (vendorId: number, deviceId: number, fn = 0): EnumeratedFunction => {
    const f = result.functions.find((x) => x.vendorId === vendorId && x.deviceId === deviceId && x.function === fn);
    if (!f) throw new Error(`${hx(vendorId, 4)}:${hx(deviceId, 4)}.${fn} was not enumerated`);
    return f;
  };
  const barAddress = (f: EnumeratedFunction, index: number): number => {
    const a = f.bars.find((b) => b.index === index)?.address;
    if (a === null || a === undefined) throw new Error(`${f.bdf} BAR ${index} has no address`);
    return a;
  };
  const cfgRead = (f: EnumeratedFunction, reg: number, size: 1 | 2 | 4) => access.read(f.bus, f.device, f.function, reg, size);
  const cfgWrite = (f: EnumeratedFunction, reg: number, size: 1 | 2 | 4, v: number) => access.write(f.bus, f.device, f.function, reg, size, v);
  const name = (f: EnumeratedFunction) => f.bdf.slice(5);

  // MMIO: a register in the I350's BAR 0 (RAL0, receive address low)
  const nic = find(0x8086, 0x1521);
  const ral0 = barAddress(nic, 0) + 0x5400;
  hw.mmioWrite(ral0, 4, 0x12005452);
  out.push(`MMIO     ${name(nic)} BAR0+0x5400 @ ${hx(ral0)}: write32 12005452, read32 -> ${hx(hw.mmioRead(ral0, 4))}`);
  const nic1 = find(0x8086, 0x1521, 1);
  const other = barAddress(nic1, 0) + 0x5400;
  out.push(`MMIO     ${name(nic1)} BAR0+0x5400 @ ${hx(other)}: read32 -> ${hx(hw.mmioRead(other, 4))} (the other port's registers are its own)`);

  // port I/O: the RTL8139's ChipCmd register (BAR 0 + 0x37) behind two bridges
  const rtl = find(0x10ec, 0x8139);
  const chipCmd = barAddress(rtl, 0) + 0x37;
  hw.ioWrite(chipCmd, 1, 0x0c);
  out.push(`I/O      ${name(rtl)} BAR0+0x37 @ port ${hx(chipCmd, 4)}: outb 0c, inb -> ${hx(hw.ioRead(chipCmd, 1), 2)}`);

  // the expansion ROM: enable it, read the image header, disable it again
  if (nic.rom?.address != null) {
    const reg = cfgRead(nic, PCI_ROM_ADDRESS, 4);
    cfgWrite(nic, PCI_ROM_ADDRESS, 4, reg | 1);
    const rom = nic.rom.address;
    const sig = hw.mmioRead(rom, 2);
    const pcir = rom + hw.mmioRead(rom + 0x18, 2);
    const magic = String.fromCharCode(...[0, 1, 2, 3].map((i) => hw.mmioRead(pcir + i, 1)));
    const ids = hw.mmioRead(pcir + 4, 4);
    cfgWrite(nic, PCI_ROM_ADDRESS, 4, reg);
    out.push(`ROM      ${name(nic)} @ ${hx(rom)}: signature ${hx(sig, 4)}, ${magic} vendor ${hx(ids & 0xffff, 4)} device ${hx(ids >>> 16, 4)}`);
  }

  // MSI-X: program two table entries through the BAR, enable, let the device raise them
  const nvme = find(0x144d, 0xa808);
  const cap = nvme.capabilities.find((c) => c.id === PCI_CAP_ID_MSIX)!.offset;
  const table = cfgRead(nvme, cap + PCI_MSIX_TABLE, 4);
  const pba = cfgRead(nvme, cap + PCI_MSIX_PBA, 4);
  const tableAddr = barAddress(nvme, table & 7) + (table & ~7);
  const pbaAddr = barAddress(nvme, pba & 7) + (pba & ~7);
  for (const v of [0, 1]) {
    const e = tableAddr + 16 * v;
    hw.mmioWrite(e, 4, 0xfee00000); // message address: local APIC, destination 0
    hw.mmioWrite(e + 4, 4, 0);
    hw.mmioWrite(e + 8, 4, 0x4021 + v); // message data: vector 0x21 + v, edge, fixed
    hw.mmioWrite(e + 12, 4, v === 1 ? 1 : 0); // vector 1 stays masked for now
  }
  cfgWrite(nvme, cap + PCI_MSIX_FLAGS, 2, cfgRead(nvme, cap + PCI_MSIX_FLAGS, 2) | PCI_MSIX_FLAGS_ENABLE);
  out.push(`MSI-X    ${name(nvme)}: table @ ${hx(tableAddr)}, PBA @ ${hx(pbaAddr)}, entries 0-1 -> fee00000, vector 1 masked, MSI-X enabled`);
  const log = new InterruptLog();
  const previous = hw.interrupts;
  hw.setInterruptSink(log);
  const show = (m: InterruptLog['messages'][number]) =>
    `message from ${m.source.slice(5)}: write ${hx(m.data)} to ${hx(m.addressHi)}${hx(m.addressLo)}`;
  try {
    topo.nvme.signal(0);
    out.push(`         device raises vector 0 -> ${log.messages.length === 1 ? show(log.messages[0]) : 'nothing delivered'}`);
    topo.nvme.signal(1);
    out.push(`         device raises vector 1 (masked) -> ${log.messages.length} message(s) so far, PBA reads ${hx(hw.mmioRead(pbaAddr, 4))}`);
    hw.mmioWrite(tableAddr + 16 + 12, 4, 0);
    const last = log.messages[log.messages.length - 1];
    out.push(`         unmask vector 1 -> ${log.messages.length === 2 ? show(last) : 'nothing delivered'}, PBA reads ${hx(hw.mmioRead(pbaAddr, 4))}`);
  } finally {
    hw.setInterruptSink(previous);
  }
  return out;
}
