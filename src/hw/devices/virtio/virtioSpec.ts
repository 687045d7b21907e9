// Numbers of the virtio 1.3 specification and Linux's include/uapi/linux/virtio_{config,pci,ring,net}.h.

// ---- PCI IDs (virtio 1.3 4.1.2) -----------------------------------------------------------------------
/** PCI vendor ID of every virtio device, Red Hat/Qumranet (PCI_VENDOR_ID_REDHAT_QUMRANET). */
export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** 0x1040 + virtio device ID 1 (network device) */
export const VIRTIO_PCI_DEVICE_ID_NET = 0x1041;
/** the transitional network device ID (what a legacy driver looks for) */
export const VIRTIO_TRANS_ID_NET = 0x1000;
/** Virtio device ID of a network device (VIRTIO_ID_NET). */
export const VIRTIO_ID_NET = 1;
/** non-transitional devices: revision 1 or higher, subsystem device ID 0x40 or higher */
export const VIRTIO_PCI_MODERN_REVISION = 1;
/** PCI subsystem device ID the virtio-net PF presents (0x1100, as QEMU's virtio devices); the spec asks 0x40 or higher of a non-transitional device. */
export const VIRTIO_PCI_SUBSYSTEM_ID = 0x1100;

// ---- device status (2.1) --------------------------------------------------------------------------------
/** Device status bit: the guest noticed the device (VIRTIO_CONFIG_S_ACKNOWLEDGE). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
/** Device status bit: the guest knows how to drive the device (VIRTIO_CONFIG_S_DRIVER). */
export const VIRTIO_CONFIG_S_DRIVER = 2;
/** Device status bit: the driver is set up and ready (VIRTIO_CONFIG_S_DRIVER_OK). */
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
/** Device status bit: feature negotiation is complete (VIRTIO_CONFIG_S_FEATURES_OK). */
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
/** Device status bit: the device hit an error and needs a reset (VIRTIO_CONFIG_S_NEEDS_RESET). */
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
/** Device status bit: the driver gave up on the device (VIRTIO_CONFIG_S_FAILED). */
export const VIRTIO_CONFIG_S_FAILED = 0x80;

