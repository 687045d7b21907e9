/**
 * A minimal PCI expansion ROM image: the 0x55AA header with a pointer to a "PCIR" data structure
 * naming the function (PCI Firmware 3.0, 5.1). Enough for an enumerator to recognise the ROM.
 */
export function buildOptionRom(size: number, vendorId: number, deviceId: number, classCode: number): Uint8Array {
  const rom = new Uint8Array(size);
  const v = new DataView(rom.buffer);
  rom[0] = 0x55;
  rom[1] = 0xaa;
  rom[2] = Math.min(0xff, size / 512); // image length in 512-byte units
  v.setUint16(0x18, 0x1c, true); // pointer to the PCI data structure
  const p = 0x1c;
  rom.set([0x50, 0x43, 0x49, 0x52], p); // "PCIR"
  v.setUint16(p + 4, vendorId, true);
  v.setUint16(p + 6, deviceId, true);
  v.setUint16(p + 10, 0x18, true); // structure length
  rom[p + 12] = 0; // revision
  rom[p + 13] = classCode & 0xff;
  rom[p + 14] = (classCode >> 8) & 0xff;
  rom[p + 15] = (classCode >> 16) & 0xff;
  v.setUint16(p + 16, Math.min(0xffff, size / 512), true); // image length
  rom[p + 20] = 0; // code type: x86
  rom[p + 21] = 0x80; // last image
  let sum = 0;
  for (let i = 0; i < Math.min(size, 512); i++) sum = (sum + rom[i]) & 0xff;
  rom[6] = (0x100 - sum) & 0xff; // checksum byte in the reserved area: first 512 bytes sum to 0
  return rom;
}
