import type { HostPciDev, PciCore } from './pciCore.js';
import type { PciDev, PciDevIdentity, PciDeviceId, PciDriver } from './pciDriver.js';
import { PCI_ANY_ID } from './pciDriver.js';
import { VfioError } from './vfio/vfioError.js';

const hex8 = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
const hex2 = (n: number) => (n & 0xff).toString(16).toUpperCase().padStart(2, '0');

/**
 * pci_device_id_any: what pci_match_device hands to probe when driver_override names the driver but
 * no entry of its id table matches the device.
 */
export const PCI_DEVICE_ID_ANY: Readonly<PciDeviceId> = Object.freeze({
  vendor: PCI_ANY_ID,
  device: PCI_ANY_ID,
  subvendor: PCI_ANY_ID,
  subdevice: PCI_ANY_ID,
  class: 0,
  classMask: 0,
  overrideOnly: false,
});

/** driver_set_override refuses a write of PAGE_SIZE - 1 bytes or more with EINVAL. */
const DRIVER_OVERRIDE_LIMIT = 4095;

/** The modalias of a device identity: "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X" (pci-sysfs.c). */
export function modaliasOf(id: PciDevIdentity): string {
  const c = id.class;
  return `pci:v${hex8(id.vendor)}d${hex8(id.device)}sv${hex8(id.subvendor)}sd${hex8(id.subdevice)}bc${hex2(c >>> 16)}sc${hex2(c >>> 8)}i${hex2(c)}`;
}

/** pci_match_one_device: every field equal or PCI_ANY_ID, and the class equal under the mask. */
export function pciMatchOneDevice(id: PciDeviceId, dev: PciDevIdentity): boolean {
  return (
    (id.vendor === PCI_ANY_ID || id.vendor === dev.vendor) &&
    (id.device === PCI_ANY_ID || id.device === dev.device) &&
    (id.subvendor === PCI_ANY_ID || id.subvendor === dev.subvendor) &&
    (id.subdevice === PCI_ANY_ID || id.subdevice === dev.subdevice) &&
    ((id.class ^ dev.class) & id.classMask) === 0
  );
}

/** The seven fields of a pci alias in order, true where the alias has `*`. */
function wildcardFields(id: PciDeviceId): boolean[] | null {
  const bcm = (id.classMask >>> 16) & 0xff;
  const scm = (id.classMask >>> 8) & 0xff;
  const im = id.classMask & 0xff;
  // file2alias emits nothing for a class mask that is not whole bytes ("Can't handle masks")
  if ((bcm !== 0 && bcm !== 0xff) || (scm !== 0 && scm !== 0xff) || (im !== 0 && im !== 0xff)) return null;
  return [id.vendor === PCI_ANY_ID, id.device === PCI_ANY_ID, id.subvendor === PCI_ANY_ID, id.subdevice === PCI_ANY_ID, bcm !== 0xff, scm !== 0xff, im !== 0xff];
}

/**
 * The module alias scripts/mod/file2alias.c (do_pci_entry) writes for one id-table entry:
 * "pci:" for a normal entry, "vfio_pci:" for a PCI_ID_F_VFIO_DRIVER_OVERRIDE one, then
 * v%08X d%08X sv%08X sd%08X bc%02X sc%02X i%02X with `*` for PCI_ANY_ID and for class bytes outside
 * the mask, and a trailing `*` unless the alias already ends in one (add_wildcard). Null when
 * file2alias would skip the entry (a class mask byte that is neither 0x00 nor 0xff).
 */
export function pciAlias(id: PciDeviceId): string | null {
  const w = wildcardFields(id);
  if (w === null) return null;
  const c = id.class;
  const fields: [string, string][] = [
    ['v', hex8(id.vendor)],
    ['d', hex8(id.device)],
    ['sv', hex8(id.subvendor)],
    ['sd', hex8(id.subdevice)],
    ['bc', hex2(c >>> 16)],
    ['sc', hex2(c >>> 8)],
    ['i', hex2(c)],
  ];
  let alias = id.overrideOnly ? 'vfio_pci:' : 'pci:';
  fields.forEach(([sep, value], i) => (alias += sep + (w[i] ? '*' : value)));
  if (!alias.endsWith('*')) alias += '*';
  return alias;
}