// ---- feature bits (6, 5.1.3) ---------------------------------------------------------------------------
/** Net feature bit 0: the device handles packets with partial checksum (VIRTIO_NET_F_CSUM). */
export const VIRTIO_NET_F_CSUM = 0;
/** Net feature bit 1: the driver handles packets with partial checksum (VIRTIO_NET_F_GUEST_CSUM). */
export const VIRTIO_NET_F_GUEST_CSUM = 1;
/** Net feature bit 3: the mtu config field is valid (VIRTIO_NET_F_MTU). */
export const VIRTIO_NET_F_MTU = 3;
/** Net feature bit 5: the device has a MAC address in config space (VIRTIO_NET_F_MAC). */
export const VIRTIO_NET_F_MAC = 5;
/** Net feature bit 15: the driver can merge receive buffers (VIRTIO_NET_F_MRG_RXBUF). */
export const VIRTIO_NET_F_MRG_RXBUF = 15;
/** Net feature bit 16: the status config field (link up) is valid (VIRTIO_NET_F_STATUS). */
export const VIRTIO_NET_F_STATUS = 16;
/** Net feature bit 17: a control virtqueue is present (VIRTIO_NET_F_CTRL_VQ). */
export const VIRTIO_NET_F_CTRL_VQ = 17;
/** Net feature bit 22: multiqueue with automatic steering (VIRTIO_NET_F_MQ). */
export const VIRTIO_NET_F_MQ = 22;
/** Feature bit 24: notify when the available ring runs empty, legacy (VIRTIO_F_NOTIFY_ON_EMPTY). */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
/** Feature bit 27: descriptors may be laid out freely, legacy (VIRTIO_F_ANY_LAYOUT). */
export const VIRTIO_F_ANY_LAYOUT = 27;
/** Feature bit 28: indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC). */
export const VIRTIO_F_RING_INDIRECT_DESC = 28;
/** Feature bit 29: used_event/avail_event notification suppression (VIRTIO_RING_F_EVENT_IDX). */
export const VIRTIO_F_RING_EVENT_IDX = 29;
/** Feature bit 32: the device conforms to virtio 1.0 or later (VIRTIO_F_VERSION_1). */
export const VIRTIO_F_VERSION_1 = 32;
/** Feature bit 33: the device accesses memory through the platform IOMMU (VIRTIO_F_ACCESS_PLATFORM). */
export const VIRTIO_F_ACCESS_PLATFORM = 33;
/** Feature bit 34: packed virtqueue layout (VIRTIO_F_RING_PACKED). */
export const VIRTIO_F_RING_PACKED = 34;
/** Feature bit 35: buffers are used in the order they were made available (VIRTIO_F_IN_ORDER). */
export const VIRTIO_F_IN_ORDER = 35;
/** Feature bit 36: memory accesses are ordered as the platform requires (VIRTIO_F_ORDER_PLATFORM). */
export const VIRTIO_F_ORDER_PLATFORM = 36;
/** Feature bit 37: the device supports SR-IOV (VIRTIO_F_SR_IOV). */
export const VIRTIO_F_SR_IOV = 37;
/** Feature bit 38: the driver passes extra data with notifications (VIRTIO_F_NOTIFICATION_DATA). */
export const VIRTIO_F_NOTIFICATION_DATA = 38;
/** Feature bit 39: the driver uses queue_notify_data as the notification value (VIRTIO_F_NOTIF_CONFIG_DATA). */
export const VIRTIO_F_NOTIF_CONFIG_DATA = 39;
/** Feature bit 40: single virtqueues can be reset (VIRTIO_F_RING_RESET). */
export const VIRTIO_F_RING_RESET = 40;
/** Feature bit 41: the device has an administration virtqueue (VIRTIO_F_ADMIN_VQ). */
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
/** Virtio PCI cap cfg_type: common configuration (VIRTIO_PCI_CAP_COMMON_CFG). */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
/** Virtio PCI cap cfg_type: notifications (VIRTIO_PCI_CAP_NOTIFY_CFG). */
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
/** Virtio PCI cap cfg_type: ISR status (VIRTIO_PCI_CAP_ISR_CFG). */
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
/** Virtio PCI cap cfg_type: device-specific configuration (VIRTIO_PCI_CAP_DEVICE_CFG). */
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
/** Virtio PCI cap cfg_type: PCI configuration access window (VIRTIO_PCI_CAP_PCI_CFG). */
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
// struct virtio_pci_cap
/** struct virtio_pci_cap: offset of cap_vndr, the vendor-specific capability ID. */
export const VIRTIO_PCI_CAP_VNDR = 0;
/** struct virtio_pci_cap: offset of cap_next. */
export const VIRTIO_PCI_CAP_NEXT = 1;
/** struct virtio_pci_cap: offset of cap_len, the capability length. */
export const VIRTIO_PCI_CAP_LEN = 2;
/** struct virtio_pci_cap: offset of cfg_type (VIRTIO_PCI_CAP_*_CFG). */
export const VIRTIO_PCI_CAP_CFG_TYPE = 3;
/** struct virtio_pci_cap: offset of bar, the BAR holding the structure. */
export const VIRTIO_PCI_CAP_BAR = 4;
/** struct virtio_pci_cap: offset of id, telling apart several caps of one type. */
export const VIRTIO_PCI_CAP_ID = 5;
/** struct virtio_pci_cap: offset of offset, the structure's place in the BAR (le32). */
export const VIRTIO_PCI_CAP_OFFSET = 8;
/** struct virtio_pci_cap: offset of length, the structure's size in bytes (le32). */
export const VIRTIO_PCI_CAP_LENGTH = 12;
/** sizeof(struct virtio_pci_cap). */
export const VIRTIO_PCI_CAP_SIZEOF = 16;
/** struct virtio_pci_notify_cap: notify_off_multiplier after the cap */
export const VIRTIO_PCI_NOTIFY_CAP_MULT = 16;
/** sizeof(struct virtio_pci_notify_cap). */
export const VIRTIO_PCI_NOTIFY_CAP_SIZEOF = 20;
/** struct virtio_pci_cfg_cap: pci_cfg_data after the cap */
export const VIRTIO_PCI_CFG_CAP_DATA = 16;
/** sizeof(struct virtio_pci_cfg_cap). */
export const VIRTIO_PCI_CFG_CAP_SIZEOF = 20;

