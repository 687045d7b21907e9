import { MigrationError } from './vfioMigration.js';

// The VMM's own state of one assigned device, as QEMU's vfio-pci config section carries it: the
// emulated config bytes (BARs, ROM BAR, Interrupt Line, MSI, MSI-X Message Control, ...), the guest
// registers that live in the device file (Command, cache line size, PCIe Device Control), the
// MSI-X table and PBA, which vectors were wired on the host, and whether INTx was held asserted
// waiting for the guest's EOI. Little-endian:
//
//   0x00 u32  version (1)
//   0x04 u16  config size (256 or 4096)
//   0x06 u16  MSI-X vectors (0: none)
//   0x08 u16  Command
//   0x0a u8   cache line size
//   0x0b u8   flags: bit 0 INTx asserted
//   0x0c u16  PCIe Device Control
//   0x0e u16  MSI-X vectors set up on the host (0: MSI-X off there)
//   0x10      emulated config bytes [config size]
//             MSI-X table [vectors * 16]
//             PBA [ceil(vectors / 64) * 8]
//             wired bitmap [ceil(vectors / 8)]

export const VMM_STATE_VERSION = 1;
const FIXED = 0x10;

export interface VmmDeviceState {
  configSize: number;
  emulated: Uint8Array;
  command: number;
  cacheLine: number;
  devctl: number;
  intxAsserted: boolean;
  msixTable: Uint32Array | null;
  msixPba: Uint32Array | null;
  msixWired: boolean[];
  msixHostVectors: number;
}

function sizes(configSize: number, vectors: number) {
  const table = vectors * 16;
  const pba = Math.ceil(vectors / 64) * 8;
  const wired = Math.ceil(vectors / 8);
  return { table, pba, wired, total: FIXED + configSize + table + pba + wired };
}

export function encodeVmmDeviceState(s: VmmDeviceState): Uint8Array {
  const vectors = s.msixTable ? s.msixTable.length / 4 : 0;
  const z = sizes(s.configSize, vectors);
  const out = new Uint8Array(z.total);
  const v = new DataView(out.buffer);
  v.setUint32(0, VMM_STATE_VERSION, true);
  v.setUint16(4, s.configSize, true);
  v.setUint16(6, vectors, true);
  v.setUint16(8, s.command, true);
  v.setUint8(0xa, s.cacheLine);
  v.setUint8(0xb, s.intxAsserted ? 1 : 0);
  v.setUint16(0xc, s.devctl, true);
  v.setUint16(0xe, s.msixHostVectors, true);
  out.set(s.emulated.subarray(0, s.configSize), FIXED);
  let at = FIXED + s.configSize;
  if (s.msixTable && s.msixPba) {
    out.set(new Uint8Array(s.msixTable.buffer, s.msixTable.byteOffset, z.table), at);
    at += z.table;
    out.set(new Uint8Array(s.msixPba.buffer, s.msixPba.byteOffset, Math.min(z.pba, s.msixPba.byteLength)), at);
    at += z.pba;
    s.msixWired.forEach((w, i) => {
      if (w) out[at + (i >> 3)] |= 1 << (i & 7);
    });
  }
  return out;
}

/**
 * Parses and checks a state against the destination device (its config size and MSI-X vector
 * count must match the source's): a MigrationError otherwise, with nothing applied.
 */
export function decodeVmmDeviceState(bytes: Uint8Array, expect: { configSize: number; msixVectors: number }, who: string): VmmDeviceState {
  const bad = (m: string) => new MigrationError(`${who}: VMM state: ${m}`, who);
  if (bytes.length < FIXED) throw bad(`${bytes.length} bytes`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(0, true);
  if (version !== VMM_STATE_VERSION) throw bad(`version ${version}, expected ${VMM_STATE_VERSION}`);
  const configSize = v.getUint16(4, true);
  const vectors = v.getUint16(6, true);
  if (configSize !== expect.configSize) throw bad(`config size ${configSize}, this device has ${expect.configSize}`);
  if (vectors !== expect.msixVectors) throw bad(`${vectors} MSI-X vectors, this device has ${expect.msixVectors}`);
  const z = sizes(configSize, vectors);
  if (bytes.length !== z.total) throw bad(`${bytes.length} bytes, expected ${z.total}`);
  const flags = v.getUint8(0xb);
  if (flags & ~1) throw bad(`unknown flags 0x${flags.toString(16)}`);
  const hostVectors = v.getUint16(0xe, true);
  if (hostVectors > vectors) throw bad(`${hostVectors} MSI-X vectors set up of ${vectors}`);
  let at = FIXED;
  const emulated = bytes.slice(at, at + configSize);
  at += configSize;
  let msixTable: Uint32Array | null = null;
  let msixPba: Uint32Array | null = null;
  const msixWired: boolean[] = [];
  if (vectors > 0) {
    msixTable = new Uint32Array(bytes.slice(at, at + z.table).buffer);
    at += z.table;
    const pbaWords = Math.ceil(vectors / 32) + (Math.ceil(vectors / 32) & 1);
    msixPba = new Uint32Array(pbaWords);
    new Uint8Array(msixPba.buffer).set(bytes.subarray(at, at + z.pba));
    at += z.pba;
    for (let i = 0; i < vectors; i++) {
      const w = ((bytes[at + (i >> 3)] >> (i & 7)) & 1) === 1;
      if (w && i >= hostVectors) throw bad(`vector ${i} wired beyond the ${hostVectors} set up`);
      msixWired.push(w);
    }
    for (let i = vectors; i < z.wired * 8; i++) if ((bytes[at + (i >> 3)] >> (i & 7)) & 1) throw bad(`wired bit ${i} beyond ${vectors} vectors`);
  }
  return {
    configSize, emulated, command: v.getUint16(8, true), cacheLine: v.getUint8(0xa), devctl: v.getUint16(0xc, true),
    intxAsserted: (flags & 1) !== 0, msixTable, msixPba, msixWired, msixHostVectors: hostVectors,
  };
}
