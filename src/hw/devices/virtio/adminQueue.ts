import type { Sriov } from '../../sriov.js';
import type { VirtioNetDevice } from './virtioNetDevice.js';
import type { SplitVirtqueue } from './virtqueue.js';
import {
  VIRTIO_ADMIN_CMD_HDR_GROUP_TYPE, VIRTIO_ADMIN_CMD_HDR_MEMBER_ID, VIRTIO_ADMIN_CMD_HDR_OPCODE, VIRTIO_ADMIN_CMD_HDR_SIZEOF,
  VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ,
  VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE, VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO, VIRTIO_ADMIN_CMD_LIST_QUERY, VIRTIO_ADMIN_CMD_LIST_USE,
  VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO, VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM, VIRTIO_ADMIN_CMD_STATUS_SIZEOF,
  VIRTIO_ADMIN_GROUP_TYPE_SRIOV, VIRTIO_ADMIN_LEGACY_WR_DATA_HDR, VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF, VIRTIO_ADMIN_STATUS_EINVAL,
  VIRTIO_ADMIN_STATUS_OK, VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD, VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP,
  VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER, VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE, VIRTIO_ADMIN_STATUS_Q_OK,
} from './virtioSpec.js';

/** Opcodes this owner supports for the SR-IOV group: LIST_QUERY .. LEGACY_NOTIFY_INFO (bits 0-6). */
export const SRIOV_GROUP_COMMANDS =
  (1 << VIRTIO_ADMIN_CMD_LIST_QUERY) |
  (1 << VIRTIO_ADMIN_CMD_LIST_USE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ) |
  (1 << VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO);

/** After reset only these two are in use (2.12.1.2). */
const INITIAL_USE = (1 << VIRTIO_ADMIN_CMD_LIST_QUERY) | (1 << VIRTIO_ADMIN_CMD_LIST_USE);

/** The most command bytes the device looks at; longer device-readable parts are ignored beyond. */
const MAX_COMMAND = 4096;

/** The outcome of one group administration command. */
export interface AdminCommandResult {
  status: number;
  qualifier: number;
  /** command_specific_result */
  result: Uint8Array;
}

/** The owner's view of its group: its SR-IOV state and the virtio device of each member. */
export interface AdminGroupOwner {
  readonly sriov: Sriov | null;
  /** the virtio device of VF number `n` (1-based), if that VF exists */
  member(n: number): VirtioNetDevice | undefined;
}

/** The empty command_specific_result (shared: nothing is ever written into it). */
const EMPTY = new Uint8Array(0);

function fail(qualifier: number): AdminCommandResult {
  return { status: VIRTIO_ADMIN_STATUS_EINVAL, qualifier, result: EMPTY };
}

function ok(result: Uint8Array = EMPTY): AdminCommandResult {
  return { status: VIRTIO_ADMIN_STATUS_OK, qualifier: VIRTIO_ADMIN_STATUS_Q_OK, result };
}

/**
 * The owner device's side of the administration virtqueue (virtio 1.3 2.12 and 2.13): each chain is
 * a device-readable struct virtio_admin_cmd header and command_specific_data followed by a
 * device-writable struct virtio_admin_cmd_status and command_specific_result. Shorter parts read as
 * zero, longer ones are ignored beyond what the command uses; the used length is what the device wrote.
 *
 * Validation follows 2.12.1.2: group_type first (VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP), then the
 * opcode, which must be supported and in the list the driver enabled with LIST_USE
 * (Q_INVALID_OPCODE), then the member for commands that address one (Q_INVALID_MEMBER: not 1..NumVFs,
 * and Q_INVALID_GROUP while VF Enable is clear), then command-specific fields (Q_INVALID_FIELD: legacy
 * accesses that are not inside a single register, LIST_USE lists with unsupported commands). A failed
 * command changes nothing. LIST_QUERY and LIST_USE do not address a member and also work while VF
 * Enable is clear (Linux's PF driver negotiates the list at probe time, before VFs exist).
 */
export class AdminVirtqueue {
  private inUse = INITIAL_USE;
  private readonly cmd = new Uint8Array(MAX_COMMAND);
  private readonly cmdView = new DataView(this.cmd.buffer);
  private readonly out = new Uint8Array(VIRTIO_ADMIN_CMD_STATUS_SIZEOF + 256);
  /** result buffers of 0-4 bytes, reused: a command's result is written out before the next runs */
  private readonly small = [0, 1, 2, 3, 4].map((n) => new Uint8Array(n));
  /** commands run since the owner was created */
  executed = 0;

