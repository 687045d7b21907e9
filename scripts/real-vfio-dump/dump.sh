#!/bin/sh
# Makes test/fixtures/real/*.json: boots Debian's Linux 6.1 under QEMU (q35 + intel-iommu, TCG) with
# QEMU's e1000e, virtio-net-pci and nec-usb-xhci (MSI only, 16 vectors), each behind its own
# pcie-root-port, and dumps them from userspace: first the raw sysfs view with no driver bound, then
# through the real vfio-pci (type1 container). See test/fixtures/real/README.md.
# Needs root for apt-get; not run in CI. Usage: scripts/real-vfio-dump/dump.sh [outdir]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../test/fixtures/real}
work=${WORK:-/tmp/real-vfio-dump}
mkdir -p "$work" && cd "$work"

command -v qemu-system-x86_64 >/dev/null || apt-get install -y --no-install-recommends qemu-system-x86
dpkg -s busybox-static >/dev/null 2>&1 || apt-get install -y busybox-static # the initramfs needs the static one
if [ ! -d kroot ]; then
  pkg=$(apt-cache search '^linux-image-6\.1\.0-[0-9]*-amd64$' | sort -V | tail -1 | cut -d' ' -f1)
  apt-get download "$pkg"
  dpkg -x "$pkg"_*.deb kroot
fi
kver=$(ls kroot/lib/modules | head -1)
gcc -static -O1 -Wall -o vfiodump "$here/vfiodump.c"

rm -rf initrd && mkdir -p initrd/bin initrd/mod initrd/proc initrd/sys initrd/dev
cp "$(command -v busybox)" initrd/bin/busybox
cp vfiodump initrd/bin/
for m in virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_virqfd drivers/vfio/vfio_iommu_type1 \
         drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
  cp "kroot/lib/modules/$kver/kernel/$m.ko" initrd/mod/
done
cat > initrd/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
devs=""
for d in /sys/bus/pci/devices/*; do
  case "$(cat $d/vendor):$(cat $d/device)" in
    0x8086:0x10d3) devs="$devs ${d##*/}=e1000e" ;;
    0x1af4:0x1041) devs="$devs ${d##*/}=virtio-net-pci" ;;
    0x1033:0x0194) devs="$devs ${d##*/}=nec-usb-xhci" ;;
  esac
done
echo "devices:$devs"
vfiodump /dev/ttyS1 raw $devs
for m in irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci; do insmod /mod/$m.ko; done
vfiodump /dev/ttyS1 vfio $devs
echo DUMP-DONE
poweroff -f
INIT
chmod +x initrd/init
(cd initrd && find . | busybox cpio -o -H newc 2>/dev/null | gzip) > initrd.gz

rm -f dump.out console.log
timeout 600 qemu-system-x86_64 -machine q35 -accel tcg -m 512M -smp 1 -display none -monitor none -no-reboot \
  -device intel-iommu \
  -device pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x2 \
  -device pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0,addr=0x3 \
  -device pcie-root-port,id=rp3,chassis=3,slot=3,bus=pcie.0,addr=0x4 \
  -device e1000e,bus=rp1,mac=52:54:00:12:34:56 \
  -device virtio-net-pci,bus=rp2,mac=52:54:00:12:34:57 \
  -device nec-usb-xhci,bus=rp3,msi=on,msix=off \
  -nic none \
  -kernel kroot/boot/vmlinuz-$kver -initrd initrd.gz \
  -append "console=ttyS0 intel_iommu=on panic=-1 rdinit=/init" \
  -serial file:console.log -serial file:dump.out
grep -q DUMP-DONE console.log || { tail -30 console.log; exit 1; }
tr -d '\r' < dump.out > dump.json
mkdir -p "$out"
node "$here/split.mjs" dump.json "$out" "$(qemu-system-x86_64 --version | head -1)" "$kver"
