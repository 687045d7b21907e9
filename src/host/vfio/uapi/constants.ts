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
  API_VERSION: 0,

  // ---- Extensions (VFIO_CHECK_EXTENSION arguments) ----
  TYPE1_IOMMU: 1,
  SPAPR_TCE_IOMMU: 2,
  TYPE1v2_IOMMU: 3,
  DMA_CC_IOMMU: 4,
  EEH: 5,
  // 6 is reserved (was the nesting type1 IOMMU)
  SPAPR_TCE_v2_IOMMU: 7,
  NOIOMMU_IOMMU: 8,
  UNMAP_ALL: 9,
  UPDATE_VADDR: 10,

  TYPE: VFIO_TYPE,
  BASE: VFIO_BASE,

  // ---- ioctls on the container fd (/dev/vfio/vfio) ----
  GET_API_VERSION: vfioIo(0),
  CHECK_EXTENSION: vfioIo(1),
  SET_IOMMU: vfioIo(2),

  // ---- ioctls on a group fd (/dev/vfio/$GROUP) ----
  GROUP_GET_STATUS: vfioIo(3),
  GROUP_SET_CONTAINER: vfioIo(4),
  GROUP_UNSET_CONTAINER: vfioIo(5),
  GROUP_GET_DEVICE_FD: vfioIo(6),
  GROUP_FLAGS_VIABLE: 1 << 0,
  GROUP_FLAGS_CONTAINER_SET: 1 << 1,

  // ---- ioctls on a device fd ----
  DEVICE_GET_INFO: vfioIo(7),
  DEVICE_GET_REGION_INFO: vfioIo(8),
  DEVICE_GET_IRQ_INFO: vfioIo(9),
  DEVICE_SET_IRQS: vfioIo(10),
  DEVICE_RESET: vfioIo(11),
  DEVICE_GET_PCI_HOT_RESET_INFO: vfioIo(12),
  DEVICE_PCI_HOT_RESET: vfioIo(13),
  DEVICE_QUERY_GFX_PLANE: vfioIo(14),
  DEVICE_GET_GFX_DMABUF: vfioIo(15),
  DEVICE_IOEVENTFD: vfioIo(16),
  DEVICE_FEATURE: vfioIo(17),
  DEVICE_BIND_IOMMUFD: vfioIo(18),
  DEVICE_ATTACH_IOMMUFD_PT: vfioIo(19),
  DEVICE_DETACH_IOMMUFD_PT: vfioIo(20),
  /** Issued on the migration data fd (not the device fd) during PRE_COPY. */
  MIG_GET_PRECOPY_INFO: vfioIo(21),

  // ---- Type1 IOMMU ioctls on the container fd. They reuse the numbers of the device ioctls
  // above (GET_INFO = DEVICE_GET_PCI_HOT_RESET_INFO, ...): the fd decides which is meant. ----
  IOMMU_GET_INFO: vfioIo(12),
  IOMMU_MAP_DMA: vfioIo(13),
  IOMMU_UNMAP_DMA: vfioIo(14),
  IOMMU_ENABLE: vfioIo(15),
  IOMMU_DISABLE: vfioIo(16),
  IOMMU_DIRTY_PAGES: vfioIo(17),
  IOMMU_INFO_PGSIZES: 1 << 0,
  IOMMU_INFO_CAPS: 1 << 1,
  DMA_MAP_FLAG_READ: 1 << 0,
  DMA_MAP_FLAG_WRITE: 1 << 1,
  DMA_MAP_FLAG_VADDR: 1 << 2,
  DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: 1 << 0,
  DMA_UNMAP_FLAG_ALL: 1 << 1,
  DMA_UNMAP_FLAG_VADDR: 1 << 2,
  IOMMU_DIRTY_PAGES_FLAG_START: 1 << 0,
  IOMMU_DIRTY_PAGES_FLAG_STOP: 1 << 1,
  IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP: 1 << 2,

  // ---- struct vfio_device_info.flags ----
  DEVICE_FLAGS_RESET: 1 << 0,
  DEVICE_FLAGS_PCI: 1 << 1,
  DEVICE_FLAGS_PLATFORM: 1 << 2,
  DEVICE_FLAGS_AMBA: 1 << 3,
  DEVICE_FLAGS_CCW: 1 << 4,
  DEVICE_FLAGS_AP: 1 << 5,
  DEVICE_FLAGS_FSL_MC: 1 << 6,
  DEVICE_FLAGS_CAPS: 1 << 7,
  DEVICE_FLAGS_CDX: 1 << 8,

  // ---- capability ids in the VFIO_DEVICE_GET_INFO chain ----
  DEVICE_INFO_CAP_ZPCI_BASE: 1,
  DEVICE_INFO_CAP_ZPCI_GROUP: 2,
  DEVICE_INFO_CAP_ZPCI_UTIL: 3,
  DEVICE_INFO_CAP_ZPCI_PFIP: 4,
  DEVICE_INFO_CAP_PCI_ATOMIC_COMP: 5,
  PCI_ATOMIC_COMP32: 1 << 0,
  PCI_ATOMIC_COMP64: 1 << 1,
  PCI_ATOMIC_COMP128: 1 << 2,

  // ---- struct vfio_region_info.flags ----
  REGION_INFO_FLAG_READ: 1 << 0,
  REGION_INFO_FLAG_WRITE: 1 << 1,
  REGION_INFO_FLAG_MMAP: 1 << 2,
  REGION_INFO_FLAG_CAPS: 1 << 3,

  // ---- capability ids in the VFIO_DEVICE_GET_REGION_INFO chain ----
  REGION_INFO_CAP_SPARSE_MMAP: 1,
  REGION_INFO_CAP_TYPE: 2,
  REGION_INFO_CAP_MSIX_MAPPABLE: 3,
  /** Deprecated: no longer provided by the kernel. */
  REGION_INFO_CAP_NVLINK2_SSATGT: 4,
  /** Deprecated: no longer provided by the kernel. */
  REGION_INFO_CAP_NVLINK2_LNKSPD: 5,

  // ---- vfio_region_info_cap_type.type ----
  /** A PCI vendor type: this bit ORed with the 16-bit vendor id. */
  REGION_TYPE_PCI_VENDOR_TYPE: 0x80000000,
  REGION_TYPE_PCI_VENDOR_MASK: 0xffff,
  REGION_TYPE_GFX: 1,
  REGION_TYPE_CCW: 2,
  REGION_TYPE_MIGRATION_DEPRECATED: 3,

  // ---- vfio_region_info_cap_type.subtype (meaning depends on the type) ----
  REGION_SUBTYPE_INTEL_IGD_OPREGION: 1, // vendor 8086
  REGION_SUBTYPE_INTEL_IGD_HOST_CFG: 2,
  REGION_SUBTYPE_INTEL_IGD_LPC_CFG: 3,
  REGION_SUBTYPE_NVIDIA_NVLINK2_RAM: 1, // vendor 10de, deprecated
  REGION_SUBTYPE_IBM_NVLINK2_ATSD: 1, // vendor 1014, deprecated
  REGION_SUBTYPE_GFX_EDID: 1,
  REGION_SUBTYPE_CCW_ASYNC_CMD: 1,
  REGION_SUBTYPE_CCW_SCHIB: 2,
  REGION_SUBTYPE_CCW_CRW: 3,
  REGION_SUBTYPE_MIGRATION_DEPRECATED: 1,
  DEVICE_GFX_LINK_STATE_UP: 1,
  DEVICE_GFX_LINK_STATE_DOWN: 2,

  // ---- vfio-pci fixed region indices ----
  PCI_BAR0_REGION_INDEX: 0,
  PCI_BAR1_REGION_INDEX: 1,
  PCI_BAR2_REGION_INDEX: 2,
  PCI_BAR3_REGION_INDEX: 3,
  PCI_BAR4_REGION_INDEX: 4,
  PCI_BAR5_REGION_INDEX: 5,
  PCI_ROM_REGION_INDEX: 6,
  PCI_CONFIG_REGION_INDEX: 7,
  PCI_VGA_REGION_INDEX: 8,
  /** Fixed ABI: indices from here on are device specific, described by a TYPE capability. */
  PCI_NUM_REGIONS: 9,

  // ---- vfio-pci fixed irq indices ----
  PCI_INTX_IRQ_INDEX: 0,
  PCI_MSI_IRQ_INDEX: 1,
  PCI_MSIX_IRQ_INDEX: 2,
  PCI_ERR_IRQ_INDEX: 3,
  PCI_REQ_IRQ_INDEX: 4,
  PCI_NUM_IRQS: 5,

  // ---- struct vfio_irq_info.flags ----
  IRQ_INFO_EVENTFD: 1 << 0,
  IRQ_INFO_MASKABLE: 1 << 1,
  IRQ_INFO_AUTOMASKED: 1 << 2,
  IRQ_INFO_NORESIZE: 1 << 3,

  // ---- struct vfio_irq_set.flags ----
  IRQ_SET_DATA_NONE: 1 << 0,
  IRQ_SET_DATA_BOOL: 1 << 1,
  IRQ_SET_DATA_EVENTFD: 1 << 2,
  IRQ_SET_ACTION_MASK: 1 << 3,
  IRQ_SET_ACTION_UNMASK: 1 << 4,
  IRQ_SET_ACTION_TRIGGER: 1 << 5,
  IRQ_SET_DATA_TYPE_MASK: 0x07,
  IRQ_SET_ACTION_TYPE_MASK: 0x38,

  // ---- hot reset ----
  PCI_HOT_RESET_FLAG_DEV_ID: 1 << 0,
  PCI_HOT_RESET_FLAG_DEV_ID_OWNED: 1 << 1,
  /** devid value: owned implicitly (same iommufd context / group). */
  PCI_DEVID_OWNED: 0,
  /** devid value: not owned. The field is a __u32, so it reads back as 0xffffffff. */
  PCI_DEVID_NOT_OWNED: -1,

  // ---- VFIO_DEVICE_QUERY_GFX_PLANE flags ----
  GFX_PLANE_TYPE_PROBE: 1 << 0,
  GFX_PLANE_TYPE_DMABUF: 1 << 1,
  GFX_PLANE_TYPE_REGION: 1 << 2,

  // ---- struct vfio_device_ioeventfd.flags: the write width ----
  DEVICE_IOEVENTFD_8: 1 << 0,
  DEVICE_IOEVENTFD_16: 1 << 1,
  DEVICE_IOEVENTFD_32: 1 << 2,
  DEVICE_IOEVENTFD_64: 1 << 3,
  DEVICE_IOEVENTFD_SIZE_MASK: 0xf,

  // ---- iommufd cdev ioctls ----
  DEVICE_BIND_FLAG_TOKEN: 1 << 0,
  DEVICE_ATTACH_PASID: 1 << 0,
  DEVICE_DETACH_PASID: 1 << 0,

  // ---- struct vfio_device_feature.flags ----
  /** Low 16 bits: the feature number. */
  DEVICE_FEATURE_MASK: 0xffff,
  DEVICE_FEATURE_GET: 1 << 16,
  DEVICE_FEATURE_SET: 1 << 17,
  DEVICE_FEATURE_PROBE: 1 << 18,

  // ---- feature numbers ----
  DEVICE_FEATURE_PCI_VF_TOKEN: 0,
  DEVICE_FEATURE_MIGRATION: 1,
  DEVICE_FEATURE_MIG_DEVICE_STATE: 2,
  DEVICE_FEATURE_LOW_POWER_ENTRY: 3,
  DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: 4,
  DEVICE_FEATURE_LOW_POWER_EXIT: 5,
  DEVICE_FEATURE_DMA_LOGGING_START: 6,
  DEVICE_FEATURE_DMA_LOGGING_STOP: 7,
  DEVICE_FEATURE_DMA_LOGGING_REPORT: 8,
  DEVICE_FEATURE_MIG_DATA_SIZE: 9,
  DEVICE_FEATURE_BUS_MASTER: 10,
  DEVICE_FEATURE_DMA_BUF: 11,
  /** vfio_device_feature_bus_master.op values. */
  DEVICE_FEATURE_CLEAR_MASTER: 0,
  DEVICE_FEATURE_SET_MASTER: 1,

  // ---- struct vfio_device_feature_migration.flags ----
  MIGRATION_STOP_COPY: 1 << 0,
  MIGRATION_P2P: 1 << 1,
  MIGRATION_PRE_COPY: 1 << 2,

  // ---- enum vfio_device_mig_state ----
  DEVICE_STATE_ERROR: 0,
  DEVICE_STATE_STOP: 1,
  DEVICE_STATE_RUNNING: 2,
  DEVICE_STATE_STOP_COPY: 3,
  DEVICE_STATE_RESUMING: 4,
  DEVICE_STATE_RUNNING_P2P: 5,
  DEVICE_STATE_PRE_COPY: 6,
  DEVICE_STATE_PRE_COPY_P2P: 7,
  DEVICE_STATE_NR: 8,
} as const;

/** The type of {@link VFIO}. */
export type VfioConstants = typeof VFIO;