// ---- struct virtio_pci_common_cfg (4.1.4.3) -------------------------------------------------------------
/** Common cfg: device_feature_select, which 32-bit half of device features to show (le32). */
export const VIRTIO_PCI_COMMON_DFSELECT = 0;
/** Common cfg: device_feature, the selected half of the device's features (le32, read-only). */
export const VIRTIO_PCI_COMMON_DF = 4;
/** Common cfg: driver_feature_select, which 32-bit half of driver features to write (le32). */
export const VIRTIO_PCI_COMMON_GFSELECT = 8;
/** Common cfg: driver_feature, the selected half of the accepted features (le32). */
export const VIRTIO_PCI_COMMON_GF = 12;
/** Common cfg: config_msix_vector, MSI-X vector for configuration changes (le16). */
export const VIRTIO_PCI_COMMON_MSIX = 16;
/** Common cfg: num_queues, the number of virtqueues (le16, read-only). */
export const VIRTIO_PCI_COMMON_NUMQ = 18;
/** Common cfg: device_status (u8, VIRTIO_CONFIG_S_*); writing 0 resets. */
export const VIRTIO_PCI_COMMON_STATUS = 20;
/** Common cfg: config_generation, changes when device config changes (u8). */
export const VIRTIO_PCI_COMMON_CFGGENERATION = 21;
/** Common cfg: queue_select, the queue the queue_* fields refer to (le16). */
export const VIRTIO_PCI_COMMON_Q_SELECT = 22;
/** Common cfg: queue_size of the selected queue (le16). */
export const VIRTIO_PCI_COMMON_Q_SIZE = 24;
/** Common cfg: queue_msix_vector of the selected queue (le16). */
export const VIRTIO_PCI_COMMON_Q_MSIX = 26;
/** Common cfg: queue_enable of the selected queue (le16). */
export const VIRTIO_PCI_COMMON_Q_ENABLE = 28;
/** Common cfg: queue_notify_off, the selected queue's notify offset multiplier index (le16). */
export const VIRTIO_PCI_COMMON_Q_NOFF = 30;
/** Common cfg: queue_desc, low 32 bits of the descriptor table address. */
export const VIRTIO_PCI_COMMON_Q_DESCLO = 32;
/** Common cfg: queue_desc, high 32 bits of the descriptor table address. */
export const VIRTIO_PCI_COMMON_Q_DESCHI = 36;
/** Common cfg: queue_driver, low 32 bits of the available ring address. */
export const VIRTIO_PCI_COMMON_Q_AVAILLO = 40;
/** Common cfg: queue_driver, high 32 bits of the available ring address. */
export const VIRTIO_PCI_COMMON_Q_AVAILHI = 44;
/** Common cfg: queue_device, low 32 bits of the used ring address. */
export const VIRTIO_PCI_COMMON_Q_USEDLO = 48;
/** Common cfg: queue_device, high 32 bits of the used ring address. */
export const VIRTIO_PCI_COMMON_Q_USEDHI = 52;
/** Common cfg: queue_notify_data of the selected queue (le16). */
export const VIRTIO_PCI_COMMON_Q_NDATA = 56;
/** Common cfg: queue_reset, reset the selected queue (le16). */
export const VIRTIO_PCI_COMMON_Q_RESET = 58;
/** Common cfg: admin_queue_index, the first administration virtqueue (le16). */
export const VIRTIO_PCI_COMMON_ADM_Q_IDX = 60;
/** Common cfg: admin_queue_num, the number of administration virtqueues (le16). */
export const VIRTIO_PCI_COMMON_ADM_Q_NUM = 62;
/** sizeof(struct virtio_pci_modern_common_cfg) */
export const VIRTIO_PCI_COMMON_CFG_SIZEOF = 64;
/** MSI-X vector value meaning "no vector": no interrupt (VIRTIO_MSI_NO_VECTOR). */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

