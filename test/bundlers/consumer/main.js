// The tiny consumer every bundler builds: create an emulator, add an endpoint, read its vendor ID.
// It reports through document.title in a browser and stdout (plus the exit code) in Node.
import { createEmulator } from 'pcisim';

async function run() {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  const fn = emu.hw.addEndpoint('0000:00:02.0', { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000 });
  return `vendor ${emu.hw.configRead(fn.bdf, 0, 2).toString(16)}`;
}

function report(text) {
  if (typeof document !== 'undefined') {
    document.title = text;
  } else {
    console.log(text);
    if (!text.startsWith('ok')) globalThis.process.exitCode = 1;
  }
}

run().then(
  (result) => report(`ok ${result}`),
  (e) => report(`error ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
);
