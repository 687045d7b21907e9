import { L } from '../core/wasm.js';
import type { Core } from '../core/wasm.js';
import { buildAer } from './capabilities/aer.js';
import { buildDsn } from './capabilities/dsn.js';
import { buildMsi } from './capabilities/msi.js';
import { buildMsix } from './capabilities/msix.js';
import { buildPcie } from './capabilities/pcie.js';
import { buildPm } from './capabilities/pm.js';
import { buildVendor } from './capabilities/vendor.js';
import { ConfigBuilder } from './configBuilder.js';
import { setupBars, setupRom, validateBars } from './bars.js';
import type { MsixPlacement } from './pciFunction.js';
import {
  PCI_CACHE_LINE_SIZE, PCI_CLASS_PROG, PCI_COMMAND, PCI_DEVICE_ID, PCI_HEADER_TYPE, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN,
  PCI_LATENCY_TIMER, PCI_REVISION_ID, PCI_ROM_ADDRESS, PCI_STATUS, PCI_STATUS_ERROR_BITS, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from './pciRegs.js';
import type { BarSpec, EndpointSpec } from './spec.js';
import { checkInt } from './spec.js';

/** Command bits a type 0 function implements: IO, MEM, Bus Master, Parity Error Response, SERR#, INTx Disable. */
export const COMMAND_WRITABLE = 0x0547;

export interface EndpointLayout {
  bars: (BarSpec | null)[];
  msix: MsixPlacement | null;
  /** config offset of each capability in chain order, and of each extended capability */
  caps: { id: string; offset: number }[];
  extCaps: { id: string; offset: number }[];
}

/**
 * Writes a type 0 function's power-on config space from an EndpointSpec, validating it first; every
 * error names the field. Device models (virtio, SR-IOV) add their own capabilities through `extra`
 * before the image is committed.
 */
export function buildEndpointConfig(
  core: Core,
  slot: number,
  spec: EndpointSpec,
  extra?: (b: ConfigBuilder, layout: EndpointLayout) => void,
): EndpointLayout {
  if (spec === null || typeof spec !== 'object') throw new Error('spec must be an EndpointSpec object');
  const vendorId = checkInt(spec.vendorId, 0, 0xfffe, 'vendorId');
  const deviceId = checkInt(spec.deviceId, 0, 0xffff, 'deviceId');
  const classCode = checkInt(spec.classCode, 0, 0xffffff, 'classCode');
  const revision = checkInt(spec.revision ?? 0, 0, 0xff, 'revision');
  const subVendor = checkInt(spec.subsystemVendorId ?? 0, 0, 0xffff, 'subsystemVendorId');
  const subId = checkInt(spec.subsystemId ?? 0, 0, 0xffff, 'subsystemId');
  const pin = checkInt(spec.interruptPin ?? 0, 0, 4, 'interruptPin');
  const bars = validateBars(spec.bars);
  const caps = spec.capabilities ?? [];
  const extCaps = spec.extendedCapabilities ?? [];
  if (!Array.isArray(caps)) throw new Error('capabilities must be an array');
  if (!Array.isArray(extCaps)) throw new Error('extendedCapabilities must be an array');
  const isPcie = caps.some((c) => c && c.id === 'pcie');
  if (extCaps.length > 0 && !isPcie) throw new Error("extendedCapabilities need a 'pcie' capability (extended config space is PCI Express only)");
  const seen = new Set<string>();
  for (let i = 0; i < caps.length; i++) {
    const id = caps[i]?.id;
    if (id !== 'vendor' && seen.has(id)) throw new Error(`capabilities[${i}]: a second '${id}' capability is not allowed`);
    seen.add(id);
  }

  const b = new ConfigBuilder(core, slot);
  b.reg(PCI_VENDOR_ID, 2, vendorId);
  b.reg(PCI_DEVICE_ID, 2, deviceId);
  b.reg(PCI_COMMAND, 2, 0, COMMAND_WRITABLE, 0, L.EV_COMMAND);
  b.reg(PCI_STATUS, 2, 0, 0, PCI_STATUS_ERROR_BITS);
  b.reg(PCI_REVISION_ID, 1, revision);
  b.reg(PCI_CLASS_PROG, 3, classCode);
  b.reg(PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
  b.reg(PCI_LATENCY_TIMER, 1, 0, isPcie ? 0 : 0xff); // PCIe: hardwired 0
  b.reg(PCI_HEADER_TYPE, 1, 0);
  setupBars(b, bars);
  b.reg(PCI_SUBSYSTEM_VENDOR_ID, 2, subVendor);
  b.reg(PCI_SUBSYSTEM_ID, 2, subId);
  setupRom(b, spec.romSize, PCI_ROM_ADDRESS);
  b.reg(PCI_INTERRUPT_LINE, 1, 0, 0xff);
  b.reg(PCI_INTERRUPT_PIN, 1, pin);

  const layout: EndpointLayout = { bars, msix: null, caps: [], extCaps: [] };
  caps.forEach((c, i) => {
    const field = `capabilities[${i}]`;
    let off: number;
    switch (c?.id) {
      case 'pm':
        off = buildPm(b, !!c.noSoftReset, field, !!c.pme);
        break;
      case 'msi':
        off = buildMsi(b, c.vectors, !!c.is64, !!c.perVectorMask, field);
        break;
      case 'msix':
        off = buildMsix(b, c, bars, field);
        layout.msix = {
          tableBar: c.tableBar,
          tableOffset: c.tableOffset,
          tableBytes: c.vectors * 16,
          pbaBar: c.pbaBar,
          pbaOffset: c.pbaOffset,
          pbaBytes: Math.ceil(c.vectors / 64) * 8,
        };
        break;
      case 'pcie':
        off = buildPcie(b, !!c.flr, undefined, field);
        break;
      case 'vendor':
        off = buildVendor(b, c.length, c.data, field);
        break;
      default:
        throw new Error(`${field}.id must be 'pm', 'msi', 'msix', 'pcie' or 'vendor', got ${JSON.stringify((c as { id?: unknown })?.id)}`);
    }
    layout.caps.push({ id: c.id, offset: off });
  });
  extCaps.forEach((c, i) => {
    let off: number;
    switch (c?.id) {
      case 'aer':
        off = buildAer(b);
        break;
      case 'dsn':
        off = buildDsn(b, c.serial);
        break;
      default:
        throw new Error(`extendedCapabilities[${i}].id must be 'aer' or 'dsn', got ${JSON.stringify((c as { id?: unknown })?.id)}`);
    }
    layout.extCaps.push({ id: c.id, offset: off });
  });
  extra?.(b, layout);
  b.commit();
  return layout;
}
