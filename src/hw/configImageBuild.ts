// Builds a function from a config image. The header and the BARs go through buildEndpointConfig
// (its masks: Command, Status, cache line, interrupt line, BAR sizing, the ROM); then every byte takes
// the image's value, and each capability this code recognises gets the masks and event classes its
// builder in capabilities/* gives it, placed at the image's offset instead of the next free one.
// Everything else (vendor-specific and unknown capabilities, bytes between them) is read-only.
import { L } from '../core/wasm.js';
import type { Core } from '../core/wasm.js';
import { buildAer } from './capabilities/aer.js';
import { buildMsi } from './capabilities/msi.js';
import { buildMsix } from './capabilities/msix.js';
import { buildPcie } from './capabilities/pcie.js';
import { buildPm } from './capabilities/pm.js';
import { ConfigBuilder } from './configBuilder.js';
import type { ImageLayout } from './configImage.js';
import { decodeConfigImage } from './configImage.js';
import type { EndpointLayout } from './endpointConfig.js';
import {
  PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR, PCI_LATENCY_TIMER, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_MASKBIT, PCI_MSIX_FLAGS_QSIZE,
  PCI_PM_CAP_PME_MASK, PCI_PM_CTRL_NO_SOFT_RESET,
} from './pciRegs.js';
import type { ConfigImageSpec, EndpointSpec } from './spec.js';
import { hex } from './spec.js';

/**
 * A ConfigBuilder whose capability builders keep the image: the capability lands where the image has
 * it (the chain is already in the image), register values stay the image's, and only the masks and
 * events are taken. Registers past the capability's real length (a v2 register in a v1 PCIe
 * capability) are not the capability's and are left alone.
 */
class ImageBuilder extends ConfigBuilder {
  private at = -1;
  private end = 0;

  constructor(core: Core, slot: number, private readonly img: Uint8Array) {
    super(core, slot);
  }

  /** The next capability a builder adds is the one at `off`, `length` bytes long. */
  place(off: number, length: number): void {
    this.at = off;
    this.end = off + length;
  }

  override addCapability(): number {
    return this.at;
  }

  override addExtCapability(): number {
    return this.at;
  }

  override reg(off: number, size: 1 | 2 | 3 | 4, _value: number, writable = 0, w1c = 0, events = 0): void {
    if (off < this.at || off + size > this.end) return;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.img[off + i] ?? 0) << (8 * i);
    super.reg(off, size, v >>> 0, writable, w1c, events);
  }
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** BAR and ROM registers: their masks come from the sizes, never from a user mask. */
const isBarByte = (i: number) => (i >= 0x10 && i < 0x28) || (i >= 0x30 && i < 0x34);

function applyImage(core: Core, slot: number, d: ImageLayout, spec: ConfigImageSpec, layout: EndpointLayout): void {
  const img = d.image;
  const base = core.mem.base(slot);
  const u8 = core.mem.u8;
  // past the header nothing is writable or has side effects until a capability says so
  u8.fill(0, base + L.WMASK + 0x40, base + L.WMASK + L.CFG_SIZE);
  u8.fill(0, base + L.W1C + 0x40, base + L.W1C + L.CFG_SIZE);
  u8.fill(0, base + L.EVMAP + 0x40, base + L.EVMAP + L.CFG_SIZE);
  for (let i = 0; i < L.CFG_SIZE; i++) u8[base + L.CFG + i] = i < img.length ? img[i] : 0;

  const b = new ImageBuilder(core, slot, img);
  if (d.caps.some((c) => c.kind === 'pcie')) u8[base + L.WMASK + PCI_LATENCY_TIMER] = 0; // hardwired 0 on PCIe
  for (const c of d.caps) {
    const field = `configImage: ${c.kind} capability at ${hex(c.offset, 2)}`;
    const o = c.offset;
    b.place(o, c.length);
    switch (c.kind) {
      case 'pm':
        buildPm(b, (u16(img, o + 4) & PCI_PM_CTRL_NO_SOFT_RESET) !== 0, field, (u16(img, o + 2) & PCI_PM_CAP_PME_MASK) !== 0);
        break;
      case 'msi': {
        const flags = u16(img, o + 2);
        buildMsi(b, 1 << ((flags >>> 1) & 7), (flags & PCI_MSI_FLAGS_64BIT) !== 0, (flags & PCI_MSI_FLAGS_MASKBIT) !== 0, field);
        break;
      }
      case 'msix': {
        const vectors = (u16(img, o + 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
        const table = u32(img, o + 4);
        const pba = u32(img, o + 8);
        const m = { vectors, tableBar: table & 7, tableOffset: (table & ~7) >>> 0, pbaBar: pba & 7, pbaOffset: (pba & ~7) >>> 0 };
        buildMsix(b, m, layout.bars, field);
        layout.msix = {
          tableBar: m.tableBar, tableOffset: m.tableOffset, tableBytes: vectors * 16,
          pbaBar: m.pbaBar, pbaOffset: m.pbaOffset, pbaBytes: Math.ceil(vectors / 64) * 8,
        };
        break;
      }
      case 'pcie':
        buildPcie(b, (u32(img, o + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) !== 0, (u16(img, o + 2) >>> 4) & 0xf, field);
        break;
      default:
        break; // vendor-specific or unknown: read-only bytes
    }
    layout.caps.push({ id: c.kind === 'other' ? hex(c.id, 2) : c.kind, offset: o });
  }
  for (const c of d.extCaps) {
    b.place(c.offset, c.length);
    if (c.kind === 'aer') buildAer(b);
    layout.extCaps.push({ id: c.kind === 'aer' ? 'aer' : hex(c.id, 4), offset: c.offset });
  }
  for (let i = 0; i < img.length; i++) {
    if (isBarByte(i)) continue;
    if (spec.writableMask) u8[base + L.WMASK + i] = spec.writableMask[i];
    if (spec.rw1cMask) u8[base + L.W1C + i] = spec.rw1cMask[i];
  }
}

/**
 * What Hardware.addFunction needs to build a clone: the EndpointSpec of its header and BARs, and the
 * step that lays the image and the capability masks over it before the power-on image is taken.
 */
export function prepareConfigImage(spec: ConfigImageSpec): {
  spec: EndpointSpec;
  extra: (b: ConfigBuilder, layout: EndpointLayout) => void;
} {
  const d = decodeConfigImage(spec);
  return {
    spec: {
      vendorId: d.vendorId,
      deviceId: d.deviceId,
      classCode: d.classCode,
      revision: d.revision,
      subsystemVendorId: d.subsystemVendorId,
      subsystemId: d.subsystemId,
      interruptPin: d.interruptPin,
      bars: d.bars,
      romSize: d.romSize,
    },
    extra: (b, layout) => applyImage(b.core, b.slot, d, spec, layout),
  };
}

/** Whether addEndpoint was given a config image rather than an EndpointSpec. */
export function isConfigImageSpec(spec: unknown): spec is ConfigImageSpec {
  return spec !== null && typeof spec === 'object' && 'configImage' in spec;
}
