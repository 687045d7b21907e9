// Numbers of the virtio 1.3 specification and Linux's include/uapi/linux/virtio_{config,pci,ring,net}.h.

// ---- PCI IDs (virtio 1.3 4.1.2) -----------------------------------------------------------------------
export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** 0x1040 + virtio device ID 1 (network device) */
export const VIRTIO_PCI_DEVICE_ID_NET = 0x1041;
/** the transitional network device ID (what a legacy driver looks for) */
export const VIRTIO_TRANS_ID_NET = 0x1000;
export const VIRTIO_ID_NET = 1;
/** non-transitional devices: revision 1 or higher, subsystem device ID 0x40 or higher */
export const VIRTIO_PCI_MODERN_REVISION = 1;
export const VIRTIO_PCI_SUBSYSTEM_ID = 0x1100;

// ---- device status (2.1) --------------------------------------------------------------------------------
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

// ---- feature bits (6, 5.1.3) ---------------------------------------------------------------------------
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MTU = 3;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_F_CTRL_VQ = 17;
export const VIRTIO_NET_F_MQ = 22;
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_F_RING_INDIRECT_DESC = 28;
export const VIRTIO_F_RING_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_ACCESS_PLATFORM = 33;
export const VIRTIO_F_RING_PACKED = 34;
export const VIRTIO_F_IN_ORDER = 35;
export const VIRTIO_F_ORDER_PLATFORM = 36;
export const VIRTIO_F_SR_IOV = 37;
export const VIRTIO_F_NOTIFICATION_DATA = 38;
export const VIRTIO_F_NOTIF_CONFIG_DATA = 39;
export const VIRTIO_F_RING_RESET = 40;
export const VIRTIO_F_ADMIN_VQ = 41;

