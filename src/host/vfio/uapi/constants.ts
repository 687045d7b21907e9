// The numbers of include/uapi/linux/vfio.h, named as there minus the VFIO_ prefix
// (VFIO_DEVICE_GET_INFO -> VFIO.DEVICE_GET_INFO, VFIO_PCI_CONFIG_REGION_INDEX ->
// VFIO.PCI_CONFIG_REGION_INDEX). Values are the uapi's; test/host/uapi.test.ts checks them
// against a fixture transcribed from the header.
//
// Flags that have bit 31 set are written as unsigned hex (0x80000000), never as 1 << 31,
// which is negative in JavaScript.

import { VFIO_BASE, VFIO_TYPE, vfioIo } from './ioctlNumber.js';

/**
 * The vfio uapi's numbers, with the values of include/uapi/linux/vfio.h: ioctl requests
 * (`VFIO.DEVICE_GET_INFO` ...), region and irq indices, flags, device features and migration states.
 */
export const VFIO = {
  /** The vfio API version VFIO_GET_API_VERSION returns (VFIO_API_VERSION). */
  API_VERSION: 0,

  // ---- Extensions (VFIO_CHECK_EXTENSION arguments) ----
  /** Extension: the Type1 IOMMU backend (VFIO_TYPE1_IOMMU). */
  TYPE1_IOMMU: 1,
  /** Extension: the sPAPR TCE IOMMU backend of POWER (VFIO_SPAPR_TCE_IOMMU). */
  SPAPR_TCE_IOMMU: 2,
  /** Extension: Type1 IOMMU v2, with unmap semantics fixed (VFIO_TYPE1v2_IOMMU). */
  TYPE1v2_IOMMU: 3,
  /** Extension: the IOMMU enforces DMA cache coherence (VFIO_DMA_CC_IOMMU). */
  DMA_CC_IOMMU: 4,
  /** Extension: POWER EEH error recovery (VFIO_EEH). */
  EEH: 5,
  // 6 is reserved (was the nesting type1 IOMMU)
  /** Extension: the sPAPR TCE v2 IOMMU backend (VFIO_SPAPR_TCE_v2_IOMMU). */
  SPAPR_TCE_v2_IOMMU: 7,
  /** Extension: the unsafe no-IOMMU mode (VFIO_NOIOMMU_IOMMU). */
  NOIOMMU_IOMMU: 8,
  /** Extension: VFIO_DMA_UNMAP_FLAG_ALL is supported (VFIO_UNMAP_ALL). */
  UNMAP_ALL: 9,
  /** Extension: VFIO_DMA_MAP/UNMAP_FLAG_VADDR are supported (VFIO_UPDATE_VADDR). */
  UPDATE_VADDR: 10,

  /** The ioctl type byte of every vfio ioctl, ';' (VFIO_TYPE). */
  TYPE: VFIO_TYPE,
  /** The first ioctl number of vfio; each ioctl is _IO(VFIO_TYPE, VFIO_BASE + n) (VFIO_BASE). */
  BASE: VFIO_BASE,

  // ---- ioctls on the container fd (/dev/vfio/vfio) ----
  /** Container ioctl: return VFIO_API_VERSION (VFIO_GET_API_VERSION). */
  GET_API_VERSION: vfioIo(0),
  /** Container ioctl: is an extension (IOMMU type ...) supported (VFIO_CHECK_EXTENSION). */
  CHECK_EXTENSION: vfioIo(1),
  /** Container ioctl: choose the IOMMU backend (VFIO_SET_IOMMU). */
  SET_IOMMU: vfioIo(2),

  // ---- ioctls on a group fd (/dev/vfio/$GROUP) ----
  /** Group ioctl: fill struct vfio_group_status (VFIO_GROUP_GET_STATUS). */
  GROUP_GET_STATUS: vfioIo(3),
  /** Group ioctl: attach the group to a container fd (VFIO_GROUP_SET_CONTAINER). */
  GROUP_SET_CONTAINER: vfioIo(4),
  /** Group ioctl: detach the group from its container (VFIO_GROUP_UNSET_CONTAINER). */
  GROUP_UNSET_CONTAINER: vfioIo(5),
  /** Group ioctl: open a device fd by device name (VFIO_GROUP_GET_DEVICE_FD). */
  GROUP_GET_DEVICE_FD: vfioIo(6),
  /** vfio_group_status flag: every device of the group is bound to vfio (VFIO_GROUP_FLAGS_VIABLE). */
  GROUP_FLAGS_VIABLE: 1 << 0,
  /** vfio_group_status flag: the group is attached to a container (VFIO_GROUP_FLAGS_CONTAINER_SET). */
  GROUP_FLAGS_CONTAINER_SET: 1 << 1,

  // ---- ioctls on a device fd ----
  /** Device ioctl: fill struct vfio_device_info (VFIO_DEVICE_GET_INFO). */
  DEVICE_GET_INFO: vfioIo(7),
  /** Device ioctl: fill struct vfio_region_info for one region index (VFIO_DEVICE_GET_REGION_INFO). */
  DEVICE_GET_REGION_INFO: vfioIo(8),
  /** Device ioctl: fill struct vfio_irq_info for one irq index (VFIO_DEVICE_GET_IRQ_INFO). */
  DEVICE_GET_IRQ_INFO: vfioIo(9),
  /** Device ioctl: mask, unmask, trigger or wire eventfds to interrupts (VFIO_DEVICE_SET_IRQS). */
  DEVICE_SET_IRQS: vfioIo(10),
  /** Device ioctl: reset the device (VFIO_DEVICE_RESET). */
  DEVICE_RESET: vfioIo(11),
  /** Device ioctl: list the devices a bus/slot reset would affect (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO). */
  DEVICE_GET_PCI_HOT_RESET_INFO: vfioIo(12),
  /** Device ioctl: perform a bus/slot hot reset (VFIO_DEVICE_PCI_HOT_RESET). */
  DEVICE_PCI_HOT_RESET: vfioIo(13),
  /** Device ioctl: describe a vGPU display plane (VFIO_DEVICE_QUERY_GFX_PLANE). */
  DEVICE_QUERY_GFX_PLANE: vfioIo(14),
  /** Device ioctl: get a dma-buf fd of a display plane (VFIO_DEVICE_GET_GFX_DMABUF). */
  DEVICE_GET_GFX_DMABUF: vfioIo(15),
  /** Device ioctl: turn an eventfd signal into a device register write (VFIO_DEVICE_IOEVENTFD). */
  DEVICE_IOEVENTFD: vfioIo(16),
  /** Device ioctl: get, set or probe a device feature (VFIO_DEVICE_FEATURE). */
  DEVICE_FEATURE: vfioIo(17),
  /** Device cdev ioctl: bind the device to an iommufd (VFIO_DEVICE_BIND_IOMMUFD). */
  DEVICE_BIND_IOMMUFD: vfioIo(18),
  /** Device cdev ioctl: attach to an iommufd page table (VFIO_DEVICE_ATTACH_IOMMUFD_PT). */
  DEVICE_ATTACH_IOMMUFD_PT: vfioIo(19),
  /** Device cdev ioctl: detach from the iommufd page table (VFIO_DEVICE_DETACH_IOMMUFD_PT). */
  DEVICE_DETACH_IOMMUFD_PT: vfioIo(20),
  /** Issued on the migration data fd (not the device fd) during PRE_COPY. */
  MIG_GET_PRECOPY_INFO: vfioIo(21),

  // ---- Type1 IOMMU ioctls on the container fd. They reuse the numbers of the device ioctls
  // above (GET_INFO = DEVICE_GET_PCI_HOT_RESET_INFO, ...): the fd decides which is meant. ----
  /** Type1 container ioctl: fill struct vfio_iommu_type1_info (VFIO_IOMMU_GET_INFO). */
  IOMMU_GET_INFO: vfioIo(12),
  /** Type1 container ioctl: map user memory at an IOVA (VFIO_IOMMU_MAP_DMA). */
  IOMMU_MAP_DMA: vfioIo(13),
  /** Type1 container ioctl: unmap an IOVA range (VFIO_IOMMU_UNMAP_DMA). */
  IOMMU_UNMAP_DMA: vfioIo(14),
  /** Container ioctl: enable the sPAPR IOMMU (VFIO_IOMMU_ENABLE). */
  IOMMU_ENABLE: vfioIo(15),
  /** Container ioctl: disable the sPAPR IOMMU (VFIO_IOMMU_DISABLE). */
  IOMMU_DISABLE: vfioIo(16),
  /** Type1 container ioctl: start, stop or read IOMMU dirty page tracking (VFIO_IOMMU_DIRTY_PAGES). */
  IOMMU_DIRTY_PAGES: vfioIo(17),
  /** vfio_iommu_type1_info flag: iova_pgsizes is valid (VFIO_IOMMU_INFO_PGSIZES). */
  IOMMU_INFO_PGSIZES: 1 << 0,
  /** vfio_iommu_type1_info flag: a capability chain follows (VFIO_IOMMU_INFO_CAPS). */
  IOMMU_INFO_CAPS: 1 << 1,
  /** vfio_iommu_type1_dma_map flag: the device may read the mapping (VFIO_DMA_MAP_FLAG_READ). */
  DMA_MAP_FLAG_READ: 1 << 0,
  /** vfio_iommu_type1_dma_map flag: the device may write the mapping (VFIO_DMA_MAP_FLAG_WRITE). */
  DMA_MAP_FLAG_WRITE: 1 << 1,
  /** vfio_iommu_type1_dma_map flag: only update the vaddr of an existing mapping (VFIO_DMA_MAP_FLAG_VADDR). */
  DMA_MAP_FLAG_VADDR: 1 << 2,
  /** vfio_iommu_type1_dma_unmap flag: return the dirty bitmap of the range (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP). */
  DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: 1 << 0,
  /** vfio_iommu_type1_dma_unmap flag: unmap everything (VFIO_DMA_UNMAP_FLAG_ALL). */
  DMA_UNMAP_FLAG_ALL: 1 << 1,
  /** vfio_iommu_type1_dma_unmap flag: invalidate the vaddr only, keep the IOVA (VFIO_DMA_UNMAP_FLAG_VADDR). */
  DMA_UNMAP_FLAG_VADDR: 1 << 2,
  /** Dirty pages flag: start tracking (VFIO_IOMMU_DIRTY_PAGES_FLAG_START). */
  IOMMU_DIRTY_PAGES_FLAG_START: 1 << 0,
  /** Dirty pages flag: stop tracking (VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP). */
  IOMMU_DIRTY_PAGES_FLAG_STOP: 1 << 1,
  /** Dirty pages flag: read and clear the bitmap of a range (VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP). */
  IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP: 1 << 2,

  // ---- struct vfio_device_info.flags ----
  /** vfio_device_info flag: the device supports VFIO_DEVICE_RESET (VFIO_DEVICE_FLAGS_RESET). */
  DEVICE_FLAGS_RESET: 1 << 0,
  /** vfio_device_info flag: a vfio-pci device (VFIO_DEVICE_FLAGS_PCI). */
  DEVICE_FLAGS_PCI: 1 << 1,
  /** vfio_device_info flag: a vfio-platform device (VFIO_DEVICE_FLAGS_PLATFORM). */
  DEVICE_FLAGS_PLATFORM: 1 << 2,
  /** vfio_device_info flag: a vfio-amba device (VFIO_DEVICE_FLAGS_AMBA). */
  DEVICE_FLAGS_AMBA: 1 << 3,
  /** vfio_device_info flag: a vfio-ccw device (VFIO_DEVICE_FLAGS_CCW). */
  DEVICE_FLAGS_CCW: 1 << 4,
  /** vfio_device_info flag: a vfio-ap device (VFIO_DEVICE_FLAGS_AP). */
  DEVICE_FLAGS_AP: 1 << 5,
  /** vfio_device_info flag: a vfio-fsl-mc device (VFIO_DEVICE_FLAGS_FSL_MC). */
  DEVICE_FLAGS_FSL_MC: 1 << 6,
  /** vfio_device_info flag: a capability chain follows, at cap_offset (VFIO_DEVICE_FLAGS_CAPS). */
  DEVICE_FLAGS_CAPS: 1 << 7,
  /** vfio_device_info flag: a vfio-cdx device (VFIO_DEVICE_FLAGS_CDX). */
  DEVICE_FLAGS_CDX: 1 << 8,

  // ---- capability ids in the VFIO_DEVICE_GET_INFO chain ----
  /** Device info cap ID: s390 zPCI base data (VFIO_DEVICE_INFO_CAP_ZPCI_BASE). */
  DEVICE_INFO_CAP_ZPCI_BASE: 1,
  /** Device info cap ID: s390 zPCI function group (VFIO_DEVICE_INFO_CAP_ZPCI_GROUP). */
  DEVICE_INFO_CAP_ZPCI_GROUP: 2,
  /** Device info cap ID: s390 zPCI utility string (VFIO_DEVICE_INFO_CAP_ZPCI_UTIL). */
  DEVICE_INFO_CAP_ZPCI_UTIL: 3,
  /** Device info cap ID: s390 zPCI PCI function path (VFIO_DEVICE_INFO_CAP_ZPCI_PFIP). */
  DEVICE_INFO_CAP_ZPCI_PFIP: 4,
  /** Device info cap ID: PCIe AtomicOp completer support (VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP). */
  DEVICE_INFO_CAP_PCI_ATOMIC_COMP: 5,
  /** Atomic completer flag: 32-bit AtomicOps (VFIO_PCI_ATOMIC_COMP32). */
  PCI_ATOMIC_COMP32: 1 << 0,
  /** Atomic completer flag: 64-bit AtomicOps (VFIO_PCI_ATOMIC_COMP64). */
  PCI_ATOMIC_COMP64: 1 << 1,
  /** Atomic completer flag: 128-bit CAS (VFIO_PCI_ATOMIC_COMP128). */
  PCI_ATOMIC_COMP128: 1 << 2,

  // ---- struct vfio_region_info.flags ----
  /** vfio_region_info flag: the region supports read (VFIO_REGION_INFO_FLAG_READ). */
  REGION_INFO_FLAG_READ: 1 << 0,
  /** vfio_region_info flag: the region supports write (VFIO_REGION_INFO_FLAG_WRITE). */
  REGION_INFO_FLAG_WRITE: 1 << 1,
  /** vfio_region_info flag: the region may be mmapped (VFIO_REGION_INFO_FLAG_MMAP). */
  REGION_INFO_FLAG_MMAP: 1 << 2,
  /** vfio_region_info flag: a capability chain follows (VFIO_REGION_INFO_FLAG_CAPS). */
  REGION_INFO_FLAG_CAPS: 1 << 3,

  // ---- capability ids in the VFIO_DEVICE_GET_REGION_INFO chain ----
  /** Region info cap ID: the mmappable areas of the region (VFIO_REGION_INFO_CAP_SPARSE_MMAP). */
  REGION_INFO_CAP_SPARSE_MMAP: 1,
  /** Region info cap ID: the region's type and subtype (VFIO_REGION_INFO_CAP_TYPE). */
  REGION_INFO_CAP_TYPE: 2,
  /** Region info cap ID: the MSI-X table of this BAR may be mmapped (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE). */
  REGION_INFO_CAP_MSIX_MAPPABLE: 3,
  /** Deprecated: no longer provided by the kernel. */
  REGION_INFO_CAP_NVLINK2_SSATGT: 4,
  /** Deprecated: no longer provided by the kernel. */
  REGION_INFO_CAP_NVLINK2_LNKSPD: 5,

  // ---- vfio_region_info_cap_type.type ----
  /** A PCI vendor type: this bit ORed with the 16-bit vendor id. */
  REGION_TYPE_PCI_VENDOR_TYPE: 0x80000000,
  /** Mask of the vendor ID in a PCI vendor region type (VFIO_REGION_TYPE_PCI_VENDOR_MASK). */
  REGION_TYPE_PCI_VENDOR_MASK: 0xffff,
  /** Region type: graphics (VFIO_REGION_TYPE_GFX). */
  REGION_TYPE_GFX: 1,
  /** Region type: s390 channel I/O (VFIO_REGION_TYPE_CCW). */
  REGION_TYPE_CCW: 2,
  /** Region type: the v1 migration region, no longer used (VFIO_REGION_TYPE_MIGRATION_DEPRECATED). */
  REGION_TYPE_MIGRATION_DEPRECATED: 3,

  // ---- vfio_region_info_cap_type.subtype (meaning depends on the type) ----
  /** Region subtype for vendor 8086: the IGD OpRegion (VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION). */
  REGION_SUBTYPE_INTEL_IGD_OPREGION: 1,
  /** Region subtype for vendor 8086: the IGD host bridge config (VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG). */
  REGION_SUBTYPE_INTEL_IGD_HOST_CFG: 2,
  /** Region subtype for vendor 8086: the IGD LPC bridge config (VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG). */
  REGION_SUBTYPE_INTEL_IGD_LPC_CFG: 3,
  /** Region subtype for vendor 10de: NVLink2 GPU RAM, deprecated (VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM). */
  REGION_SUBTYPE_NVIDIA_NVLINK2_RAM: 1,
  /** Region subtype for vendor 1014: NVLink2 ATSD, deprecated (VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD). */
  REGION_SUBTYPE_IBM_NVLINK2_ATSD: 1,
  /** Region subtype of GFX: the virtual display's EDID (VFIO_REGION_SUBTYPE_GFX_EDID). */
  REGION_SUBTYPE_GFX_EDID: 1,
  /** Region subtype of CCW: asynchronous commands (VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD). */
  REGION_SUBTYPE_CCW_ASYNC_CMD: 1,
  /** Region subtype of CCW: the subchannel information block (VFIO_REGION_SUBTYPE_CCW_SCHIB). */
  REGION_SUBTYPE_CCW_SCHIB: 2,
  /** Region subtype of CCW: channel report words (VFIO_REGION_SUBTYPE_CCW_CRW). */
  REGION_SUBTYPE_CCW_CRW: 3,
  /** Region subtype of the v1 migration region, no longer used (VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED). */
  REGION_SUBTYPE_MIGRATION_DEPRECATED: 1,
  /** GFX EDID region link_state: the display link is up (VFIO_DEVICE_GFX_LINK_STATE_UP). */
  DEVICE_GFX_LINK_STATE_UP: 1,
  /** GFX EDID region link_state: the display link is down (VFIO_DEVICE_GFX_LINK_STATE_DOWN). */
  DEVICE_GFX_LINK_STATE_DOWN: 2,

  // ---- vfio-pci fixed region indices ----
  /** vfio-pci region index of BAR 0 (VFIO_PCI_BAR0_REGION_INDEX). */
  PCI_BAR0_REGION_INDEX: 0,
  /** vfio-pci region index of BAR 1 (VFIO_PCI_BAR1_REGION_INDEX). */
  PCI_BAR1_REGION_INDEX: 1,
  /** vfio-pci region index of BAR 2 (VFIO_PCI_BAR2_REGION_INDEX). */
  PCI_BAR2_REGION_INDEX: 2,
  /** vfio-pci region index of BAR 3 (VFIO_PCI_BAR3_REGION_INDEX). */
  PCI_BAR3_REGION_INDEX: 3,
  /** vfio-pci region index of BAR 4 (VFIO_PCI_BAR4_REGION_INDEX). */
  PCI_BAR4_REGION_INDEX: 4,
  /** vfio-pci region index of BAR 5 (VFIO_PCI_BAR5_REGION_INDEX). */
  PCI_BAR5_REGION_INDEX: 5,
  /** vfio-pci region index of the expansion ROM (VFIO_PCI_ROM_REGION_INDEX). */
  PCI_ROM_REGION_INDEX: 6,
  /** vfio-pci region index of config space (VFIO_PCI_CONFIG_REGION_INDEX). */
  PCI_CONFIG_REGION_INDEX: 7,
  /** vfio-pci region index of the legacy VGA ranges (VFIO_PCI_VGA_REGION_INDEX). */
  PCI_VGA_REGION_INDEX: 8,
  /** Fixed ABI: indices from here on are device specific, described by a TYPE capability. */
  PCI_NUM_REGIONS: 9,

  // ---- vfio-pci fixed irq indices ----
  /** vfio-pci irq index of INTx (VFIO_PCI_INTX_IRQ_INDEX). */
  PCI_INTX_IRQ_INDEX: 0,
  /** vfio-pci irq index of MSI (VFIO_PCI_MSI_IRQ_INDEX). */
  PCI_MSI_IRQ_INDEX: 1,
  /** vfio-pci irq index of MSI-X (VFIO_PCI_MSIX_IRQ_INDEX). */
  PCI_MSIX_IRQ_INDEX: 2,
  /** vfio-pci irq index of the AER error notification (VFIO_PCI_ERR_IRQ_INDEX). */
  PCI_ERR_IRQ_INDEX: 3,
  /** vfio-pci irq index of the device release request (VFIO_PCI_REQ_IRQ_INDEX). */
  PCI_REQ_IRQ_INDEX: 4,
  /** Number of fixed vfio-pci irq indices (VFIO_PCI_NUM_IRQS). */
  PCI_NUM_IRQS: 5,

  // ---- struct vfio_irq_info.flags ----
  /** vfio_irq_info flag: the irq can signal an eventfd (VFIO_IRQ_INFO_EVENTFD). */
  IRQ_INFO_EVENTFD: 1 << 0,
  /** vfio_irq_info flag: the irq can be masked and unmasked (VFIO_IRQ_INFO_MASKABLE). */
  IRQ_INFO_MASKABLE: 1 << 1,
  /** vfio_irq_info flag: the irq masks itself when it fires, level INTx (VFIO_IRQ_INFO_AUTOMASKED). */
  IRQ_INFO_AUTOMASKED: 1 << 2,
  /** vfio_irq_info flag: the vector count cannot change while enabled (VFIO_IRQ_INFO_NORESIZE). */
  IRQ_INFO_NORESIZE: 1 << 3,

  // ---- struct vfio_irq_set.flags ----
  /** vfio_irq_set data type: no data, act on every vector of the range (VFIO_IRQ_SET_DATA_NONE). */
  IRQ_SET_DATA_NONE: 1 << 0,
  /** vfio_irq_set data type: one u8 per vector, act where nonzero (VFIO_IRQ_SET_DATA_BOOL). */
  IRQ_SET_DATA_BOOL: 1 << 1,
  /** vfio_irq_set data type: one s32 eventfd per vector, -1 to unwire (VFIO_IRQ_SET_DATA_EVENTFD). */
  IRQ_SET_DATA_EVENTFD: 1 << 2,
  /** vfio_irq_set action: mask the vectors (VFIO_IRQ_SET_ACTION_MASK). */
  IRQ_SET_ACTION_MASK: 1 << 3,
  /** vfio_irq_set action: unmask the vectors (VFIO_IRQ_SET_ACTION_UNMASK). */
  IRQ_SET_ACTION_UNMASK: 1 << 4,
  /** vfio_irq_set action: trigger the vectors, or wire their eventfds (VFIO_IRQ_SET_ACTION_TRIGGER). */
  IRQ_SET_ACTION_TRIGGER: 1 << 5,
  /** Mask of the vfio_irq_set data type bits (VFIO_IRQ_SET_DATA_TYPE_MASK). */
  IRQ_SET_DATA_TYPE_MASK: 0x07,
  /** Mask of the vfio_irq_set action bits (VFIO_IRQ_SET_ACTION_TYPE_MASK). */
  IRQ_SET_ACTION_TYPE_MASK: 0x38,

  // ---- hot reset ----
  /** vfio_pci_hot_reset_info flag: entries hold devids, not group IDs (VFIO_PCI_HOT_RESET_FLAG_DEV_ID). */
  PCI_HOT_RESET_FLAG_DEV_ID: 1 << 0,
  /** vfio_pci_hot_reset_info flag: every affected device is owned by the caller (VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED). */
  PCI_HOT_RESET_FLAG_DEV_ID_OWNED: 1 << 1,
  /** devid value: owned implicitly (same iommufd context / group). */
  PCI_DEVID_OWNED: 0,
  /** devid value: not owned. The field is a __u32, so it reads back as 0xffffffff. */
  PCI_DEVID_NOT_OWNED: -1,

  // ---- VFIO_DEVICE_QUERY_GFX_PLANE flags ----
  /** Query gfx plane flag: only probe whether a plane type is supported (VFIO_GFX_PLANE_TYPE_PROBE). */
  GFX_PLANE_TYPE_PROBE: 1 << 0,
  /** Query gfx plane flag: the plane is exposed as a dma-buf (VFIO_GFX_PLANE_TYPE_DMABUF). */
  GFX_PLANE_TYPE_DMABUF: 1 << 1,
  /** Query gfx plane flag: the plane is exposed as a region (VFIO_GFX_PLANE_TYPE_REGION). */
  GFX_PLANE_TYPE_REGION: 1 << 2,

  // ---- struct vfio_device_ioeventfd.flags: the write width ----
  /** Ioeventfd flag: an 8-bit write (VFIO_DEVICE_IOEVENTFD_8). */
  DEVICE_IOEVENTFD_8: 1 << 0,
  /** Ioeventfd flag: a 16-bit write (VFIO_DEVICE_IOEVENTFD_16). */
  DEVICE_IOEVENTFD_16: 1 << 1,
  /** Ioeventfd flag: a 32-bit write (VFIO_DEVICE_IOEVENTFD_32). */
  DEVICE_IOEVENTFD_32: 1 << 2,
  /** Ioeventfd flag: a 64-bit write (VFIO_DEVICE_IOEVENTFD_64). */
  DEVICE_IOEVENTFD_64: 1 << 3,
  /** Mask of the ioeventfd write width flags (VFIO_DEVICE_IOEVENTFD_SIZE_MASK). */
  DEVICE_IOEVENTFD_SIZE_MASK: 0xf,

  // ---- iommufd cdev ioctls ----
  /** vfio_device_bind_iommufd flag: a VF token UUID is passed (VFIO_DEVICE_BIND_FLAG_TOKEN). */
  DEVICE_BIND_FLAG_TOKEN: 1 << 0,
  /** vfio_device_attach_iommufd_pt flag: attach a PASID, not the whole device (VFIO_DEVICE_ATTACH_PASID). */
  DEVICE_ATTACH_PASID: 1 << 0,
  /** vfio_device_detach_iommufd_pt flag: detach a PASID, not the whole device (VFIO_DEVICE_DETACH_PASID). */
  DEVICE_DETACH_PASID: 1 << 0,

  // ---- struct vfio_device_feature.flags ----
  /** Low 16 bits: the feature number. */
  DEVICE_FEATURE_MASK: 0xffff,
  /** vfio_device_feature flag: read the feature's data (VFIO_DEVICE_FEATURE_GET). */
  DEVICE_FEATURE_GET: 1 << 16,
  /** vfio_device_feature flag: write the feature's data (VFIO_DEVICE_FEATURE_SET). */
  DEVICE_FEATURE_SET: 1 << 17,
  /** vfio_device_feature flag: only ask whether GET/SET is supported (VFIO_DEVICE_FEATURE_PROBE). */
  DEVICE_FEATURE_PROBE: 1 << 18,

  // ---- feature numbers ----
  /** Feature: set the shared VF token UUID of a PF (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN). */
  DEVICE_FEATURE_PCI_VF_TOKEN: 0,
  /** Feature: the migration capability flags, GET only (VFIO_DEVICE_FEATURE_MIGRATION). */
  DEVICE_FEATURE_MIGRATION: 1,
  /** Feature: get or change the migration state; SET may return a data fd (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE). */
  DEVICE_FEATURE_MIG_DEVICE_STATE: 2,
  /** Feature: enter runtime low power (VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY). */
  DEVICE_FEATURE_LOW_POWER_ENTRY: 3,
  /** Feature: enter runtime low power with a wakeup eventfd (VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP). */
  DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: 4,
  /** Feature: leave runtime low power (VFIO_DEVICE_FEATURE_LOW_POWER_EXIT). */
  DEVICE_FEATURE_LOW_POWER_EXIT: 5,
  /** Feature: start device DMA dirty tracking over IOVA ranges (VFIO_DEVICE_FEATURE_DMA_LOGGING_START). */
  DEVICE_FEATURE_DMA_LOGGING_START: 6,
  /** Feature: stop device DMA dirty tracking (VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP). */
  DEVICE_FEATURE_DMA_LOGGING_STOP: 7,
  /** Feature: read and clear the dirty bitmap of an IOVA range (VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT). */
  DEVICE_FEATURE_DMA_LOGGING_REPORT: 8,
  /** Feature: estimated bytes of device state left to read (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE). */
  DEVICE_FEATURE_MIG_DATA_SIZE: 9,
  /** Feature: set or clear bus mastering without config writes (VFIO_DEVICE_FEATURE_BUS_MASTER). */
  DEVICE_FEATURE_BUS_MASTER: 10,
  /** Feature: export a region range as a dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF). */
  DEVICE_FEATURE_DMA_BUF: 11,
  /** vfio_device_feature_bus_master.op values. */
  DEVICE_FEATURE_CLEAR_MASTER: 0,
  /** vfio_device_feature_bus_master.op: set bus master (VFIO_DEVICE_FEATURE_SET_MASTER). */
  DEVICE_FEATURE_SET_MASTER: 1,

  // ---- struct vfio_device_feature_migration.flags ----
  /** Migration flag: the STOP, RUNNING, STOP_COPY and RESUMING states exist (VFIO_MIGRATION_STOP_COPY). */
  MIGRATION_STOP_COPY: 1 << 0,
  /** Migration flag: the RUNNING_P2P state exists (VFIO_MIGRATION_P2P). */
  MIGRATION_P2P: 1 << 1,
  /** Migration flag: the PRE_COPY state exists (VFIO_MIGRATION_PRE_COPY). */
  MIGRATION_PRE_COPY: 1 << 2,

  // ---- enum vfio_device_mig_state ----
  /** Migration state ERROR (VFIO_DEVICE_STATE_ERROR); see MigState. */
  DEVICE_STATE_ERROR: 0,
  /** Migration state STOP (VFIO_DEVICE_STATE_STOP); see MigState. */
  DEVICE_STATE_STOP: 1,
  /** Migration state RUNNING (VFIO_DEVICE_STATE_RUNNING); see MigState. */
  DEVICE_STATE_RUNNING: 2,
  /** Migration state STOP_COPY (VFIO_DEVICE_STATE_STOP_COPY); see MigState. */
  DEVICE_STATE_STOP_COPY: 3,
  /** Migration state RESUMING (VFIO_DEVICE_STATE_RESUMING); see MigState. */
  DEVICE_STATE_RESUMING: 4,
  /** Migration state RUNNING_P2P (VFIO_DEVICE_STATE_RUNNING_P2P); see MigState. */
  DEVICE_STATE_RUNNING_P2P: 5,
  /** Migration state PRE_COPY (VFIO_DEVICE_STATE_PRE_COPY); see MigState. */
  DEVICE_STATE_PRE_COPY: 6,
  /** Migration state PRE_COPY_P2P (VFIO_DEVICE_STATE_PRE_COPY_P2P); see MigState. */
  DEVICE_STATE_PRE_COPY_P2P: 7,
  /** Number of migration states (VFIO_DEVICE_STATE_NR). */
  DEVICE_STATE_NR: 8,
} as const;

/** The type of {@link VFIO}. */
export type VfioConstants = typeof VFIO;