/**
 * fnmatch(pattern, string, 0) for the patterns modules.alias holds: `*` matches any run of
 * characters, `?` any one character, everything else itself (file2alias never emits brackets).
 */
export function fnmatch(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === s[i]))) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** One line of modules.alias: the alias pattern and the driver it loads. */
export interface PciAliasEntry {
  alias: string;
  driver: string;
  id: PciDeviceId;
}

/** A `vfio_pci:` alias that matches a device, with what ranks it. */
export interface VfioAliasMatch {
  driver: PciDriver;
  alias: string;
  id: PciDeviceId;
  /** number of `*` in the alias */
  wildcards: number;
}

/**
 * The driver core for the PCI bus: the driver registry, id-table matching, module aliases,
 * driver_override, bind/unbind as the sysfs files do them, and autoprobing of new devices and
 * drivers (drivers_autoprobe).
 *
 * Choosing a vfio driver (bind without a name), as user space does per the series that introduced
 * PCI_ID_F_VFIO_DRIVER_OVERRIDE: prefix the device's modalias with "vfio_", match it against every
 * `vfio_pci:` alias with fnmatch, and take the alias with the fewest `*`. Ties, which user space
 * leaves open, are broken deterministically:
 *   1. fewest `*` in the alias (a trailing `*` from add_wildcard counts, as it does for user space);
 *   2. the alias that is concrete at the earliest field where the two differ, fields in alias order
 *      v, d, sv, sd, bc, sc, i (so vendor+device beats vendor+class with the same count);
 *   3. the driver registered first;
 *   4. the entry earlier in that driver's id table.
 */
export class DriverCore {
  /** /sys/bus/pci/drivers_autoprobe: new devices and new drivers are matched and probed */
  autoprobe = true;
  private readonly registry: PciDriver[] = [];

  constructor(readonly pci: PciCore) {
    pci.listen({
      added: (dev) => {
        if (this.autoprobe) this.attach(dev);
      },
      removed: (dev) => this.release(dev),
    });
  }

  // ---- registry ------------------------------------------------------------------------------

  /** driver_register: EBUSY if a driver of that name exists; then binds it to matching unbound devices. */
  registerDriver(drv: PciDriver): void {
    if (drv === null || typeof drv !== 'object' || typeof drv.name !== 'string' || drv.name === '') {
      throw new VfioError('EINVAL', 'a PCI driver needs a name');
    }
    if (!Array.isArray(drv.idTable)) throw new VfioError('EINVAL', `driver ${drv.name}: idTable must be an array`);
    if (this.driver(drv.name) !== undefined) throw new VfioError('EBUSY', `driver '${drv.name}' is already registered`);
    this.registry.push(drv);
    if (!this.autoprobe) return;
    for (const dev of this.pci.devices()) {
      if (dev.driver !== null || !dev.present) continue;
      const id = this.matchDevice(drv, dev);
      if (id !== null) this.tryProbe(drv, dev, id);
    }
  }

  /** driver_unregister: unbinds every device the driver holds (remove errors propagate), then forgets it. */
  unregisterDriver(name: string): void {
    const drv = this.driver(name);
    if (drv === undefined) throw new VfioError('ENODEV', `no PCI driver named '${name}'`);
    for (const dev of this.pci.devices()) if (dev.driver === drv) this.unbind(dev);
    this.registry.splice(this.registry.indexOf(drv), 1);
  }

  driver(name: string): PciDriver | undefined {
    return this.registry.find((d) => d.name === name);
  }

  /** Registered drivers in registration order. */
  drivers(): readonly PciDriver[] {
    return this.registry;
  }

  // ---- matching -------------------------------------------------------------------------------

  modalias(dev: PciDev): string {
    return modaliasOf(dev.id);
  }

  /** Every alias the registered drivers publish (modules.alias), in registration and table order. */
  aliases(): PciAliasEntry[] {
    const out: PciAliasEntry[] = [];
    for (const drv of this.registry) {
      for (const id of drv.idTable) {
        const alias = pciAlias(id);
        if (alias !== null) out.push({ alias, driver: drv.name, id });
      }
    }
    return out;
  }

