/**
 * `pcisim/v86`: pcisim devices on a running v86's PCI bus, driven by a real guest kernel.
 * attachV86 plugs a Hardware or a Vmm's bus in; the scenario helpers build the usual setups.
 */
export { attachV86 } from './attach.js';
export type { AttachV86Options, V86Attachment } from './attach.js';
export { AcpiPciHotplug } from './acpiHotplug.js';
export { attachHardwareScenario, attachStackScenario, GENERIC_ENDPOINT, PEER, PingingPeer, v86GuestMemory } from './scenario.js';
export type { HardwareScenario, StackScenario, StackScenarioOptions } from './scenario.js';
export type { V86Like } from './v86Types.js';
