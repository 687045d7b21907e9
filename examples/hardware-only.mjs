// pcisim/hw alone, as a hardware-only page bundles it (no host kernel, VMM or guest): a bridge and
// an endpoint behind it, found through config mechanism #1 (ports 0xCF8/0xCFC) the way firmware
// scans. Run: node examples/hardware-only.mjs
import assert from 'node:assert/strict';
import { cf8Address, Hardware } from 'pcisim/hw';

const hw = new Hardware({ memoryBytes: 1 << 20 });
hw.addBridge('00:1c.0', { secondaryBus: 1 });
hw.addEndpoint('01:00.0', { vendorId: 0x1b36, deviceId: 0x0010, classCode: 0x010802, bars: [{ kind: 'mem64', size: 0x4000 }, null] });

/** A config dword through CF8/CFC, as a CPU reads it. */
function cf8Read(bus, device, fn, reg) {
  hw.ioWrite(0xcf8, 4, cf8Address(bus, device, fn, reg));
  return hw.ioRead(0xcfc, 4);
}

const found = [];
for (const bus of [0, 1]) {
  for (let device = 0; device < 32; device++) {
    const id = cf8Read(bus, device, 0, 0);
    if (id !== 0xffffffff) found.push(`${bus.toString(16).padStart(2, '0')}:${device.toString(16).padStart(2, '0')}.0 ${(id & 0xffff).toString(16)}:${(id >>> 16).toString(16).padStart(4, '0')}`);
  }
}
assert.deepEqual(found, ['00:1c.0 1b36:000c', '01:00.0 1b36:0010']);
assert.equal(cf8Read(0, 0x1c, 0, 0x18) & 0xffffff, 0x010100); // bridge: primary 0, secondary 1, subordinate 1
console.log(`ok: ${found.join(', ')}`);