// ---- ISR status (4.1.4.5) ----------------------------------------------------------------------------------
/** ISR status bit: a virtqueue has used buffers (VIRTIO_PCI_ISR_QUEUE). */
export const VIRTIO_PCI_ISR_QUEUE = 0x1;
/** ISR status bit: the device configuration changed (VIRTIO_PCI_ISR_CONFIG). */
export const VIRTIO_PCI_ISR_CONFIG = 0x2;

// ---- legacy register layout (4.1.4.10; virtio_pci.h without VIRTIO_PCI_NO_LEGACY) ---------------------------
/** Legacy I/O register: device features, bits 0-31 (VIRTIO_PCI_HOST_FEATURES). */
export const VIRTIO_PCI_HOST_FEATURES = 0;
/** Legacy I/O register: driver features, bits 0-31 (VIRTIO_PCI_GUEST_FEATURES). */
export const VIRTIO_PCI_GUEST_FEATURES = 4;
/** Legacy I/O register: page frame number of the selected queue (VIRTIO_PCI_QUEUE_PFN). */
export const VIRTIO_PCI_QUEUE_PFN = 8;
/** Legacy I/O register: size of the selected queue, read-only (VIRTIO_PCI_QUEUE_NUM). */
export const VIRTIO_PCI_QUEUE_NUM = 12;
/** Legacy I/O register: queue select (VIRTIO_PCI_QUEUE_SEL). */
export const VIRTIO_PCI_QUEUE_SEL = 14;
/** Legacy I/O register: queue notify, write a queue index (VIRTIO_PCI_QUEUE_NOTIFY). */
export const VIRTIO_PCI_QUEUE_NOTIFY = 16;
/** Legacy I/O register: device status (VIRTIO_PCI_STATUS). */
export const VIRTIO_PCI_STATUS = 18;
/** Legacy I/O register: ISR status, cleared on read (VIRTIO_PCI_ISR). */
export const VIRTIO_PCI_ISR = 19;
/** Legacy I/O register with MSI-X enabled: config change vector (VIRTIO_MSI_CONFIG_VECTOR). */
export const VIRTIO_MSI_CONFIG_VECTOR = 20;
/** Legacy I/O register with MSI-X enabled: selected queue's vector (VIRTIO_MSI_QUEUE_VECTOR). */
export const VIRTIO_MSI_QUEUE_VECTOR = 22;
/** where the device-specific configuration starts in the legacy layout */
export function VIRTIO_PCI_CONFIG_OFF(msixEnabled: boolean): number {
  return msixEnabled ? 24 : 20;
}
/** Legacy: shift from VIRTIO_PCI_QUEUE_PFN to a byte address (VIRTIO_PCI_QUEUE_ADDR_SHIFT). */
export const VIRTIO_PCI_QUEUE_ADDR_SHIFT = 12;
/** Legacy: alignment of the used ring within a legacy queue (VIRTIO_PCI_VRING_ALIGN). */
export const VIRTIO_PCI_VRING_ALIGN = 4096;

