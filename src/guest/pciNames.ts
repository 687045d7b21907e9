// A small excerpt of pci.ids (https://pci-ids.ucw.cz): the names lspci would print for the classes
// and devices the default topology and the tests use. Anything else falls back to numbers, as
// lspci does without a name database.

const VENDORS: Record<number, string> = {
  0x1000: 'Broadcom / LSI',
  0x1022: 'Advanced Micro Devices, Inc. [AMD]',
  0x10de: 'NVIDIA Corporation',
  0x10ec: 'Realtek Semiconductor Co., Ltd.',
  0x144d: 'Samsung Electronics Co Ltd',
  0x15b3: 'Mellanox Technologies',
  0x1af4: 'Red Hat, Inc.',
  0x1b36: 'Red Hat, Inc.',
  0x8086: 'Intel Corporation',
};

const DEVICES: Record<string, string> = {
  '10de:1aef': 'GA102 High Definition Audio Controller',
  '10de:2204': 'GA102 [GeForce RTX 3090]',
  '10ec:8139': 'RTL-8100/8101L/8139 PCI Fast Ethernet Adapter',
  '144d:a808': 'NVMe SSD Controller SM981/PM981/PM983',
  '15b3:1017': 'MT27800 Family [ConnectX-5]',
  '15b3:1018': 'MT27800 Family [ConnectX-5 Virtual Function]',
  '1af4:1000': 'Virtio network device',
  '1af4:1041': 'Virtio 1.0 network device',
  '1b36:0001': 'QEMU PCI-PCI bridge',
  '1b36:000c': 'QEMU PCIe Root port',
  '1b36:000e': 'QEMU PCIe-to-PCI bridge',
  '8086:1521': 'I350 Gigabit Network Connection',
  '8086:1520': 'I350 Ethernet Controller Virtual Function',
  '8086:29c0': '82G33/G31/P35/P31 Express DRAM Controller',
};

/** Base class << 8 | subclass. */
const CLASSES: Record<number, string> = {
  0x0000: 'Non-VGA unclassified device',
  0x0100: 'SCSI storage controller',
  0x0101: 'IDE interface',
  0x0106: 'SATA controller',
  0x0107: 'Serial Attached SCSI controller',
  0x0108: 'Non-Volatile memory controller',
  0x0180: 'Mass storage controller',
  0x0200: 'Ethernet controller',
  0x0207: 'Infiniband controller',
  0x0280: 'Network controller',
  0x0300: 'VGA compatible controller',
  0x0302: '3D controller',
  0x0380: 'Display controller',
  0x0401: 'Multimedia audio controller',
  0x0403: 'Audio device',
  0x0500: 'RAM memory',
  0x0600: 'Host bridge',
  0x0601: 'ISA bridge',
  0x0604: 'PCI bridge',
  0x0680: 'Bridge',
  0x0700: 'Serial controller',
  0x0780: 'Communication controller',
  0x0880: 'System peripheral',
  0x0c03: 'USB controller',
  0x0c05: 'SMBus',
  0x1200: 'Processing accelerators',
  0xff00: 'Unassigned class',
};

/** Full 24-bit class code -> programming interface name. */
const PROG_IFS: Record<number, string> = {
  0x010601: 'AHCI 1.0',
  0x010802: 'NVM Express',
  0x030000: 'VGA controller',
  0x060400: 'Normal decode',
  0x060401: 'Subtractive decode',
  0x0c0320: 'EHCI',
  0x0c0330: 'XHCI',
};

const h4 = (n: number) => n.toString(16).padStart(4, '0');

export function className(classCode: number): string {
  const cls = classCode >>> 8;
  return CLASSES[cls] ?? `Class ${h4(cls)}`;
}

export function progIfName(classCode: number): string | undefined {
  return PROG_IFS[classCode];
}

export function vendorName(vendorId: number): string | undefined {
  return VENDORS[vendorId];
}

/** "Vendor Device" as lspci prints it, falling back to numbers where the table has no name. */
export function deviceName(vendorId: number, deviceId: number): string {
  const v = VENDORS[vendorId];
  if (v === undefined) return `Device ${h4(vendorId)}:${h4(deviceId)}`;
  return `${v} ${DEVICES[`${h4(vendorId)}:${h4(deviceId)}`] ?? `Device ${h4(deviceId)}`}`;
}
