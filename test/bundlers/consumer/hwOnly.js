// A hardware-only page: pcisim/hw alone (no host kernel, VMM or guest), for the bundle-size figure.
import { Hardware } from 'pcisim/hw';

let text;
try {
  const hw = new Hardware({ memoryBytes: 1 << 20 });
  const fn = hw.addEndpoint('00:02.0', { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
  hw.configWrite(fn.bdf, 0x10, 4, 0xffffffff);
  text = `ok vendor ${hw.configRead(fn.bdf, 0, 2).toString(16)} bar0 ${hw.configRead(fn.bdf, 0x10, 4).toString(16)}`;
} catch (e) {
  text = `error ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
}
if (typeof document !== 'undefined') document.title = text;
else console.log(text);
