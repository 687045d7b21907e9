import type { Hardware } from '../../hardware.js';
import { DriverVirtqueue } from './driverVirtqueue.js';
import type { DriverBuffer } from './driverVirtqueue.js';
import { VirtioModernDriver } from './modernDriver.js';
import type { VirtioNetPf } from './virtioNetPf.js';
import {
  featureBits, VIRTIO_ADMIN_CMD_HDR_SIZEOF, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE,
  VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO,
  VIRTIO_ADMIN_CMD_LIST_QUERY, VIRTIO_ADMIN_CMD_LIST_USE, VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO, VIRTIO_ADMIN_CMD_STATUS_SIZEOF,
  VIRTIO_ADMIN_GROUP_TYPE_SRIOV, VIRTIO_ADMIN_LEGACY_WR_DATA_HDR, VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF, VIRTIO_ADMIN_STATUS_OK,
  VIRTIO_F_ADMIN_VQ, VIRTIO_F_SR_IOV, VIRTIO_F_VERSION_1, VIRTIO_LEGACY_ADMIN_CMD_BITMAP, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS,
} from './virtioSpec.js';

/** The device's answer to one command. */
export interface AdminReply {
  /** Command status (VIRTIO_ADMIN_STATUS_OK = 0, else an errno-like code). */
  status: number;
  /** status_qualifier: the detail of a failure (VIRTIO_ADMIN_STATUS_Q_*). */
  qualifier: number;
  /** command_specific_result as far as the device wrote it */
  result: Uint8Array;
  /** the used length the device reported (status + result bytes written) */
  usedLen: number;
}

/** One notification address from VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO. */
export interface LegacyNotifyInfo {
  /** VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_*: END (no more entries), OWNER_DEV or OWNER_MEM. */
  flags: number;
  /** BAR the legacy driver notifies through. */
  bar: number;
  /** Offset of the notification address in that BAR. */
  offset: number;
}

/** struct virtio_admin_cmd's device-readable part: header and command_specific_data (little-endian). */
export function encodeAdminCommand(opcode: number, groupType: number, memberId: bigint | number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(VIRTIO_ADMIN_CMD_HDR_SIZEOF + data.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, opcode, true);
  v.setUint16(2, groupType, true);
  v.setBigUint64(16, BigInt(memberId), true);
  out.set(data, VIRTIO_ADMIN_CMD_HDR_SIZEOF);
  return out;
}

/** struct virtio_admin_cmd_legacy_wr_data: offset, 7 reserved bytes, the register bytes. */
export function legacyWriteData(offset: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(VIRTIO_ADMIN_LEGACY_WR_DATA_HDR + bytes.length);
  out[0] = offset;
  out.set(bytes, VIRTIO_ADMIN_LEGACY_WR_DATA_HDR);
  return out;
}

/** Little-endian bytes of a 1-, 2- or 4-byte value. */
export function leBytes(value: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  return out;
}

const MEMBER_RESULT_MAX = 4096;

/**
 * The host side of a virtio-net PF's administration virtqueue, as a PF driver (Linux's
 * virtio_pci_modern admin queue code) would run it: builds each command as a device-readable buffer
 * plus a device-writable status/result buffer in guest memory, makes the chain available, notifies,
 * and reads the used entry (the device completes commands synchronously). `init()` negotiates the
 * command list with LIST_QUERY and LIST_USE; `hasLegacyIo()` is what the virtio-vfio-pci variant
 * driver asks before binding to a VF.
 */
export class AdminQueueClient {
  /** The admin virtqueue the commands go through. */
  readonly queue: DriverVirtqueue;
  /** Index of the admin virtqueue (the device's admin_queue_index). */
  readonly queueIndex: number;
  /** what LIST_QUERY reported and LIST_USE enabled (device_admin_cmd_opcodes[0]) */
  commands = 0;
  private readonly cmdAddr: number;
  private readonly resAddr: number;
  private readonly notifyAddr: number;

