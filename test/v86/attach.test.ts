import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { V86 } from 'v86';
import { createEmulator } from '../../src/emulator.js';
import { deviceDma } from '../../src/hw/embedding/deviceDma.js';
import { attachV86 } from '../../src/v86/attach.js';
import { createV86 } from '../../src/v86/nodeGuest.js';
import { attachStackScenario, GENERIC_ENDPOINT, v86GuestMemory } from '../../src/v86/scenario.js';
import type { V86Cpu } from '../../src/v86/v86Types.js';

// attachV86 against a loaded v86 whose CPU does not run: config cycles, port I/O and MMIO are
// driven through v86's own dispatch (io.port_*, the memory maps), as the guest's instructions would.
type Io = { port_write32(p: number, v: number): void; port_read32(p: number): number; port_write8(p: number, v: number): void; port_read8(p: number): number };
const emulators: V86[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const e of emulators.splice(0)) e.destroy();
});

async function loaded(acpi = true): Promise<{ e: V86; cpu: V86Cpu; io: Io }> {
  const e = await createV86({ acpi });
  emulators.push(e);
  const cpu = (e as unknown as { v86: { cpu: V86Cpu } }).v86.cpu;
  return { e, cpu, io: cpu.io as unknown as Io };
}

const cf8 = (devfn: number, reg: number, bus = 0) => (0x80000000 | (bus << 16) | (devfn << 8) | reg) >>> 0;
function cfgRead(io: Io, devfn: number, reg: number): number {
  io.port_write32(0xcf8, cf8(devfn, reg & 0xfc));
  return io.port_read32(0xcfc) >>> 0;
}
function cfgWrite(io: Io, devfn: number, reg: number, v: number): void {
  io.port_write32(0xcf8, cf8(devfn, reg & 0xfc));
  io.port_write32(0xcfc, v);
}