  /**
   * pci_match_device: null unless driver_override is unset or names this driver; then the first
   * matching entry, where an override-only entry counts only with driver_override set; and with
   * driver_override naming the driver but no entry matching, PCI_DEVICE_ID_ANY (the override
   * always binds).
   */
  matchDevice(drv: PciDriver, dev: PciDev): PciDeviceId | null {
    if (dev.driverOverride !== null && dev.driverOverride !== drv.name) return null;
    for (const id of drv.idTable) {
      if (!pciMatchOneDevice(id, dev.id)) continue;
      if (!id.overrideOnly || dev.driverOverride !== null) return id;
    }
    return dev.driverOverride !== null ? PCI_DEVICE_ID_ANY : null;
  }

  /** Every `vfio_pci:` alias matching "vfio_" + the device's modalias, best first (see the class comment). */
  vfioMatches(dev: PciDev): VfioAliasMatch[] {
    const key = 'vfio_' + modaliasOf(dev.id);
    const found: { m: VfioAliasMatch; w: boolean[]; drvIdx: number; idIdx: number }[] = [];
    this.registry.forEach((driver, drvIdx) => {
      driver.idTable.forEach((id, idIdx) => {
        if (!id.overrideOnly) return;
        const alias = pciAlias(id);
        if (alias === null || !fnmatch(alias, key)) return;
        const wildcards = [...alias].filter((ch) => ch === '*').length;
        found.push({ m: { driver, alias, id, wildcards }, w: wildcardFields(id)!, drvIdx, idIdx });
      });
    });
    found.sort((a, b) => {
      if (a.m.wildcards !== b.m.wildcards) return a.m.wildcards - b.m.wildcards;
      for (let i = 0; i < a.w.length; i++) if (a.w[i] !== b.w[i]) return a.w[i] ? 1 : -1;
      return a.drvIdx - b.drvIdx || a.idIdx - b.idIdx;
    });
    return found.map((f) => f.m);
  }

  /** The vfio driver user space would pick for the device, or null when no `vfio_pci:` alias matches. */
  bestVfioDriver(dev: PciDev): PciDriver | null {
    return this.vfioMatches(dev)[0]?.driver ?? null;
  }

  // ---- sysfs operations -----------------------------------------------------------------------

  /**
   * /sys/bus/pci/devices/.../driver_override: a driver name, or null / "" / "\n" to clear. Only the
   * text up to the first newline counts; 4095 characters or more is EINVAL. It never unbinds or
   * probes by itself.
   */
  driverOverride(dev: PciDev, name: string | null): void {
    if (name !== null && typeof name !== 'string') throw new VfioError('EINVAL', 'driver_override takes a driver name or null');
    if (name !== null && name.length >= DRIVER_OVERRIDE_LIMIT) throw new VfioError('EINVAL', `driver_override is limited to ${DRIVER_OVERRIDE_LIMIT - 1} characters`);
    // strlen (a NUL ends the string), then up to the first newline; nothing left clears the override
    const line = name === null ? '' : name.split('\0')[0].split('\n')[0];
    dev.driverOverride = line === '' ? null : line;
  }

