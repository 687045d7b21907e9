// The stack drawn from live state, one layer a row: the host's PCI hardware (functions and the
// BARs the host kernel assigned), the host kernel's drivers (vfio variants included), the VMM's
// assignments, and what Linux in v86 sees (read from its sysfs).
import type { DemoState } from './main.js';

/** One PCI function as the guest's sysfs shows it. */
export interface GuestPciView {
  bdf: string;
  vendor: number;
  device: number;
  driver: string | null;
  /** "BAR0 io 0xc000 [32]" */
  bars: string[];
}

const hx = (n: number, w = 4) => n.toString(16).padStart(w, '0');
const short = (bdf: string) => bdf.replace(/^0000:/, '');

export function sizeText(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n >> 10}K`;
  return String(n);
}

function el(tag: string, cls: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function box(title: string, lines: { b: string; drv?: string | null; bars?: string[]; cls?: string; id?: string }[]): HTMLElement {
  const layer = el('div', 'layer');
  layer.append(el('div', 'title', title));
  const items = el('div', 'items');
  for (const l of lines) {
    const d = el('div', `dev ${l.cls ?? ''}`);
    if (l.id) d.dataset.bdf = l.id;
    d.append(el('b', '', l.b));
    if (l.drv !== undefined) d.append(' ', el('span', 'drv', l.drv ?? '(no driver)'));
    for (const bar of l.bars ?? []) d.append(el('span', 'bar', bar));
    items.append(d);
  }
  if (lines.length === 0) items.append(el('span', 'dev', '—'));
  layer.append(items);
  return layer;
}

export function renderStack(root: HTMLElement, s: DemoState): void {
  const { emu } = s;
  const fns = emu.hw.functions();
  const hwLines = fns.map((f) => {
    const dev = emu.host.pciDev(f.bdf);
    const bars = dev.resources
      .map((r, i) => (r && r.start !== null ? `${i === 6 ? 'ROM' : `BAR${i}`} ${r.kind} 0x${r.start.toString(16)} [${sizeText(r.size)}]` : null))
      .filter((x): x is string => x !== null);
    return { b: `${short(f.bdf)} ${hx(f.vendorId)}:${hx(f.deviceId)}${f.isVirtfn ? ' VF' : ''}`, bars, cls: `${f.isVirtfn ? 'vf' : ''} ${s.fresh.has(f.bdf) ? 'new' : ''}`, id: f.bdf };
  });
  const drvLines = fns.map((f) => {
    const dev = emu.host.pciDev(f.bdf);
    const vfs = dev.sriov ? ` sriov_numvfs=${dev.sriov.numVfs}/${dev.sriov.totalVfs}` : '';
    const open = s.assigned.has(f.bdf) ? ' (vfio fd open)' : '';
    return { b: short(f.bdf), drv: `${dev.driver?.name ?? '(no driver)'}${vfs}${open}`, cls: f.isVirtfn ? 'vf' : '', id: f.bdf };
  });
  const vmmLines = [...s.assigned].map(([host, guest]) => ({ b: `guest ${short(guest)} <- host ${short(host)}`, drv: 'vfio-pci device', id: guest }));
  const assignedGuest = new Set(s.assigned.values());
  const guestLines = (s.guestPci ?? [])
    .filter((g) => assignedGuest.has(g.bdf) || g.vendor === 0x1af4)
    .map((g) => ({ b: `${short(g.bdf)} ${hx(g.vendor)}:${hx(g.device)}`, drv: g.driver, bars: g.bars, id: g.bdf }));
  const others = (s.guestPci ?? []).filter((g) => !(assignedGuest.has(g.bdf) || g.vendor === 0x1af4)).length;
  root.replaceChildren(
    box('host hardware (src/hw): functions and the BARs the host assigned', hwLines),
    el('div', 'arrow', '▼ config cycles, MMIO, port I/O'),
    box('host kernel (src/host): bound drivers, vfio', drvLines),
    el('div', 'arrow', '▼ vfio device files (ioctl, read/write, eventfds)'),
    box('VMM (src/vmm): assigned devices', vmmLines),
    el('div', 'arrow', '▼ v86 adapter: config cycles, BARs, MSI-X to the LAPIC'),
    box(
      s.guestPci ? `guest: Linux in v86 (its sysfs; ${others} v86 devices not shown)` : 'guest: Linux in v86 (booting…)',
      guestLines,
    ),
  );
}