  constructor(private readonly owner: AdminGroupOwner) {}

  /** device_admin_cmd_opcodes[0] for a group type: what LIST_QUERY answers (0 for an unknown group). */
  supportedCommands(groupType: number): number {
    return groupType === VIRTIO_ADMIN_GROUP_TYPE_SRIOV && this.owner.sriov !== null ? SRIOV_GROUP_COMMANDS : 0;
  }

  /** The commands the driver enabled with LIST_USE (LIST_QUERY and LIST_USE after a reset). */
  usedCommands(groupType: number): number {
    return groupType === VIRTIO_ADMIN_GROUP_TYPE_SRIOV ? this.inUse : 0;
  }

  reset(): void {
    this.inUse = INITIAL_USE;
  }

  process(q: SplitVirtqueue): number {
    const n = q.pending();
    const out = this.out;
    for (let k = 0; k < n; k++) {
      const head = q.pop();
      const readLen = q.readableBytes;
      const take = Math.min(readLen, MAX_COMMAND);
      // bytes past what the driver supplied read as zero (header and the legacy data header at least)
      const cmd = this.cmd;
      for (let i = take; i < VIRTIO_ADMIN_CMD_HDR_SIZEOF + VIRTIO_ADMIN_LEGACY_WR_DATA_HDR; i++) cmd[i] = 0;
      this.readCommand(q, take);
      const r = this.execute(readLen, q.writableBytes);
      const len = Math.min(q.writableBytes, VIRTIO_ADMIN_CMD_STATUS_SIZEOF + r.result.length);
      out[0] = r.status & 0xff;
      out[1] = r.status >> 8;
      out[2] = r.qualifier & 0xff;
      out[3] = r.qualifier >> 8;
      out[4] = out[5] = out[6] = out[7] = 0; // reserved
      const rl = r.result.length;
      const buf = rl + VIRTIO_ADMIN_CMD_STATUS_SIZEOF <= out.length ? out : new Uint8Array(VIRTIO_ADMIN_CMD_STATUS_SIZEOF + rl);
      if (buf !== out) buf.set(out.subarray(0, VIRTIO_ADMIN_CMD_STATUS_SIZEOF));
      for (let i = 0; i < rl; i++) buf[VIRTIO_ADMIN_CMD_STATUS_SIZEOF + i] = r.result[i];
      const written = q.writeChain(buf, 0, len);
      q.pushUsed(head, written);
      this.executed++;
    }
    if (n > 0) q.publishUsed();
    return n;
  }

  /**
   * The popped chain's first `max` device-readable bytes into the command buffer: what readChain
   * does, straight into the command buffer (this runs for every legacy register access a VF's
   * variant driver forwards).
   */
  private readCommand(q: SplitVirtqueue, max: number): void {
    const dma = q.dma;
    const cmd = this.cmd;
    let copied = 0;
    for (let s = 0; s < q.segCount && copied < max; s++) {
      if (q.segWrite[s]) break;
      const n = Math.min(q.segLen[s], max - copied);
      // a fault (checked by pop(), so only a mapping removed since) leaves the rest zero
      if (!dma.readInto(q.segAddr[s], cmd, copied, n)) {
        cmd.fill(0, copied, max);
        break;
      }
      copied += n;
    }
  }