// ---- split virtqueues (2.7) ----------------------------------------------------------------------------------
/** Descriptor flag: the buffer continues in the next field (VRING_DESC_F_NEXT). */
export const VRING_DESC_F_NEXT = 1;
/** Descriptor flag: the buffer is device-writable (VRING_DESC_F_WRITE). */
export const VRING_DESC_F_WRITE = 2;
/** Descriptor flag: the buffer holds an indirect descriptor table (VRING_DESC_F_INDIRECT). */
export const VRING_DESC_F_INDIRECT = 4;
/** Available ring flag: the driver does not want interrupts (VRING_AVAIL_F_NO_INTERRUPT). */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: the device does not want notifications (VRING_USED_F_NO_NOTIFY). */
export const VRING_USED_F_NO_NOTIFY = 1;
/** sizeof(struct vring_desc): addr le64, len le32, flags le16, next le16. */
export const VRING_DESC_SIZE = 16;
/** sizeof(struct vring_used_elem): id le32, len le32. */
export const VRING_USED_ELEM_SIZE = 8;
/** the largest split queue size (2.7: Queue Size is at most 32768) */
export const VIRTQUEUE_MAX_SIZE = 32768;

// ---- virtio-net (5.1) -----------------------------------------------------------------------------------------
/** struct virtio_net_config */
export const VIRTIO_NET_CFG_MAC = 0;
/** struct virtio_net_config: offset of status (le16, VIRTIO_NET_S_*). */
export const VIRTIO_NET_CFG_STATUS = 6;
/** struct virtio_net_config: offset of max_virtqueue_pairs (le16). */
export const VIRTIO_NET_CFG_MAX_VQ_PAIRS = 8;
/** struct virtio_net_config: offset of mtu (le16). */
export const VIRTIO_NET_CFG_MTU = 10;
/** struct virtio_net_config: offset of speed in Mbit/s (le32). */
export const VIRTIO_NET_CFG_SPEED = 12;
/** struct virtio_net_config: offset of duplex (u8). */
export const VIRTIO_NET_CFG_DUPLEX = 16;
/** the device configuration this model presents: mac .. duplex, padded to a dword */
export const VIRTIO_NET_CFG_SIZEOF = 20;
/** Net config status bit: the link is up (VIRTIO_NET_S_LINK_UP). */
export const VIRTIO_NET_S_LINK_UP = 1;
/** struct virtio_net_hdr without and with num_buffers (VERSION_1 or MRG_RXBUF negotiated) */
export const VIRTIO_NET_HDR_LEGACY_SIZE = 10;
/** sizeof(struct virtio_net_hdr_mrg_rxbuf), with num_buffers: the header under VERSION_1 or MRG_RXBUF. */
export const VIRTIO_NET_HDR_SIZE = 12;
/** Index of the first receive queue (receiveq1). */
export const VIRTIO_NET_RX_QUEUE = 0;
/** Index of the first transmit queue (transmitq1). */
export const VIRTIO_NET_TX_QUEUE = 1;

