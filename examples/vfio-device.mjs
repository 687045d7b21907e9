// The host kernel and a vfio device file, as a VMM uses them: bind vfio-pci to a function, open its
// device file, ask VFIO_DEVICE_GET_INFO with the uapi's bytes, read config space through the config
// region and see the kernel's answer to a bad request. Run: node examples/vfio-device.mjs
import assert from 'node:assert/strict';
import { createEmulator, isVfioError, VFIO } from 'pcisim';

const emu = await createEmulator({ memoryBytes: 1 << 20 });
const fn = emu.hw.addEndpoint('0000:00:02.0', {
  vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000,
  bars: [{ kind: 'mem32', size: 0x20000 }], capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 1 }, { id: 'pcie' }],
});

assert.equal(emu.host.modalias(fn.bdf), 'pci:v00008086d000010D3sv00000000sd00000000bc02sc00i00');
assert.equal(emu.host.bind(fn.bdf), 'vfio-pci'); // no better vfio_pci: alias than the generic driver's
const file = emu.host.openDevice(fn.bdf);

// struct vfio_device_info { u32 argsz, flags, num_regions, num_irqs, cap_offset, pad }
const info = new Uint8Array(24);
const view = new DataView(info.buffer);
view.setUint32(0, info.length, true);
assert.equal(file.ioctl(VFIO.DEVICE_GET_INFO, info), 0);
assert.ok(view.getUint32(4, true) & VFIO.DEVICE_FLAGS_PCI);
const numRegions = view.getUint32(8, true);
assert.ok(numRegions > VFIO.PCI_CONFIG_REGION_INDEX);

// config space through region 7 (offset = index << 40 | offset within the region)
const config = BigInt(VFIO.PCI_CONFIG_REGION_INDEX) << 40n;
const ids = file.read(config, 4);
assert.deepEqual([...ids], [0x86, 0x80, 0xd3, 0x10]); // little-endian vendor and device IDs

// the kernel's answer to a struct too short for the ioctl: EINVAL, nothing written
view.setUint32(0, 8, true);
assert.throws(() => file.ioctl(VFIO.DEVICE_GET_INFO, info), (e) => isVfioError(e, 'EINVAL') && e.errno === 22);

file.close();
console.log(`ok: ${fn.bdf} bound to vfio-pci, ${numRegions} regions, vendor 8086 through the config region`);