/** A feature set as two 32-bit halves (bits 0-31, 32-63). */
export function featureBits(...bits: number[]): [lo: number, hi: number] {
  let lo = 0;
  let hi = 0;
  for (const b of bits) {
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return [lo >>> 0, hi >>> 0];
}

// ---- virtio PCI capabilities (4.1.4) ---------------------------------------------------------------------
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
// struct virtio_pci_cap
export const VIRTIO_PCI_CAP_VNDR = 0;
export const VIRTIO_PCI_CAP_NEXT = 1;
export const VIRTIO_PCI_CAP_LEN = 2;
export const VIRTIO_PCI_CAP_CFG_TYPE = 3;
export const VIRTIO_PCI_CAP_BAR = 4;
export const VIRTIO_PCI_CAP_ID = 5;
export const VIRTIO_PCI_CAP_OFFSET = 8;
export const VIRTIO_PCI_CAP_LENGTH = 12;
export const VIRTIO_PCI_CAP_SIZEOF = 16;
/** struct virtio_pci_notify_cap: notify_off_multiplier after the cap */
export const VIRTIO_PCI_NOTIFY_CAP_MULT = 16;
export const VIRTIO_PCI_NOTIFY_CAP_SIZEOF = 20;
/** struct virtio_pci_cfg_cap: pci_cfg_data after the cap */
export const VIRTIO_PCI_CFG_CAP_DATA = 16;
export const VIRTIO_PCI_CFG_CAP_SIZEOF = 20;

// ---- struct virtio_pci_common_cfg (4.1.4.3) -------------------------------------------------------------
export const VIRTIO_PCI_COMMON_DFSELECT = 0;
export const VIRTIO_PCI_COMMON_DF = 4;
export const VIRTIO_PCI_COMMON_GFSELECT = 8;
export const VIRTIO_PCI_COMMON_GF = 12;
export const VIRTIO_PCI_COMMON_MSIX = 16;
export const VIRTIO_PCI_COMMON_NUMQ = 18;
export const VIRTIO_PCI_COMMON_STATUS = 20;
export const VIRTIO_PCI_COMMON_CFGGENERATION = 21;
export const VIRTIO_PCI_COMMON_Q_SELECT = 22;
export const VIRTIO_PCI_COMMON_Q_SIZE = 24;
export const VIRTIO_PCI_COMMON_Q_MSIX = 26;
export const VIRTIO_PCI_COMMON_Q_ENABLE = 28;
export const VIRTIO_PCI_COMMON_Q_NOFF = 30;
export const VIRTIO_PCI_COMMON_Q_DESCLO = 32;
export const VIRTIO_PCI_COMMON_Q_DESCHI = 36;
export const VIRTIO_PCI_COMMON_Q_AVAILLO = 40;
export const VIRTIO_PCI_COMMON_Q_AVAILHI = 44;
export const VIRTIO_PCI_COMMON_Q_USEDLO = 48;
export const VIRTIO_PCI_COMMON_Q_USEDHI = 52;
export const VIRTIO_PCI_COMMON_Q_NDATA = 56;
export const VIRTIO_PCI_COMMON_Q_RESET = 58;
export const VIRTIO_PCI_COMMON_ADM_Q_IDX = 60;
export const VIRTIO_PCI_COMMON_ADM_Q_NUM = 62;
/** sizeof(struct virtio_pci_modern_common_cfg) */
export const VIRTIO_PCI_COMMON_CFG_SIZEOF = 64;
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

// ---- ISR status (4.1.4.5) ----------------------------------------------------------------------------------
export const VIRTIO_PCI_ISR_QUEUE = 0x1;
export const VIRTIO_PCI_ISR_CONFIG = 0x2;

// ---- legacy register layout (4.1.4.10; virtio_pci.h without VIRTIO_PCI_NO_LEGACY) ---------------------------
export const VIRTIO_PCI_HOST_FEATURES = 0;
export const VIRTIO_PCI_GUEST_FEATURES = 4;
export const VIRTIO_PCI_QUEUE_PFN = 8;
export const VIRTIO_PCI_QUEUE_NUM = 12;
export const VIRTIO_PCI_QUEUE_SEL = 14;
export const VIRTIO_PCI_QUEUE_NOTIFY = 16;
export const VIRTIO_PCI_STATUS = 18;
export const VIRTIO_PCI_ISR = 19;
export const VIRTIO_MSI_CONFIG_VECTOR = 20;
export const VIRTIO_MSI_QUEUE_VECTOR = 22;
/** where the device-specific configuration starts in the legacy layout */
export function VIRTIO_PCI_CONFIG_OFF(msixEnabled: boolean): number {
  return msixEnabled ? 24 : 20;
}
export const VIRTIO_PCI_QUEUE_ADDR_SHIFT = 12;
export const VIRTIO_PCI_VRING_ALIGN = 4096;

// ---- split virtqueues (2.7) ----------------------------------------------------------------------------------
export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
export const VRING_USED_F_NO_NOTIFY = 1;
export const VRING_DESC_SIZE = 16;
export const VRING_USED_ELEM_SIZE = 8;
/** the largest split queue size (2.7: Queue Size is at most 32768) */
export const VIRTQUEUE_MAX_SIZE = 32768;

// ---- virtio-net (5.1) -----------------------------------------------------------------------------------------
/** struct virtio_net_config */
export const VIRTIO_NET_CFG_MAC = 0;
export const VIRTIO_NET_CFG_STATUS = 6;
export const VIRTIO_NET_CFG_MAX_VQ_PAIRS = 8;
export const VIRTIO_NET_CFG_MTU = 10;
export const VIRTIO_NET_CFG_SPEED = 12;
export const VIRTIO_NET_CFG_DUPLEX = 16;
/** the device configuration this model presents: mac .. duplex, padded to a dword */
export const VIRTIO_NET_CFG_SIZEOF = 20;
export const VIRTIO_NET_S_LINK_UP = 1;
/** struct virtio_net_hdr without and with num_buffers (VERSION_1 or MRG_RXBUF negotiated) */
export const VIRTIO_NET_HDR_LEGACY_SIZE = 10;
export const VIRTIO_NET_HDR_SIZE = 12;
export const VIRTIO_NET_RX_QUEUE = 0;
export const VIRTIO_NET_TX_QUEUE = 1;

// ---- group administration commands (2.12) ------------------------------------------------------------------------
export const VIRTIO_ADMIN_CMD_LIST_QUERY = 0x0;
export const VIRTIO_ADMIN_CMD_LIST_USE = 0x1;
export const VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE = 0x2;
export const VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ = 0x3;
export const VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE = 0x4;
export const VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ = 0x5;
export const VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO = 0x6;
export const VIRTIO_ADMIN_GROUP_TYPE_SRIOV = 0x1;
export const VIRTIO_ADMIN_STATUS_OK = 0;
export const VIRTIO_ADMIN_STATUS_EAGAIN = 11;
export const VIRTIO_ADMIN_STATUS_ENOMEM = 12;
export const VIRTIO_ADMIN_STATUS_EINVAL = 22;
export const VIRTIO_ADMIN_STATUS_Q_OK = 0x0;
export const VIRTIO_ADMIN_STATUS_Q_INVALID_COMMAND = 0x1;
export const VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE = 0x2;
export const VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD = 0x3;
export const VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP = 0x4;
export const VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER = 0x5;
export const VIRTIO_ADMIN_STATUS_Q_NORESOURCE = 0x6;
export const VIRTIO_ADMIN_STATUS_Q_TRYAGAIN = 0x7;
/** struct virtio_admin_cmd_hdr: opcode le16, group_type le16, reserved1[12], group_member_id le64 */
export const VIRTIO_ADMIN_CMD_HDR_SIZEOF = 24;
export const VIRTIO_ADMIN_CMD_HDR_OPCODE = 0;
export const VIRTIO_ADMIN_CMD_HDR_GROUP_TYPE = 2;
export const VIRTIO_ADMIN_CMD_HDR_MEMBER_ID = 16;
/** struct virtio_admin_cmd_status: status le16, status_qualifier le16, reserved2[4] */
export const VIRTIO_ADMIN_CMD_STATUS_SIZEOF = 8;
/** struct virtio_admin_cmd_legacy_wr_data: offset u8, reserved[7], registers[] */
export const VIRTIO_ADMIN_LEGACY_WR_DATA_HDR = 8;
/** struct virtio_admin_cmd_notify_info_data: flags u8, bar u8, padding[6], offset le64 */
export const VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_END = 0;
export const VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_DEV = 1;
/** Linux's name for the spec's "member device" entries (flags 2) */
export const VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM = 2;
export const VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO = 4;
export const VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF = 16;
/** the legacy access commands and LEGACY_NOTIFY_INFO: Linux's VIRTIO_LEGACY_ADMIN_CMD_BITMAP */
export const VIRTIO_LEGACY_ADMIN_CMD_BITMAP =
  (1 << VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO);
