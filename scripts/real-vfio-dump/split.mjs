// Splits the guest's two JSON lines (raw, vfio) into one fixture per device: <name>.json
import { readFileSync, writeFileSync } from 'node:fs';

const [src, outDir, qemu, kernel] = process.argv.slice(2);
const phases = readFileSync(src, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const byName = new Map();
for (const p of phases) {
  for (const d of p.devices) {
    const e = byName.get(d.name) ?? { name: d.name, bdf: d.bdf, kernel, qemu };
    Object.assign(e, d.raw ? { raw: d.raw } : {}, d.vfio ? { vfio: d.vfio } : {});
    byName.set(d.name, e);
  }
}
for (const [name, e] of byName) {
  writeFileSync(`${outDir}/${name}.json`, JSON.stringify(e, null, 1) + '\n');
  console.log(`${outDir}/${name}.json`);
}