  /**
   * Uses the PF driver's transport (features negotiated with VIRTIO_F_ADMIN_VQ, before or after
   * DRIVER_OK) and `memBase`.. (AdminQueueClient.bytes) of guest memory for the ring and buffers.
   */
  constructor(
    /** The PF's modern transport the admin queue is set up on. */
    readonly driver: VirtioModernDriver,
    /** Guest-physical address where the client keeps its ring and command buffers. */
    readonly memBase: number,
    queueSize = 64,
  ) {
    const num = driver.adminQueueNum;
    if (num === 0) throw new Error(`${driver.bdf}: the device has no administration virtqueue`);
    const index = driver.adminQueueIndex;
    this.queueIndex = index;
    this.queue = driver.setupQueue(index, memBase, queueSize);
    this.cmdAddr = Math.ceil(this.queue.end / 4096) * 4096;
    this.resAddr = this.cmdAddr + 4096;
    this.notifyAddr = driver.notifyAddress(index);
    this.queue.suppressInterrupts(true);
  }

  /** Guest memory the client needs from memBase. */
  static bytes(queueSize = 64): number {
    return Math.ceil(DriverVirtqueue.bytes(queueSize) / 4096) * 4096 + 2 * 4096;
  }

  /**
   * Brings a PF up as its host driver would (reset, features VERSION_1 | MAC | STATUS | SR_IOV |
   * ADMIN_VQ, the admin queue, DRIVER_OK) and negotiates the command list. The PF's BARs must decode.
   */
  static open(hw: Hardware, pf: VirtioNetPf, memBase: number): AdminQueueClient {
    const driver = new VirtioModernDriver(hw, pf.bdf);
    const accepted = driver.negotiate(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_SR_IOV, VIRTIO_F_ADMIN_VQ));
    if (accepted === null) throw new Error(`${pf.bdf}: FEATURES_OK refused`);
    const client = new AdminQueueClient(driver, memBase);
    driver.driverOk();
    client.init();
    return client;
  }

  /**
   * Submits one raw command: `readable` as the device-readable part and `writableLen` bytes of
   * device-writable space (status and result). Returns what the device wrote and the used length.
   */
  submit(readable: Uint8Array | DriverBuffer[], writableLen: number): {
    /** The device-writable bytes as the device left them. */
    written: Uint8Array;
    /** The used length the device reported. */
    usedLen: number;
  } {
    const mem = this.driver.hw.memory;
    const bufs: DriverBuffer[] = [];
    if (readable instanceof Uint8Array) {
      if (readable.length > 4096) throw new RangeError('a command of more than 4096 bytes');
      mem.write(this.cmdAddr, readable);
      if (readable.length > 0) bufs.push({ addr: this.cmdAddr, len: readable.length });
    } else {
      bufs.push(...readable);
    }
    if (writableLen > MEMBER_RESULT_MAX) throw new RangeError('a result of more than 4096 bytes');
    mem.bytes.fill(0xee, this.resAddr, this.resAddr + writableLen);
    if (writableLen > 0) bufs.push({ addr: this.resAddr, len: writableLen, write: true });
    const head = this.queue.add(bufs);
    if (head < 0) throw new Error('administration queue full');
    this.driver.kick(this.queueIndex, this.notifyAddr);
    const used = this.queue.takeUsed();
    if (used.length !== 1 || used[0].head !== head) throw new Error(`${this.driver.bdf}: the device did not complete the admin command (status 0x${this.driver.status.toString(16)})`);
    return { written: mem.read(this.resAddr, Math.min(used[0].len, writableLen)), usedLen: used[0].len };
  }

  /** Runs a command and decodes struct virtio_admin_cmd_status and the result. */
  exec(opcode: number, groupType: number, memberId: number | bigint, data?: Uint8Array, resultLen = 0): AdminReply {
    const { written, usedLen } = this.submit(encodeAdminCommand(opcode, groupType, memberId, data), VIRTIO_ADMIN_CMD_STATUS_SIZEOF + resultLen);
    const full = new Uint8Array(VIRTIO_ADMIN_CMD_STATUS_SIZEOF + resultLen);
    full.set(written);
    const v = new DataView(full.buffer);
    return {
      status: v.getUint16(0, true),
      qualifier: v.getUint16(2, true),
      result: written.length > VIRTIO_ADMIN_CMD_STATUS_SIZEOF ? written.slice(VIRTIO_ADMIN_CMD_STATUS_SIZEOF) : new Uint8Array(0),
      usedLen,
    };
  }

  /** VIRTIO_ADMIN_CMD_LIST_QUERY: which admin commands the device supports for `groupType`. */
  listQuery(groupType = VIRTIO_ADMIN_GROUP_TYPE_SRIOV): AdminReply {
    return this.exec(VIRTIO_ADMIN_CMD_LIST_QUERY, groupType, 0, undefined, 8);
  }

  /** VIRTIO_ADMIN_CMD_LIST_USE: tells the device which commands (bitmap `opcodes`) the driver will use. */
  listUse(opcodes: number, groupType = VIRTIO_ADMIN_GROUP_TYPE_SRIOV): AdminReply {
    return this.exec(VIRTIO_ADMIN_CMD_LIST_USE, groupType, 0, leBytes(opcodes >>> 0, 8));
  }

  /** LIST_QUERY, then LIST_USE of everything supported (virtio_pci_admin_cmd_list_init). */
  init(): number {
    const q = this.listQuery();
    if (q.status !== VIRTIO_ADMIN_STATUS_OK) return (this.commands = 0);
    const supported = new DataView(q.result.buffer, q.result.byteOffset).getUint32(0, true);
    const u = this.listUse(supported);
    this.commands = u.status === VIRTIO_ADMIN_STATUS_OK ? supported : 0;
    return this.commands;
  }

  /** The PF accepted the legacy access commands and LEGACY_NOTIFY_INFO (virtio_pci_admin_has_legacy_io). */
  hasLegacyIo(): boolean {
    return (this.commands & VIRTIO_LEGACY_ADMIN_CMD_BITMAP) === VIRTIO_LEGACY_ADMIN_CMD_BITMAP;
  }

  /** VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE: writes `bytes` at `offset` of VF `vf`'s legacy common config. */
  legacyCommonWrite(vf: number, offset: number, bytes: Uint8Array): AdminReply {
    return this.exec(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, vf, legacyWriteData(offset, bytes));
  }

  /** VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ: reads `size` bytes at `offset` of VF `vf`'s legacy common config. */
  legacyCommonRead(vf: number, offset: number, size: number): AdminReply {
    return this.exec(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, vf, new Uint8Array([offset]), size);
  }

  /** VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE: writes `bytes` at `offset` of VF `vf`'s device config. */
  legacyDeviceWrite(vf: number, offset: number, bytes: Uint8Array): AdminReply {
    return this.exec(VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, vf, legacyWriteData(offset, bytes));
  }

  /** VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ: reads `size` bytes at `offset` of VF `vf`'s device config. */
  legacyDeviceRead(vf: number, offset: number, size: number): AdminReply {
    return this.exec(VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, vf, new Uint8Array([offset]), size);
  }

  /** The notification addresses for VF `vf`'s legacy driver (valid entries up to the end marker). */
  legacyNotifyInfo(vf: number): {
    /** The command's status and raw result. */
    reply: AdminReply;
    /** The valid notification entries, up to the END marker. */
    entries: LegacyNotifyInfo[];
  } {
    const reply = this.exec(VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, vf, undefined, VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO * VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF);
    const entries: LegacyNotifyInfo[] = [];
    if (reply.status === VIRTIO_ADMIN_STATUS_OK) {
      const v = new DataView(reply.result.buffer, reply.result.byteOffset, reply.result.byteLength);
      for (let i = 0; i + VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF <= reply.result.length; i += VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF) {
        const flags = reply.result[i];
        if (flags === 0) break;
        entries.push({ flags, bar: reply.result[i + 1], offset: Number(v.getBigUint64(i + 8, true)) });
      }
    }
    return { reply, entries };
  }
}