// ---- group administration commands (2.12) ------------------------------------------------------------------------
/** Admin command opcode: query the supported commands (VIRTIO_ADMIN_CMD_LIST_QUERY). */
export const VIRTIO_ADMIN_CMD_LIST_QUERY = 0x0;
/** Admin command opcode: tell the device which commands the driver uses (VIRTIO_ADMIN_CMD_LIST_USE). */
export const VIRTIO_ADMIN_CMD_LIST_USE = 0x1;
/** Admin command opcode: write a member's legacy common config (VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE). */
export const VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE = 0x2;
/** Admin command opcode: read a member's legacy common config (VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ). */
export const VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ = 0x3;
/** Admin command opcode: write a member's legacy device config (VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE). */
export const VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE = 0x4;
/** Admin command opcode: read a member's legacy device config (VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ). */
export const VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ = 0x5;
/** Admin command opcode: where a member's legacy notifications go (VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO). */
export const VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO = 0x6;
/** Admin group type: the SR-IOV group, members are the VFs (VIRTIO_ADMIN_GROUP_TYPE_SRIOV). */
export const VIRTIO_ADMIN_GROUP_TYPE_SRIOV = 0x1;
/** Admin command status: success (VIRTIO_ADMIN_STATUS_OK). */
export const VIRTIO_ADMIN_STATUS_OK = 0;
/** Admin command status: try again, errno EAGAIN (VIRTIO_ADMIN_STATUS_EAGAIN). */
export const VIRTIO_ADMIN_STATUS_EAGAIN = 11;
/** Admin command status: out of resources, errno ENOMEM (VIRTIO_ADMIN_STATUS_ENOMEM). */
export const VIRTIO_ADMIN_STATUS_ENOMEM = 12;
/** Admin command status: invalid command, errno EINVAL (VIRTIO_ADMIN_STATUS_EINVAL). */
export const VIRTIO_ADMIN_STATUS_EINVAL = 22;
/** Admin status qualifier: no detail (VIRTIO_ADMIN_STATUS_Q_OK). */
export const VIRTIO_ADMIN_STATUS_Q_OK = 0x0;
/** Admin status qualifier: malformed command (VIRTIO_ADMIN_STATUS_Q_INVALID_COMMAND). */
export const VIRTIO_ADMIN_STATUS_Q_INVALID_COMMAND = 0x1;
/** Admin status qualifier: unknown or unused opcode (VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE). */
export const VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE = 0x2;
/** Admin status qualifier: a field holds a bad value (VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD). */
export const VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD = 0x3;
/** Admin status qualifier: unknown group type (VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP). */
export const VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP = 0x4;
/** Admin status qualifier: no such group member (VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER). */
export const VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER = 0x5;
/** Admin status qualifier: out of resources (VIRTIO_ADMIN_STATUS_Q_NORESOURCE). */
export const VIRTIO_ADMIN_STATUS_Q_NORESOURCE = 0x6;
/** Admin status qualifier: busy, retry later (VIRTIO_ADMIN_STATUS_Q_TRYAGAIN). */
export const VIRTIO_ADMIN_STATUS_Q_TRYAGAIN = 0x7;
/** struct virtio_admin_cmd_hdr: opcode le16, group_type le16, reserved1[12], group_member_id le64 */
export const VIRTIO_ADMIN_CMD_HDR_SIZEOF = 24;
/** struct virtio_admin_cmd_hdr: offset of opcode (le16). */
export const VIRTIO_ADMIN_CMD_HDR_OPCODE = 0;
/** struct virtio_admin_cmd_hdr: offset of group_type (le16). */
export const VIRTIO_ADMIN_CMD_HDR_GROUP_TYPE = 2;
/** struct virtio_admin_cmd_hdr: offset of group_member_id (le64), the VF number for SR-IOV. */
export const VIRTIO_ADMIN_CMD_HDR_MEMBER_ID = 16;
/** struct virtio_admin_cmd_status: status le16, status_qualifier le16, reserved2[4] */
export const VIRTIO_ADMIN_CMD_STATUS_SIZEOF = 8;
/** struct virtio_admin_cmd_legacy_wr_data: offset u8, reserved[7], registers[] */
export const VIRTIO_ADMIN_LEGACY_WR_DATA_HDR = 8;
/** struct virtio_admin_cmd_notify_info_data: flags u8, bar u8, padding[6], offset le64 */
export const VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_END = 0;
/** Notify info flags: the notification address is in the owner (PF) device (VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_DEV). */
export const VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_DEV = 1;
/** Linux's name for the spec's "member device" entries (flags 2) */
export const VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM = 2;
/** Number of entries in the LEGACY_NOTIFY_INFO result (VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO). */
export const VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO = 4;
/** sizeof(struct virtio_admin_cmd_notify_info_data). */
export const VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF = 16;
/** the legacy access commands and LEGACY_NOTIFY_INFO: Linux's VIRTIO_LEGACY_ADMIN_CMD_BITMAP */
export const VIRTIO_LEGACY_ADMIN_CMD_BITMAP =
  (1 << VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO);
