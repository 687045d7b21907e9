// From CommonJS: pcisim is ESM-only, so load it with a dynamic import(); require('pcisim') throws an
// Error that says so. Run: node examples/commonjs.cjs
const assert = require('node:assert/strict');

assert.throws(() => require('pcisim'), /pcisim is ESM-only/);

import('pcisim').then(async ({ createEmulator }) => {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  const fn = emu.hw.addEndpoint('00:02.0', { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000 });
  assert.equal(emu.hw.configRead(fn.bdf, 0, 2), 0x8086);
  console.log(`ok: loaded with import() from CommonJS, ${fn.bdf} vendor 8086`);
});
