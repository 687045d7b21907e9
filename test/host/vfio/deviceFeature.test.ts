// VFIO_DEVICE_FEATURE header checks (vfio_ioctl_device_feature) and the features plain vfio-pci answers
// (vfio_pci_core_ioctl_feature): PCI_VF_TOKEN only on an SR-IOV PF, ENOTTY for what it does not know.
import { describe, expect, it } from 'vitest';
import { PCIE_SPEC, VFIO, errno, openOne, u32s } from './machine.js';

const GET = VFIO.DEVICE_FEATURE_GET;
const SET = VFIO.DEVICE_FEATURE_SET;
const PROBE = VFIO.DEVICE_FEATURE_PROBE;

describe('DEVICE_FEATURE header', () => {
  it('needs argsz of at least 8 (EINVAL) and an 8-byte buffer (EFAULT)', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const argsz of [0, 4, 7]) expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(8, argsz, PROBE | GET)))).toBe('EINVAL');
    expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(4, 8)))).toBe('EFAULT');
  });

  it('rejects flags outside the feature number and GET/SET/PROBE with EINVAL', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const bit of [1 << 19, 1 << 20, 1 << 31]) {
      expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(8, 8, (PROBE | GET | bit) >>> 0)))).toBe('EINVAL');
    }
  });

  it('takes GET and SET together only with PROBE', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(24, 24, GET | SET | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN)))).toBe('EINVAL');
    // with PROBE the header passes and the feature answers (vfio-pci: no token on this device)
    expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(24, 24, GET | SET | PROBE | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN)))).toBe('ENOTTY');
  });
});

describe('features of plain vfio-pci', () => {
  it('answers ENOTTY for PCI_VF_TOKEN on a device that is not an SR-IOV PF, whatever the operation', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const op of [PROBE, SET, GET, PROBE | SET, PROBE | GET, 0]) {
      expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(24, 24, op | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN)))).toBe('ENOTTY');
    }
  });

  it('answers ENOTTY for migration and DMA logging (no migration or log ops) and unknown feature numbers', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const features = [
      VFIO.DEVICE_FEATURE_MIGRATION, VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO.DEVICE_FEATURE_DMA_LOGGING_START,
      VFIO.DEVICE_FEATURE_DMA_LOGGING_STOP, VFIO.DEVICE_FEATURE_DMA_LOGGING_REPORT, VFIO.DEVICE_FEATURE_MIG_DATA_SIZE,
      0x100, 0xffff,
    ];
    for (const feature of features) {
      for (const op of [PROBE | GET, PROBE | SET, GET, SET]) {
        expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, u32s(64, 64, op | feature)))).toBe('ENOTTY');
      }
    }
  });

  it('leaves the argument untouched when it fails', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const arg = u32s(24, 24, PROBE | GET | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN, 0x11111111, 0x22222222);
    const copy = arg.slice();
    expect(errno(() => file.ioctl(VFIO.DEVICE_FEATURE, arg))).toBe('ENOTTY');
    expect(arg).toEqual(copy);
  });
});
