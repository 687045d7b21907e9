#!/usr/bin/env bash
# Prepares the real Linux guest for the v86 tests, `npm start -- --v86` and bench/realGuest.ts:
# pinned Debian 12 packages (i386 6.1 kernel, SeaBIOS, busybox-static) fetched with apt-get download,
# unpacked with dpkg -x, and an initramfs (cpio newc, gzip) of busybox + the virtio modules + /init.
# Everything lands in .guest/ (gitignored). A second run with everything in place only checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="$root/.guest"

# Pinned versions (Debian 12 bookworm; the archive keeps these).
kver=6.1.0-50-686
pkgs=(
  "seabios=1.16.2-1"
  "linux-image-${kver}:i386=6.1.176-1"
  "busybox-static:i386=1:1.35.0-4+deb12u1+b1"
)
modules=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net)

# The stamp names the pins and the inputs the initramfs is built from: change any, and it is rebuilt.
stamp_of() {
  { printf '%s\n' "${pkgs[@]}" "${modules[@]}"; cat "$root/scripts/guest/init" "$root/scripts/guest/mkinitramfs.mjs"; } | sha256sum | cut -c1-16
}
want=$(stamp_of)
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$want" && -f "$out/bios.bin" && -f "$out/vgabios.bin" \
      && -f "$out/bzImage" && -f "$out/initramfs.gz" ]]; then
  echo "prepare-guest: .guest/ is up to date ($want)"
  exit 0
fi

start=$(date +%s)
mkdir -p "$out/debs" "$out/root"
need_fetch=0
for p in "${pkgs[@]}"; do
  name=${p%%=*}; name=${name%%:*}; ver=${p#*=}
  # apt-get download names files name_version_arch.deb with ':' in the version as %3a.
  ls "$out/debs/${name}_${ver//:/%3a}_"*.deb >/dev/null 2>&1 || need_fetch=1
done
if (( need_fetch )); then
  command -v apt-get >/dev/null || { echo "prepare-guest: apt-get is needed (Debian/Ubuntu host)" >&2; exit 1; }
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    dpkg --add-architecture i386
  fi
  # The i386 indexes appear only after an update; skip it when the pinned versions are already known.
  if ! apt-cache show "${pkgs[1]}" >/dev/null 2>&1 || ! apt-cache show "${pkgs[2]}" >/dev/null 2>&1; then
    apt-get update -qq
  fi
  for p in "${pkgs[@]}"; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
      echo "prepare-guest: the archive does not serve $p; apt-cache policy says:" >&2
      apt-cache policy "${p%%=*}" >&2
      exit 1
    fi
  done
  (cd "$out/debs" && apt-get download -qq "${pkgs[@]}")
fi

rm -rf "$out/root" && mkdir -p "$out/root"
for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/root"; done

cp "$out/root/usr/share/seabios/bios.bin" "$out/bios.bin"
cp "$out/root/usr/share/seabios/vgabios-stdvga.bin" "$out/vgabios.bin"
cp "$out/root/boot/vmlinuz-${kver}" "$out/bzImage"

moddir="$out/root/lib/modules/${kver}"
modpaths=()
for m in "${modules[@]}"; do
  f=$(find "$moddir/kernel" -name "${m}.ko" -o -name "${m}.ko.xz" | head -n1)
  [[ -n "$f" ]] || { echo "prepare-guest: module $m not found under $moddir" >&2; exit 1; }
  modpaths+=("$f")
done
node "$root/scripts/guest/mkinitramfs.mjs" "$out/initramfs.gz" \
  "$root/scripts/guest/init" "$out/root/bin/busybox" "${modpaths[@]}"
rm -rf "$out/root"
echo "$want" > "$out/stamp"
echo "prepare-guest: .guest/ ready in $(( $(date +%s) - start )) s ($(du -h "$out/initramfs.gz" | cut -f1) initramfs)"
