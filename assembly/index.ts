// The pcisim hot core: per-function slots in linear memory and the number-only operations on them.
export * from "./layout";
export { slotCreate, slotDestroy, slotBase, slotVfio, slotMsix, slotCommitInit, slotReset, memoryPages, coreReset } from "./slot";
export * from "./config";
export * from "./bar";
export * from "./msi";
export * from "./msix";
export * from "./vfioConfig";
export * from "./virtioLegacy";
