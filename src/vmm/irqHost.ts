import type { Eventfd } from '../host/fileTable.js';
import type { VfioClient } from './vfioClient.js';
import type { EmulatedConfig } from './emulatedConfig.js';
import type { VmmLog } from './vmmLog.js';

/**
 * What the interrupt emulations (INTx, MSI, MSI-X) need from the assigned device they belong to:
 * the device file's SET_IRQS, eventfds from the host, the emulated config, and a way to put a
 * message or a pin level on the guest bus.
 */
export interface IrqHost {
  /** "0000:00:04.0 (vfio 0000:01:00.0)": for log lines */
  readonly name: string;
  readonly client: VfioClient;
  readonly emu: EmulatedConfig;
  readonly log: VmmLog;
  /** a new eventfd in the host's file table */
  eventfd(): Eventfd;
  /** an MSI/MSI-X message written by the function into the guest's address space */
  sendMsi(addressLo: number, addressHi: number, data: number): void;
  /** the function's INTx pin as the guest bus sees it */
  setIntxLine(level: boolean): void;
  /** the guest's Command.INTx Disable */
  guestIntxDisabled(): boolean;
}

/** SET_IRQS with the errno logged once and swallowed: a host refusal must not crash the guest. */
export function trySetIrqs(host: IrqHost, what: string, call: () => void): boolean {
  try {
    call();
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    host.log.once(`${host.name}:setirqs:${what}:${code}`, `${host.name}: SET_IRQS ${what} failed (${code}): ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}
