import {
  VIRTIO_MSI_CONFIG_VECTOR, VIRTIO_MSI_QUEUE_VECTOR, VIRTIO_PCI_CONFIG_OFF, VIRTIO_PCI_GUEST_FEATURES, VIRTIO_PCI_HOST_FEATURES,
  VIRTIO_PCI_ISR, VIRTIO_PCI_QUEUE_NOTIFY, VIRTIO_PCI_QUEUE_NUM, VIRTIO_PCI_QUEUE_PFN, VIRTIO_PCI_QUEUE_SEL, VIRTIO_PCI_STATUS,
} from '../hw/devices/virtio/virtioSpec.js';
import type { LegacyIo } from './legacyIo.js';

/**
 * The legacy virtio PCI register interface (virtio 0.9.5, the I/O BAR), one method per register
 * operation of Linux's virtio_pci_legacy_dev.c and the config/status ops of virtio_pci_legacy.c,
 * with the same accesses in the same order: queue operations select the queue first every time,
 * vector writes are read back (the device answers VIRTIO_MSI_NO_VECTOR when it has no room), device
 * configuration goes byte by byte at VIRTIO_PCI_CONFIG_OFF(msix_enabled) + offset.
 */
export class VirtioPciLegacyTransport {
  /** vp_dev->msix_enabled: MSI-X vectors are allocated, so the two vector registers sit at 20 and 22 */
  msixEnabled = false;

  constructor(readonly io: LegacyIo) {}

  /** vp_legacy_get_features: the device's feature bits 0-31. */
  getFeatures(): number {
    return this.io.read(VIRTIO_PCI_HOST_FEATURES, 4);
  }

  /** vp_legacy_get_driver_features */
  getDriverFeatures(): number {
    return this.io.read(VIRTIO_PCI_GUEST_FEATURES, 4);
  }

  /** vp_legacy_set_features (vp_finalize_features): the accepted bits 0-31. */
  setFeatures(features: number): void {
    this.io.write(VIRTIO_PCI_GUEST_FEATURES, 4, features >>> 0);
  }

  /** vp_legacy_get_status */
  getStatus(): number {
    return this.io.read(VIRTIO_PCI_STATUS, 1);
  }

  /** vp_set_status: never 0 (that is a reset). */
  setStatus(status: number): void {
    if ((status & 0xff) === 0) throw new RangeError('a status of 0 is a reset: use reset()');
    this.io.write(VIRTIO_PCI_STATUS, 1, status & 0xff);
  }

  /** vp_reset: write 0, then read status back to flush the write (and the device's interrupts). */
  reset(): void {
    this.io.write(VIRTIO_PCI_STATUS, 1, 0);
    this.io.read(VIRTIO_PCI_STATUS, 1);
  }

  /** Where the device configuration starts: 24 with MSI-X vectors allocated, 20 without. */
  get configOffset(): number {
    return VIRTIO_PCI_CONFIG_OFF(this.msixEnabled);
  }

  /** vp_get: `len` bytes of device configuration at `offset`, one ioread8 each. */
  get(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const at = this.configOffset + offset;
    for (let i = 0; i < len; i++) out[i] = this.io.read(at + i, 1);
    return out;
  }

  /** vp_set: device configuration bytes at `offset`, one iowrite8 each. */
  set(offset: number, bytes: Uint8Array): void {
    const at = this.configOffset + offset;
    for (let i = 0; i < bytes.length; i++) this.io.write(at + i, 1, bytes[i]);
  }

  /** virtio_cread16 over the legacy transport: two byte reads, little-endian (x86 guest). */
  cread16(offset: number): number {
    const b = this.get(offset, 2);
    return b[0] | (b[1] << 8);
  }

  /** vp_legacy_config_vector: set the configuration-change vector and read back what the device took. */
  configVector(vector: number): number {
    this.io.write(VIRTIO_MSI_CONFIG_VECTOR, 2, vector & 0xffff);
    return this.io.read(VIRTIO_MSI_CONFIG_VECTOR, 2);
  }

  /** vp_legacy_queue_vector: select the queue, set its vector, read back what the device took. */
  queueVector(index: number, vector: number): number {
    this.io.write(VIRTIO_PCI_QUEUE_SEL, 2, index);
    this.io.write(VIRTIO_MSI_QUEUE_VECTOR, 2, vector & 0xffff);
    return this.io.read(VIRTIO_MSI_QUEUE_VECTOR, 2);
  }

  /** vp_legacy_get_queue_size: 0 when the queue does not exist. */
  getQueueSize(index: number): number {
    this.io.write(VIRTIO_PCI_QUEUE_SEL, 2, index);
    return this.io.read(VIRTIO_PCI_QUEUE_NUM, 2);
  }

  /** vp_legacy_get_queue_enable: a queue with an address is active. */
  getQueueEnable(index: number): boolean {
    this.io.write(VIRTIO_PCI_QUEUE_SEL, 2, index);
    return this.io.read(VIRTIO_PCI_QUEUE_PFN, 4) !== 0;
  }

  /** vp_legacy_set_queue_address: the ring's page frame number (0 deactivates the queue). */
  setQueueAddress(index: number, pfn: number): void {
    this.io.write(VIRTIO_PCI_QUEUE_SEL, 2, index);
    this.io.write(VIRTIO_PCI_QUEUE_PFN, 4, pfn >>> 0);
  }

  /** vp_notify: the queue's index written to QUEUE_NOTIFY. */
  notify(index: number): void {
    this.io.write(VIRTIO_PCI_QUEUE_NOTIFY, 2, index);
  }

  /** The ISR status byte; reading it clears it and deasserts INTx. */
  readIsr(): number {
    return this.io.read(VIRTIO_PCI_ISR, 1);
  }
}