  /**
   * Runs the command now in the command buffer: `readLen` device-readable bytes were supplied and
   * `writeCap` device-writable bytes are available for the status and the result.
   */
  private execute(readLen: number, writeCap: number): AdminCommandResult {
    const v = this.cmdView;
    const opcode = v.getUint16(VIRTIO_ADMIN_CMD_HDR_OPCODE, true);
    const group = v.getUint16(VIRTIO_ADMIN_CMD_HDR_GROUP_TYPE, true);
    const memberLo = v.getUint32(VIRTIO_ADMIN_CMD_HDR_MEMBER_ID, true);
    const memberHi = v.getUint32(VIRTIO_ADMIN_CMD_HDR_MEMBER_ID + 4, true);
    const data = VIRTIO_ADMIN_CMD_HDR_SIZEOF;
    const dataLen = Math.max(0, readLen - data);
    const resultCap = Math.max(0, writeCap - VIRTIO_ADMIN_CMD_STATUS_SIZEOF);
    const sriov = this.owner.sriov;
    if (group !== VIRTIO_ADMIN_GROUP_TYPE_SRIOV || sriov === null) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP);
    if (opcode >= 32 || ((SRIOV_GROUP_COMMANDS & this.inUse) >>> opcode) % 2 === 0) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE);

    if (opcode === VIRTIO_ADMIN_CMD_LIST_QUERY) {
      const r = new Uint8Array(8);
      new DataView(r.buffer).setUint32(0, SRIOV_GROUP_COMMANDS, true);
      return ok(r);
    }
    if (opcode === VIRTIO_ADMIN_CMD_LIST_USE) {
      const words = Math.ceil(dataLen / 8);
      let use = 0;
      for (let w = 0; w < words; w++) {
        const at = data + 8 * w;
        const lo = at + 4 <= MAX_COMMAND ? v.getUint32(at, true) : 0;
        const hi = at + 8 <= MAX_COMMAND ? v.getUint32(at + 4, true) : 0;
        if (w === 0) {
          if ((lo & ~SRIOV_GROUP_COMMANDS) !== 0 || hi !== 0) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD);
          use = lo;
        } else if (lo !== 0 || hi !== 0) {
          return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD);
        }
      }
      this.inUse = use >>> 0;
      return ok();
    }

    // the remaining commands address a member: VF number 1..NumVFs while VF Enable is set
    if (!sriov.vfEnabled) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_GROUP);
    const member = memberHi === 0 && memberLo >= 1 && memberLo <= sriov.numVfs ? this.owner.member(memberLo) : undefined;
    if (member === undefined) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_MEMBER);
    const offset = this.cmd[data];

    switch (opcode) {
      case VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_WRITE: {
        const len = dataLen - VIRTIO_ADMIN_LEGACY_WR_DATA_HDR;
        const view = member.legacyCommon;
        if (len < 1 || len > 4 || view.single(offset, len) === undefined) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD);
        view.write(offset, len, this.le(data + VIRTIO_ADMIN_LEGACY_WR_DATA_HDR, len));
        return ok();
      }
      case VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ: {
        const len = resultCap;
        const view = member.legacyCommon;
        if (len < 1 || len > 4 || view.single(offset, len) === undefined) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD);
        const value = view.read(offset, len);
        const r = this.small[len]; // copied out by process() before the next command runs
        for (let i = 0; i < len; i++) r[i] = (value >>> (8 * i)) & 0xff;
        return ok(r);
      }
      case VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_WRITE: {
        const len = dataLen - VIRTIO_ADMIN_LEGACY_WR_DATA_HDR;
        if (!this.insideDeviceField(member, offset, len)) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD);
        const start = data + VIRTIO_ADMIN_LEGACY_WR_DATA_HDR;
        member.writeDeviceConfig(offset, this.cmd.slice(start, start + len), true);
        return ok();
      }
      case VIRTIO_ADMIN_CMD_LEGACY_DEV_CFG_READ: {
        const len = resultCap;
        if (!this.insideDeviceField(member, offset, len)) return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_FIELD);
        return ok(member.readDeviceConfig(offset, len));
      }
      case VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO: {
        // struct virtio_admin_cmd_notify_info_result: one member-device entry, then end of list
        const r = new Uint8Array(VIRTIO_ADMIN_CMD_MAX_NOTIFY_INFO * VIRTIO_ADMIN_NOTIFY_INFO_SIZEOF);
        const l = member.layout;
        if (l.legacyNotify >= 0) {
          r[0] = VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM;
          r[1] = l.bar;
          new DataView(r.buffer).setUint32(8, l.legacyNotify, true);
        }
        return ok(r);
      }
      default:
        return fail(VIRTIO_ADMIN_STATUS_Q_INVALID_OPCODE);
    }
  }

  /** Little-endian value of `len` (1-4) command bytes at `at`. */
  private le(at: number, len: number): number {
    let v = 0;
    for (let i = len - 1; i >= 0; i--) v = v * 256 + (at + i < MAX_COMMAND ? this.cmd[at + i] : 0);
    return v;
  }

  /** [off, off+len) lies inside one field of the member's struct virtio_net_config. */
  private insideDeviceField(member: VirtioNetDevice, off: number, len: number): boolean {
    if (len < 1) return false;
    const f = member.deviceConfigField(off);
    return f !== null && off + len <= f[1];
  }
}
