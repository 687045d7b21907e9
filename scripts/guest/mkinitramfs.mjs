// Writes a gzipped cpio (newc) initramfs for the real guest: /init, busybox, the given kernel
// modules flat under /lib/modules, and the device nodes the kernel needs before devtmpfs is mounted.
// Usage: node mkinitramfs.mjs OUT.gz INIT BUSYBOX MODULE.ko...
import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { gzipSync } from 'node:zlib'

const [out, init, busybox, ...mods] = process.argv.slice(2)
if (!out || !init || !busybox) throw new Error('usage: mkinitramfs.mjs OUT.gz INIT BUSYBOX MODULE.ko...')

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFCHR = 0o020000
const parts = []
let ino = 1
const hex = (n) => n.toString(16).padStart(8, '0')
const pad4 = (n) => (4 - (n % 4)) % 4

// One newc record: a 110-byte header, the NUL-terminated name and the data, each padded to 4 bytes.
function entry(name, mode, data = new Uint8Array(0), rdev = [0, 0]) {
  const nameBytes = Buffer.from(name + '\0')
  const fields = [ino++, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0]
  const header = Buffer.from('070701' + fields.map(hex).join(''))
  parts.push(header, nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length)), Buffer.from(data), Buffer.alloc(pad4(data.length)))
}

for (const d of ['bin', 'sbin', 'dev', 'etc', 'lib', 'lib/modules', 'proc', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin']) entry(d, S_IFDIR | 0o755)
entry('dev/console', S_IFCHR | 0o600, undefined, [5, 1])
entry('dev/ttyS0', S_IFCHR | 0o600, undefined, [4, 64])
entry('init', S_IFREG | 0o755, readFileSync(init))
entry('bin/busybox', S_IFREG | 0o755, readFileSync(busybox))
for (const m of mods) entry(`lib/modules/${basename(m)}`, S_IFREG | 0o644, readFileSync(m))
entry('TRAILER!!!', 0)
writeFileSync(out, gzipSync(Buffer.concat(parts), { level: 9 }))