  /**
   * Binds a driver and returns its name.
   *
   * With a name: /sys/bus/pci/drivers/<name>/bind. ENODEV when no driver has that name (the kernel
   * has no bind file for it: opening it fails with ENOENT), ENODEV when the driver does not match
   * the device (pci_match_device: its non-override-only entries, or any entry and the fallback id
   * when driver_override names it), EBUSY when the device already has a driver, else whatever errno
   * the driver's probe fails with.
   *
   * Without a name: with a driver_override the user set, that driver and no other (the kernel's
   * driver core lets only it bind: drivers_probe picks it, and ENODEV when no driver of that name is
   * registered); the override is kept as the user wrote it. Without an override, what user space
   * does to hand a device to vfio: the best `vfio_pci:` alias match (see the class comment; ENODEV
   * when none matches), written to driver_override, then a probe of that driver. EBUSY first if the
   * device has a driver (user space unbinds it; this does not). The driver_override stays set
   * afterwards, as it does for user space, even if the probe fails.
   */
  bind(dev: HostPciDev, name?: string | null): string {
    this.checkPresent(dev);
    if (name === undefined || name === null) {
      if (dev.driver !== null) throw new VfioError('EBUSY', `${dev.bdf} is already bound to ${dev.driver.name}`);
      if (dev.driverOverride !== null) {
        const chosen = this.driver(dev.driverOverride);
        if (chosen === undefined) throw new VfioError('ENODEV', `${dev.bdf}: driver_override is '${dev.driverOverride}' and no PCI driver of that name is registered`);
        return this.bindNamed(dev, chosen);
      }
      const best = this.bestVfioDriver(dev);
      if (best === null) throw new VfioError('ENODEV', `${dev.bdf}: no vfio_pci: alias matches vfio_${modaliasOf(dev.id)}`);
      this.driverOverride(dev, best.name);
      return this.bindNamed(dev, best);
    }
    if (typeof name !== 'string') throw new VfioError('EINVAL', 'bind takes a driver name');
    const drv = this.driver(name);
    if (drv === undefined) throw new VfioError('ENODEV', `no PCI driver named '${name}'`);
    return this.bindNamed(dev, drv);
  }

  private bindNamed(dev: HostPciDev, drv: PciDriver): string {
    // bind_store: driver_match_device first, then __driver_probe_device's "already bound"
    const id = this.matchDevice(drv, dev);
    if (id === null) {
      const why = dev.driverOverride !== null && dev.driverOverride !== drv.name ? ` (driver_override is '${dev.driverOverride}')` : '';
      throw new VfioError('ENODEV', `driver ${drv.name} does not match ${dev.bdf} (${modaliasOf(dev.id)})${why}`);
    }
    if (dev.driver !== null) throw new VfioError('EBUSY', `${dev.bdf} is already bound to ${dev.driver.name}`);
    this.probe(drv, dev, id);
    return drv.name;
  }

  /**
   * /sys/bus/pci/devices/.../driver/unbind: the driver's remove runs; if it refuses (a vfio driver
   * whose device file is still open throws EBUSY where the kernel would block) the device stays
   * bound and the error propagates. ENODEV when no driver is bound. driver_override is kept.
   */
  unbind(dev: HostPciDev): void {
    const drv = dev.driver;
    if (drv === null) throw new VfioError('ENODEV', `${dev.bdf} is not bound to a driver`);
    drv.remove(dev);
    dev.driver = null;
    dev.driverData = null;
  }

  /**
   * /sys/bus/pci/drivers_probe (device_attach): unless already bound, the first registered driver
   * that matches and probes successfully binds. Returns it, or null.
   */
  attach(dev: HostPciDev): PciDriver | null {
    if (dev.driver !== null || !dev.present) return dev.driver;
    for (const drv of this.registry) {
      const id = this.matchDevice(drv, dev);
      if (id !== null && this.tryProbe(drv, dev, id)) return drv;
    }
    return null;
  }

  /** really_probe: the device carries the driver while probe runs; a failed probe leaves it unbound. */
  private probe(drv: PciDriver, dev: HostPciDev, id: PciDeviceId): void {
    dev.driver = drv;
    try {
      drv.probe(dev, id);
    } catch (e) {
      dev.driver = null;
      dev.driverData = null;
      throw e; // the probe's errno reaches the bind file's writer (VfioError carries it)
    }
  }

  /** Autoprobe: a failing probe only means the next driver gets its chance (errors are not reported). */
  private tryProbe(drv: PciDriver, dev: HostPciDev, id: PciDeviceId): boolean {
    try {
      this.probe(drv, dev, id);
      return true;
    } catch {
      return false;
    }
  }

  /** The device left the hardware: its driver is released whatever remove says. */
  private release(dev: HostPciDev): void {
    const drv = dev.driver;
    if (drv === null) return;
    try {
      drv.remove(dev);
    } catch {
      // the function is gone either way; the kernel's remove cannot fail
    }
    dev.driver = null;
    dev.driverData = null;
  }

  private checkPresent(dev: HostPciDev): void {
    if (!dev.present) throw new VfioError('ENODEV', `${dev.bdf}: the device is gone`);
  }
}