describe('attachV86', () => {
  it('answers config cycles for its devfns and leaves v86\'s own to v86', async () => {
    const { e, io } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    const before = cfgRead(io, 0x08, 0); // PIIX3 ISA bridge
    const a = attachV86(e, emu.hw);
    expect(cfgRead(io, 0x11 << 3, 0)).toBe(0x00051b36);
    expect(cfgRead(io, 0x08, 0)).toBe(before);
    expect(cfgRead(io, 0x1f << 3, 0)).toBe(0xffffffff); // absent on both sides
    a.detach();
    expect(cfgRead(io, 0x11 << 3, 0)).toBe(0xffffffff);
  }, 60_000);

  it('maps a BAR the guest places into v86\'s memory map and port table, follows moves, and detach restores v86 exactly', async () => {
    const { e, cpu, io } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    const pf = emu.hw.addVirtioNet('0000:00:11.0', { totalVfs: 0 });
    const ep = emu.hw.addEndpoint('0000:00:13.0', GENERIC_ENDPOINT);
    const ports = [...cpu.io.ports];
    const maps = [cpu.memory_map_read8, cpu.memory_map_write8, cpu.memory_map_read32, cpu.memory_map_write32].map((m) => [...m]);
    const ownKeys = Object.keys(cpu).sort();
    const logs: string[] = [];
    const a = attachV86(e, emu.hw, { log: (l) => logs.push(l) });
    // the PF's BAR4 (64-bit, virtio structures) at 0xfe000000, the endpoint's I/O BAR1 at 0xc100
    const devfn = 0x11 << 3;
    cfgWrite(io, devfn, 0x20, 0xfe000000);
    cfgWrite(io, devfn, 0x24, 0);
    cfgWrite(io, devfn, 0x04, 0x0006);
    expect(pf.barBase(4)).toBe(0xfe000000);
    const block = 0xfe000000 >>> 17;
    expect(cpu.memory_map_read32[block]).not.toBe(maps[2][block]);
    // a 16-bit write that v86 splits arrives whole: common config queue_select (offset 0x16)
    cpu.mmap_write16(0xfe000016 | 0, 1);
    expect(emu.hw.mmioRead(0xfe000016, 2)).toBe(1);
    expect(cpu.memory_map_read8[block](0xfe000016 | 0)).toBe(1);
    cfgWrite(io, ep.devfn, 0x14, 0xc100);
    cfgWrite(io, ep.devfn, 0x04, 0x0001);
    expect(cpu.io.ports[0xc100]).not.toBe(ports[0xc100]);
    // moving the BAR gives the old block back to v86
    cfgWrite(io, devfn, 0x20, 0xfd000000);
    expect(cpu.memory_map_read32[block]).toBe(maps[2][block]);
    expect(cpu.memory_map_read32[0xfd000000 >>> 17]).not.toBe(maps[2][0xfd000000 >>> 17]);
    a.detach();
    expect(cpu.io.ports.every((p, i) => p === ports[i])).toBe(true);
    [cpu.memory_map_read8, cpu.memory_map_write8, cpu.memory_map_read32, cpu.memory_map_write32].forEach((m, k) => expect(m.every((f, i) => f === maps[k][i])).toBe(true));
    expect(Object.keys(cpu).sort()).toEqual(ownKeys);
    // decode went on before every BAR of the PF was placed: its unplaced BARs sat at 0, over RAM
    expect(logs).toEqual([expect.stringMatching(/over RAM at 0x0;/)]);
  }, 60_000);

  it('refuses a target it cannot serve, naming the conflict', async () => {
    const { e } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    emu.hw.addEndpoint('0000:00:05.0', GENERIC_ENDPOINT); // v86's ne2k is there
    expect(() => attachV86(e, emu.hw)).toThrow(/00:05\.0.*v86's own ne2k/);
    const a1 = await createEmulator({ memoryBytes: 1 << 20 });
    const a2 = await createEmulator({ memoryBytes: 1 << 20 });
    a1.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    a2.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    const first = attachV86(e, a1.hw);
    expect(() => attachV86(e, a2.hw)).toThrow(/00:11\.0.*another pcisim attachment/);
    first.detach();
    attachV86(e, a2.hw).detach();
    expect(() => attachV86({}, a2.hw)).toThrow(/not a loaded v86/);
  }, 60_000);

  it('holds an interrupt raised inside a guest MMIO access until v86 is between instructions; delivers at once elsewhere', async () => {
    const { e, cpu, io } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    const ep = emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    const a = attachV86(e, emu.hw);
    cfgWrite(io, ep.devfn, 0x10, 0xfe000000); // BAR0, mem32
    cfgWrite(io, ep.devfn, 0x14, 0xc100); // BAR1, I/O
    cfgWrite(io, ep.devfn, 0x04, 0x0007);
    // a doorbell: any write to the endpoint's BARs sends an MSI, as a device kicking a queue would
    const mmioWrite = emu.hw.mmioWrite.bind(emu.hw);
    const ioWrite = emu.hw.ioWrite.bind(emu.hw);
    emu.hw.mmioWrite = (addr: number, size: 1 | 2 | 4, v: number) => {
      mmioWrite(addr, size, v);
      emu.hw.interrupts.msi(0xfee00000, 0, 0x41, ep);
    };
    emu.hw.ioWrite = (port: number, size: 1 | 2 | 4, v: number) => {
      ioWrite(port, size, v);
      emu.hw.interrupts.msi(0xfee00000, 0, 0x42, ep);
    };
    const icr: number[] = [];
    const write32 = cpu.write32.bind(cpu);
    cpu.write32 = (addr: number, v: number) => {
      if (addr === 0xfee00300) icr.push(v);
      write32(addr, v);
    };
    let irqChecks = 0;
    const handleIrqs = cpu.handle_irqs.bind(cpu);
    cpu.handle_irqs = () => {
      irqChecks++;
      handleIrqs();
    };
    // v86's struct Apic: IRR from dword 16, TMR from dword 32
    const apic = () => new Int32Array(cpu.wasm_memory.buffer, (cpu as unknown as { get_apic_addr(): number }).get_apic_addr(), 46);
    const pending = (v: number) => (apic()[16 + (v >> 5)] >>> (v & 31)) & 1;
    const counter = cpu.instruction_counter[0];
    cpu.memory_map_write32[0xfe000000 >>> 17](0xfe000000 | 0, 1);
    // inside the MOV: the MSI is latched in the IRR (edge: TMR clear) and no interrupt is entered;
    // the main loop is told to end its slice
    expect(a.stats.msi).toBe(1);
    expect(pending(0x41)).toBe(1);
    expect((apic()[32 + 2] >>> 1) & 1).toBe(0);
    expect(icr).toEqual([]);
    expect(irqChecks).toBe(0);
    expect((cpu.instruction_counter[0] - counter) >>> 0).toBe(100_003);
    // a second identical message while the first is pending is the same IRR bit
    cpu.memory_map_write32[0xfe000000 >>> 17](0xfe000000 | 0, 1);
    expect(pending(0x41)).toBe(1);
    // an OUT ends v86's compiled block, and outside any access nothing is running: both at once
    io.port_write32(0xc100, 1);
    expect(icr).toEqual([0x42]);
    emu.hw.interrupts.msi(0xfee00000, 0, 0x43, ep);
    expect(icr).toEqual([0x42, 0x43]);
    expect(irqChecks).toBeGreaterThan(0);
    a.detach();
  }, 60_000);

  it('ends v86\'s pass early for an MSI latched in an MMIO access only while the slice is young', async () => {
    const { e, cpu, io } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    const ep = emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    // v86's slice, played by a stand-in on a clock of the test's own: the guest's doorbell comes
    // `lateMs` into it
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    let lateMs = 0;
    let bump = -1;
    cpu.main_loop = () => {
      clock += lateMs;
      const c = cpu.instruction_counter[0];
      cpu.memory_map_write32[0xfe000000 >>> 17](0xfe000000 | 0, 1);
      bump = (cpu.instruction_counter[0] - c) >>> 0;
      return 0;
    };
    const standIn = cpu.main_loop;
    const a = attachV86(e, emu.hw);
    cfgWrite(io, ep.devfn, 0x10, 0xfe000000);
    cfgWrite(io, ep.devfn, 0x04, 0x0006);
    const mmioWrite = emu.hw.mmioWrite.bind(emu.hw);
    emu.hw.mmioWrite = (addr: number, size: 1 | 2 | 4, v: number) => {
      mmioWrite(addr, size, v);
      emu.hw.interrupts.msi(0xfee00000, 0, 0x41, ep);
    };
    const irr = () => new Int32Array(cpu.wasm_memory.buffer, (cpu as unknown as { get_apic_addr(): number }).get_apic_addr(), 46);
    const pending = () => (irr()[16 + 2] >>> 1) & 1;
    // early in the slice: the pass ends after the current block, v86 checks for interrupts then
    cpu.main_loop();
    expect(pending()).toBe(1);
    expect(bump).toBe(100_003);
    irr()[16 + 2] &= ~2;
    // past v86's TIME_PER_FRAME, ending the pass would hand the slice back to the event loop: the
    // MSI waits in the IRR for v86's next interrupt check instead
    lateMs = 1.5;
    cpu.main_loop();
    expect(pending()).toBe(1);
    expect(bump).toBe(0);
    // v86's wasm memory grows (its old buffer is detached): the adapter's views follow
    irr()[16 + 2] &= ~2;
    cpu.wasm_memory.grow(1);
    lateMs = 0;
    cpu.main_loop();
    expect(pending()).toBe(1);
    expect(bump).toBe(100_003);
    expect(a.stats.msi).toBe(3);
    a.detach();
    expect(cpu.main_loop).toBe(standIn);
  }, 60_000);

  it('v86GuestMemory follows v86\'s wasm memory when it grows', async () => {
    const { e, cpu } = await loaded();
    const offset = cpu.mem8.byteOffset;
    const mem = v86GuestMemory(e);
    const ram = () => new Uint8Array(cpu.wasm_memory.buffer, offset, 0x2000);
    ram()[0x1000] = 0x5a;
    expect(mem.bytes[0x1000]).toBe(0x5a);
    const before = mem.size;
    cpu.wasm_memory.grow(1);
    ram()[0x1001] = 0xa5;
    expect(mem.bytes[0x1000]).toBe(0x5a);
    expect(mem.view.getUint8(0x1001)).toBe(0xa5);
    expect(mem.size).toBe(before);
    mem.bytes[0x1002] = 0x77;
    expect(ram()[0x1002]).toBe(0x77);
  }, 60_000);

  it('device writes into v86GuestMemory drop what v86\'s JIT compiled for those pages, as its own devices\' writes do', async () => {
    const { e, cpu } = await loaded();
    const dirtied: [number, number][] = [];
    const jitDirty = cpu.jit_dirty_cache!.bind(cpu);
    cpu.jit_dirty_cache = (start: number, end: number) => {
      dirtied.push([start, end]);
      jitDirty(start, end);
    };
    const memory = v86GuestMemory(e);
    const emu = await createEmulator({ memory });
    const ep = emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    const dma = deviceDma(ep);
    expect(dma.writeFrom(0x3ffe, new Uint8Array(8).fill(0x90), 0, 8)).toBe(true);
    expect(dma.setU32(0x5000, 0x1234)).toBe(true);
    dma.setU16(0x5004, 1);
    expect(dirtied).toEqual([
      [0x3ffe, 0x4006],
      [0x5000, 0x5004],
      [0x5004, 0x5006],
    ]);
    // a read, or a write the memory cannot take, dirties nothing
    dirtied.length = 0;
    dma.u32(0x5000);
    expect(dma.writeFrom(memory.size - 2, new Uint8Array(4), 0, 4)).toBe(false);
    expect(dirtied).toEqual([]);
    expect(memory.readU32(0x5000)).toBe(0x1234);
  }, 60_000);

  it('attachStackScenario puts assigned functions in the slots v86\'s own devices leave free, and says when there are too few', async () => {
    const { e, io } = await loaded();
    const sc = await attachStackScenario(e, { vfs: 4, assignVfs: 4 });
    // v86's VGA is 00:12.0
    expect(sc.assigned.map((a) => a.guestBdf)).toEqual(['0000:00:10.0', '0000:00:11.0', '0000:00:13.0', '0000:00:14.0']);
    for (const a of sc.assigned) expect(cfgRead(io, Number.parseInt(a.guestBdf.slice(8, 10), 16) << 3, 0) & 0xffff).toBe(0x1af4);
    expect(cfgRead(io, 0x12 << 3, 0)).not.toBe(0xffffffff);
    expect(cfgRead(io, 0x12 << 3, 0) & 0xffff).not.toBe(0x1af4);
    sc.attachment.detach();
    sc.vmm.close();
    const { e: e2 } = await loaded();
    await expect(attachStackScenario(e2, { vfs: 16, assignVfs: 16 })).rejects.toThrow(/16 functions to assign but only 14 guest slots/);
  }, 60_000);

  it('holds an INTx line change made inside a guest MMIO access until the main loop runs its timers', async () => {
    const { e, cpu, io } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    const ep = emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    const a = attachV86(e, emu.hw, { msi: false });
    cfgWrite(io, ep.devfn, 0x10, 0xfe000000);
    cfgWrite(io, ep.devfn, 0x04, 0x0002);
    // the guest routes PIRQ lines as SeaBIOS does (PIIX3 0x60-0x63)
    for (let i = 0; i < 4; i++) cpu.devices.pci.isa_bridge_space8[0x60 + i] = [10, 11, 10, 11][i];
    const raised: number[] = [];
    const raise = cpu.device_raise_irq.bind(cpu);
    cpu.device_raise_irq = (irq: number) => {
      raised.push(irq);
      raise(irq);
    };
    const mmioWrite = emu.hw.mmioWrite.bind(emu.hw);
    emu.hw.mmioWrite = (addr: number, size: 1 | 2 | 4, v: number) => {
      mmioWrite(addr, size, v);
      emu.hw.interrupts.intx(ep, true);
    };
    cpu.memory_map_write32[0xfe000000 >>> 17](0xfe000000 | 0, 1);
    expect(a.stats.intx).toBe(1);
    expect(raised).toEqual([]);
    cpu.run_hardware_timers(1, performance.now());
    expect(raised.length).toBe(1);
    a.detach();
  }, 60_000);

  it('refuses MSI on a v86 without a local APIC, and drops messages with a log line when MSI is off', async () => {
    const { e } = await loaded(false);
    const emu = await createEmulator({ memoryBytes: 1 << 20 });
    const ep = emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    expect(() => attachV86(e, emu.hw, { msi: true })).toThrow(/no local APIC.*acpi: true/);
    const logs: string[] = [];
    const a = attachV86(e, emu.hw, { log: (l) => logs.push(l) });
    emu.hw.interrupts.msi(0xfee00000, 0, 0x41, ep);
    emu.hw.interrupts.msi(0xfee00000, 0, 0x41, ep);
    expect(logs).toEqual([expect.stringMatching(/0000:00:11\.0 sent an MSI but MSI delivery is off/)]);
    expect(a.stats.msi).toBe(0);
    a.detach();
  }, 60_000);

  it('contains a guest\'s bad input: a BAR over RAM is logged, config writes to absent devfns are dropped', async () => {
    const { e, cpu, io } = await loaded();
    const emu = await createEmulator({ memory: v86GuestMemory(e) });
    const ep = emu.hw.addEndpoint('0000:00:11.0', GENERIC_ENDPOINT);
    const logs: string[] = [];
    const a = attachV86(e, emu.hw, { log: (l) => logs.push(l) });
    const ram = cpu.memory_map_read8[0x100000 >>> 17];
    cfgWrite(io, ep.devfn, 0x10, 0x00100000);
    cfgWrite(io, ep.devfn, 0x04, 0x0002);
    expect(logs.some((l) => /over RAM at 0x100000/.test(l))).toBe(true);
    expect(cpu.memory_map_read8[0x100000 >>> 17]).toBe(ram);
    // random config cycles anywhere pcisim answers or nobody does: nothing throws, v86's own
    // devices' config spaces stay as they were
    const pci = cpu.devices.pci;
    const own = pci.device_spaces.map((s) => (s ? [...s] : null));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(1, 2, 4), fc.integer({ min: 0, max: 0xffffffff }), (bus, slotPick, reg, size, value) => {
        const devfn = bus === 0 ? [0x11 << 3, 0x13 << 3, 0x1f << 3, 0xf8][slotPick] : slotPick << 3;
        io.port_write32(0xcf8, cf8(devfn, reg & 0xfc, bus));
        const port = 0xcfc + (reg & (4 - size));
        const ports = cpu.io.ports[port];
        if (size === 1) ports.write8.call(ports.device, value & 0xff);
        else if (size === 2) ports.write16.call(ports.device, value & 0xffff);
        else ports.write32.call(ports.device, value | 0);
        const r = size === 4 ? ports.read32.call(ports.device, port) >>> 0 : size === 2 ? ports.read16.call(ports.device, port) : ports.read8.call(ports.device, port);
        expect(Number.isInteger(r)).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(pci.device_spaces.map((s) => (s ? [...s] : null))).toEqual(own);
    a.detach();
  }, 60_000);
});
