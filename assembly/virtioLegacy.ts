// The virtio legacy I/O BAR decode of the virtio-vfio-pci variant driver (Linux
// drivers/vfio/pci/virtio/legacy_io.c): one access to the emulated BAR0 (offset, size, whether the
// user enabled MSI-X, read or write) becomes a target and, for the admin-queue targets, the
// group administration command and the offset inside the member's register block.
//
// BAR0 is the virtio 0.9.5 legacy register layout (virtio 1.3 4.1.4.10): the common header
// (VIRTIO_PCI_CONFIG_OFF(msix) bytes: 20, or 24 with the two MSI-X vector registers), then the
// device-specific configuration. QUEUE_NOTIFY (offset 16, 2 bytes) goes straight to the VF's notify
// area; everything else of the common header is LEGACY_COMMON_CFG_READ/WRITE, everything above it
// LEGACY_DEV_CFG_READ/WRITE with the offset counted from the start of the device configuration.
//
// Answer: target | opcode << 8 | memberOffset << 16, one number.
import { SCRATCH, SCRATCH_SIZE } from "./layout";

/** An access the emulated BAR0 refuses (EINVAL): bad size, out of range, split register block. */
export const VL_INVALID: i32 = 0;
/** QUEUE_NOTIFY: a 2-byte access to the VF's legacy notify area */
export const VL_NOTIFY: i32 = 1;
/** LEGACY_COMMON_CFG_READ/WRITE at the member offset */
export const VL_COMMON: i32 = 2;
/** LEGACY_DEV_CFG_READ/WRITE at the member offset */
export const VL_DEVICE: i32 = 3;

// virtio_pci legacy register offsets and admin opcodes (include/uapi/linux/virtio_pci.h)
export const VIRTIO_PCI_QUEUE_NOTIFY: i32 = 16;
const OP_COMMON_WRITE: u32 = 2; // VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE
const OP_COMMON_READ: u32 = 3; // VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ
const OP_DEV_WRITE: u32 = 4; // VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE
const OP_DEV_READ: u32 = 5; // VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ

/** VIRTIO_PCI_CONFIG_OFF(msix_enabled): where the device-specific configuration starts. */
@inline function configOff(msix: i32): u32 {
  return msix != 0 ? 24 : 20;
}

/**
 * Decodes one access of `size` bytes at `pos` of the emulated legacy I/O BAR of `barSize` bytes.
 * `msix`: the user has MSI-X enabled on the device (vdev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX);
 * `isWrite`: a write. Sizes other than 1, 2 and 4, accesses that do not fit in the BAR, a
 * QUEUE_NOTIFY access that is not exactly 2 bytes at 16, and accesses that would span both the
 * common header and the device configuration are VL_INVALID.
 */
export function virtioLegacyDecode(pos: u32, size: u32, msix: i32, isWrite: i32, barSize: u32): i32 {
  if (size != 1 && size != 2 && size != 4) return VL_INVALID;
  if (pos >= barSize || size > barSize - pos) return VL_INVALID;
  if (pos == <u32>VIRTIO_PCI_QUEUE_NOTIFY) return size == 2 ? VL_NOTIFY : VL_INVALID;
  const cfg = configOff(msix);
  if (pos < cfg) {
    if (pos + size > cfg) return VL_INVALID;
    return <i32>(<u32>VL_COMMON | ((isWrite != 0 ? OP_COMMON_WRITE : OP_COMMON_READ) << 8) | (pos << 16));
  }
  return <i32>(<u32>VL_DEVICE | ((isWrite != 0 ? OP_DEV_WRITE : OP_DEV_READ) << 8) | ((pos - cfg) << 16));
}

/**
 * The decode of every (offset 0..barSize-1, size 1..4) pair in one call, for tables and the
 * benchmark: answer k = offset * 4 + (size - 1) goes to SCRATCH as an i32. Returns how many answers
 * were written (barSize is capped so they fit the scratch buffer).
 */
export function virtioLegacyDecodeTable(msix: i32, isWrite: i32, barSize: u32): i32 {
  const max = <u32>(SCRATCH_SIZE >> 4);
  if (barSize > max) barSize = max;
  let n: i32 = 0;
  for (let pos: u32 = 0; pos < barSize; pos++) {
    for (let size: u32 = 1; size <= 4; size++) {
      store<i32>(<usize>SCRATCH + (<usize>n << 2), virtioLegacyDecode(pos, size, msix, isWrite, barSize));
      n++;
    }
  }
  return n;
}
