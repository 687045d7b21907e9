import type { AdminQueueClient } from '../../hw/devices/virtio/adminClient.js';
import type { Hardware } from '../../hw/hardware.js';
import {
  VIRTIO_ADMIN_CMD_HDR_SIZEOF, VIRTIO_ADMIN_CMD_STATUS_SIZEOF, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, VIRTIO_ADMIN_LEGACY_WR_DATA_HDR,
  VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_SIZE, VRING_USED_ELEM_SIZE,
} from '../../hw/devices/virtio/virtioSpec.js';
import { VfioError } from '../vfio/vfioError.js';

/** Guest memory the fast path needs besides the client's ring: one command page, one result page. */
export const ADMIN_VQ_FAST_BYTES = 2 * 4096;

/**
 * The PF driver's per-command path on its administration virtqueue (vp_modern_admin_cmd_exec) for
 * the legacy access commands a VF's variant driver issues on every register access: one
 * two-descriptor chain (the command header and data, device-readable; the status and result,
 * device-writable) in buffers set aside at setup, made available, notified, and completed by the
 * time the notification returns (the device executes admin commands synchronously). No allocation
 * per command.
 *
 * It runs on the queue an AdminQueueClient set up (negotiation, LIST_QUERY/LIST_USE and the other
 * commands stay the client's). The chain uses the last two descriptors of the ring, which the
 * client's own free list only reaches with size - 2 of its commands outstanding; the client submits
 * one at a time, so the two never meet.
 */
export class AdminVqFastPath {
  private readonly d0: number;
  private readonly d1: number;
  private readonly notifyAddr: number;
  /** the last command's result bytes (command_specific_result), little-endian */
  result = 0;
  /** commands issued */
  issued = 0;

  constructor(
    readonly hw: Hardware,
    readonly client: AdminQueueClient,
    /** ADMIN_VQ_FAST_BYTES of DMA memory */
    readonly bufBase: number,
  ) {
    const q = client.queue;
    this.d0 = q.size - 2;
    this.d1 = q.size - 1;
    this.notifyAddr = client.driver.notifyAddress(client.queueIndex);
  }

  // the host's memory may be an embedder's buffer that is replaced at any time: looked up per command
  private get view(): DataView {
    return this.hw.memory.view;
  }

  private get bytes(): Uint8Array {
    return this.hw.memory.bytes;
  }

  private get cmdAddr(): number {
    return this.bufBase;
  }

  private get resAddr(): number {
    return this.bufBase + 4096;
  }

  /**
   * One SR-IOV group command for member `memberId` with `dataLen` bytes of command_specific_data
   * already at data() and room for `resultLen` result bytes. Returns the admin status (0 OK); the
   * result's first bytes (up to 4) are in `result`. EIO when the device did not complete the command
   * (it needs a reset, or the PF is gone).
   */
  exec(opcode: number, memberId: number, dataLen: number, resultLen: number): number {
    const v = this.view;
    const cmd = this.cmdAddr;
    const res = this.resAddr;
    const q = this.client.queue;
    v.setUint32(cmd, (opcode & 0xffff) | (VIRTIO_ADMIN_GROUP_TYPE_SRIOV << 16), true);
    v.setUint32(cmd + 16, memberId >>> 0, true);
    // status and result start out as "not written": a device that completes without writing fails
    v.setUint32(res, 0xffffffff, true);
    v.setUint32(res + VIRTIO_ADMIN_CMD_STATUS_SIZEOF, 0, true);
    const desc = q.descAddr;
    const a = desc + VRING_DESC_SIZE * this.d0;
    v.setUint32(a, cmd, true);
    v.setUint32(a + 4, 0, true);
    v.setUint32(a + 8, VIRTIO_ADMIN_CMD_HDR_SIZEOF + dataLen, true);
    v.setUint32(a + 12, VRING_DESC_F_NEXT | (this.d1 << 16), true);
    const b = desc + VRING_DESC_SIZE * this.d1;
    v.setUint32(b, res, true);
    v.setUint32(b + 4, 0, true);
    v.setUint32(b + 8, VIRTIO_ADMIN_CMD_STATUS_SIZEOF + resultLen, true);
    v.setUint32(b + 12, VRING_DESC_F_WRITE, true);
    const expect = (q.lastUsed + 1) & 0xffff;
    q.makeAvailable(this.d0);
    this.issued++;
    this.hw.mmioWrite(this.notifyAddr, 2, this.client.queueIndex);
    if (q.usedIdx !== expect) {
      // the device did not take the chain: take it back off the ring so the next command starts clean
      q.availIdx = (q.availIdx - 1) & 0xffff;
      v.setUint16(q.availAddr + 2, q.availIdx, true);
      throw new VfioError('EIO', `${this.client.driver.bdf}: the administration queue did not complete the command`);
    }
    const e = q.usedAddr + 4 + VRING_USED_ELEM_SIZE * (q.lastUsed % q.size);
    q.reclaim();
    if (v.getUint32(e, true) !== this.d0) throw new VfioError('EIO', `${this.client.driver.bdf}: the administration queue completed another chain`);
    const status = v.getUint16(res, true);
    if (status === 0xffff) throw new VfioError('EIO', `${this.client.driver.bdf}: the administration command completed without a status`);
    this.result = v.getUint32(res + VIRTIO_ADMIN_CMD_STATUS_SIZEOF, true);
    return status;
  }

  /** Where command_specific_data goes (offset 24 of the command). */
  get data(): number {
    return this.cmdAddr + VIRTIO_ADMIN_CMD_HDR_SIZEOF;
  }

  /**
   * A legacy read command (LEGACY_COMMON_CFG_READ / LEGACY_DEV_CFG_READ): data is the one-byte
   * offset, the result `size` register bytes. Returns the status; the value is in `result`.
   */
  legacyRead(opcode: number, memberId: number, offset: number, size: number): number {
    this.bytes[this.data] = offset;
    const status = this.exec(opcode, memberId, 1, size);
    if (size < 4) this.result &= (1 << (8 * size)) - 1;
    return status;
  }

  /**
   * A legacy write command (LEGACY_COMMON_CFG_WRITE / LEGACY_DEV_CFG_WRITE): data is struct
   * virtio_admin_cmd_legacy_wr_data (offset, 7 reserved bytes, the register bytes). Returns the status.
   */
  legacyWrite(opcode: number, memberId: number, offset: number, size: number, value: number): number {
    const d = this.data;
    const v = this.view;
    v.setUint32(d, offset & 0xff, true);
    v.setUint32(d + 4, 0, true);
    const r = d + VIRTIO_ADMIN_LEGACY_WR_DATA_HDR;
    if (size === 4) v.setUint32(r, value >>> 0, true);
    else if (size === 2) v.setUint16(r, value & 0xffff, true);
    else this.bytes[r] = value & 0xff;
    return this.exec(opcode, memberId, VIRTIO_ADMIN_LEGACY_WR_DATA_HDR + size, 0);
  }
}
