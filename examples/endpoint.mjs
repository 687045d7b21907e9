// An endpoint described by a spec: BAR sizing and programming through config writes, then an MSI-X
// message raised by the device and seen by an interrupt sink. Run: node examples/endpoint.mjs
import assert from 'node:assert/strict';
import { createEmulator, InterruptLog } from 'pcisim';

const emu = await createEmulator({ memoryBytes: 1 << 20 });
const nic = emu.hw.addEndpoint('00:03.0', {
  vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x20000 }, null, { kind: 'io', size: 32 }, { kind: 'mem64', size: 0x4000 }, null],
  capabilities: [
    { id: 'pm' },
    { id: 'msix', vectors: 5, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x2000 },
    { id: 'pcie', flr: true },
  ],
  extendedCapabilities: [{ id: 'aer' }],
});
assert.equal(nic.bdf, '0000:00:03.0'); // the short form means domain 0000

// BAR sizing, as firmware does it: write all-ones, read back ~(size - 1) | flags
emu.hw.configWrite(nic.bdf, 0x10, 4, 0xffffffff);
assert.equal(emu.hw.configRead(nic.bdf, 0x10, 4), 0xfffe0000);

// program BAR3 (64-bit) and turn on memory decode and bus mastering
const log = new InterruptLog();
emu.hw.setInterruptSink(log);
emu.hw.configWrite(nic.bdf, 0x1c, 4, 0xe0000000);
emu.hw.configWrite(nic.bdf, 0x20, 4, 0);
emu.hw.configWrite(nic.bdf, 0x04, 2, 0x0006);

// MSI-X entry 0 through the BAR, then enable MSI-X (Message Control bit 15)
emu.hw.mmioWrite(0xe0000000, 4, 0xfee00000); // message address
emu.hw.mmioWrite(0xe0000004, 4, 0);
emu.hw.mmioWrite(0xe0000008, 4, 0x41); // message data
emu.hw.mmioWrite(0xe000000c, 4, 0); // unmask
const msix = findCapability(emu, nic.bdf, 0x11);
emu.hw.configWrite(nic.bdf, msix + 2, 2, 0x8000);

nic.raiseMsix(0);
assert.deepEqual(log.messages, [{ addressLo: 0xfee00000, addressHi: 0, data: 0x41, source: '0000:00:03.0' }]);
console.log(`ok: ${nic.bdf} BAR0 sized 128 KiB, MSI-X vector 0 -> write ${log.messages[0].data.toString(16)} to ${log.messages[0].addressLo.toString(16)}`);

/** Walks the capability list (Status bit 4, pointer at 0x34) to the capability with this ID. */
function findCapability(emu, bdf, id) {
  for (let p = emu.hw.configRead(bdf, 0x34, 1); p !== 0; p = emu.hw.configRead(bdf, p + 1, 1)) {
    if (emu.hw.configRead(bdf, p, 1) === id) return p;
  }
  throw new Error(`no capability ${id}`);
}
