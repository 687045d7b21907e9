import { HwLog } from '../hw/embedding/hwLog.js';

/**
 * The VMM's log. Guest mistakes that the VMM contains (a dropped write, a clamped field, a BAR over
 * another) are logged once per kind and device, as QEMU's warn_report_once / LOG_GUEST_ERROR do,
 * so a guest that repeats one in a loop cannot flood the log. The same once-per-key log as the
 * hardware's (HwLog), kept under its own name for the VMM's users.
 */
export class VmmLog extends HwLog {}
