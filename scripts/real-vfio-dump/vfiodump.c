/*
 * Runs inside a Linux 6.1 guest (see dump.sh). For each PCI address given:
 *   raw:  /sys/bus/pci/devices/<bdf>/config (no driver bound) and the sysfs resource lines
 *   vfio: after binding vfio-pci, the type1 container path, DEVICE_GET_INFO, REGION_INFO and
 *         IRQ_INFO of every index, the whole config region read one dword at a time, and a list
 *         of config writes each followed by the read-back (original value restored afterwards).
 * Prints one JSON document to the file named by argv[1].
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>

static FILE *out;

static int write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, s, strlen(s));
  int e = n < 0 ? -errno : 0;
  close(fd);
  return e;
}

static void hexdump(const uint8_t *b, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) fprintf(out, "%02x", b[i]);
  fputc('"', out);
}

static void dump_raw(const char *bdf) {
  char path[256];
  uint8_t cfg[4096];
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", bdf);
  int fd = open(path, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : pread(fd, cfg, sizeof cfg, 0);
  if (fd >= 0) close(fd);
  fprintf(out, "\"raw\":{\"configLength\":%zd,\"config\":", n);
  hexdump(cfg, n > 0 ? (size_t)n : 0);
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource", bdf);
  FILE *r = fopen(path, "r");
  fprintf(out, ",\"resource\":[");
  char line[256];
  int first = 1;
  while (r && fgets(line, sizeof line, r)) {
    unsigned long long s, e, f;
    if (sscanf(line, "%llx %llx %llx", &s, &e, &f) != 3) continue;
    fprintf(out, "%s{\"start\":\"0x%llx\",\"end\":\"0x%llx\",\"flags\":\"0x%llx\",\"size\":%llu}", first ? "" : ",", s, e, f,
            e ? e - s + 1 : 0ULL);
    first = 0;
  }
  if (r) fclose(r);
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver", bdf);
  char drv[256] = "";
  ssize_t dl = readlink(path, drv, sizeof drv - 1);
  if (dl > 0) drv[dl] = 0;
  fprintf(out, "],\"driver\":\"%s\"}", dl > 0 ? strrchr(drv, '/') + 1 : "");
}

static int dev_fd;
static uint64_t cfg_off;

static long cfg_read(unsigned off, unsigned size) {
  uint32_t v = 0;
  ssize_t n = pread(dev_fd, &v, size, cfg_off + off);
  if (n != (ssize_t)size) return -(long)errno - 1000000;
  return v;
}

static int cfg_write(unsigned off, unsigned size, uint32_t v) {
  ssize_t n = pwrite(dev_fd, &v, size, cfg_off + off);
  return n == (ssize_t)size ? 0 : -errno;
}

static int wfirst;
/* A write and its read-back at the same width; the old value is put back unless keep. */
static void probe(const char *what, unsigned off, unsigned size, uint32_t v, int keep) {
  long before = cfg_read(off, size);
  int w = cfg_write(off, size, v);
  long after = cfg_read(off, size);
  int rw = 0;
  long restored = after;
  if (!keep && before >= 0) {
    rw = cfg_write(off, size, (uint32_t)before);
    restored = cfg_read(off, size);
  }
  fprintf(out, "%s{\"what\":\"%s\",\"offset\":%u,\"size\":%u,\"value\":%u,\"before\":%ld,\"writeErr\":%d,\"readBack\":%ld,\"restoreErr\":%d,\"restored\":%ld}",
          wfirst ? "" : ",", what, off, size, v, before, w, after, rw, restored);
  wfirst = 0;
}

/* SET_IRQS with `count` new eventfds (count 0: DATA_NONE, which disables the index). */
static int set_irqs(unsigned index, unsigned count, int *err) {
  uint8_t buf[sizeof(struct vfio_irq_set) + 64 * sizeof(int32_t)];
  struct vfio_irq_set *s = (void *)buf;
  s->argsz = sizeof *s + count * sizeof(int32_t);
  s->flags = VFIO_IRQ_SET_ACTION_TRIGGER | (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
  s->index = index;
  s->start = 0;
  s->count = count;
  for (unsigned i = 0; i < count; i++) ((int32_t *)s->data)[i] = eventfd(0, 0);
  int r = ioctl(dev_fd, VFIO_DEVICE_SET_IRQS, s);
  *err = r < 0 ? errno : 0;
  return r;
}

static int sfirst;
/* One step of an interrupt sequence: SET_IRQS, then the MSI and MSI-X Message Control as read through vfio. */
static void irq_step(const char *what, unsigned index, unsigned count, unsigned msi, unsigned msix) {
  int err;
  int r = set_irqs(index, count, &err);
  fprintf(out, "%s{\"what\":\"%s\",\"index\":%u,\"count\":%u,\"ret\":%d,\"errno\":%d,\"msiFlags\":%ld,\"msixFlags\":%ld}", sfirst ? "" : ",",
          what, index, count, r, err, msi ? cfg_read(msi + 2, 2) : -1L, msix ? cfg_read(msix + 2, 2) : -1L);
  sfirst = 0;
}

static unsigned find_cap(const uint8_t *c, unsigned id) {
  unsigned p = c[0x34] & 0xfc;
  for (int i = 0; p && i < 48; i++, p = c[p + 1] & 0xfc)
    if (c[p] == id) return p;
  return 0;
}

static void dump_vfio(const char *bdf) {
  char path[256], link[256];
  fprintf(out, "\"vfio\":{");
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver_override", bdf);
  int e1 = write_file(path, "vfio-pci");
  int e2 = write_file("/sys/bus/pci/drivers_probe", bdf);
  snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
  ssize_t l = readlink(path, link, sizeof link - 1);
  if (l < 0) { fprintf(out, "\"error\":\"no iommu_group (%d %d)\"}", e1, e2); return; }
  link[l] = 0;
  const char *grp = strrchr(link, '/') + 1;
  fprintf(out, "\"bind\":[%d,%d],\"group\":\"%s\",", e1, e2, grp);
  int container = open("/dev/vfio/vfio", O_RDWR);
  snprintf(path, sizeof path, "/dev/vfio/%s", grp);
  int group = open(path, O_RDWR);
  if (container < 0 || group < 0) { fprintf(out, "\"error\":\"open container %d group %d errno %d\"}", container, group, errno); return; }
  struct vfio_group_status gs = { .argsz = sizeof gs };
  ioctl(group, VFIO_GROUP_GET_STATUS, &gs);
  int api = ioctl(container, VFIO_GET_API_VERSION);
  int ext = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
  int sc = ioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
  int si = ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  dev_fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
  fprintf(out, "\"groupFlags\":%u,\"apiVersion\":%d,\"type1v2\":%d,\"setContainer\":%d,\"setIommu\":%d,", gs.flags, api, ext, sc, si);
  if (dev_fd < 0) { fprintf(out, "\"error\":\"GET_DEVICE_FD errno %d\"}", errno); return; }

  struct vfio_device_info di = { .argsz = sizeof di };
  int r = ioctl(dev_fd, VFIO_DEVICE_GET_INFO, &di);
  fprintf(out, "\"deviceInfo\":{\"ret\":%d,\"argsz\":%u,\"flags\":%u,\"numRegions\":%u,\"numIrqs\":%u},", r, di.argsz, di.flags,
          di.num_regions, di.num_irqs);

  fprintf(out, "\"regions\":[");
  for (unsigned i = 0; i < di.num_regions; i++) {
    uint8_t buf[512];
    memset(buf, 0, sizeof buf);
    struct vfio_region_info *ri = (void *)buf;
    ri->argsz = sizeof *ri;
    ri->index = i;
    int rr = ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, ri);
    int err = rr < 0 ? errno : 0;
    uint32_t want = ri->argsz;
    /* second call with room for the capability chain */
    int rr2 = 0;
    if (rr == 0 && want > sizeof *ri && want <= sizeof buf) {
      memset(buf, 0, sizeof buf);
      ri->argsz = want;
      ri->index = i;
      rr2 = ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, ri);
    }
    fprintf(out, "%s{\"index\":%u,\"ret\":%d,\"errno\":%d,\"argsz\":%u,\"flags\":%u,\"capOffset\":%u,\"size\":%llu,\"offset\":\"0x%llx\",\"ret2\":%d,\"bytes\":",
            i ? "," : "", i, rr, err, want, ri->flags, ri->cap_offset, (unsigned long long)ri->size, (unsigned long long)ri->offset, rr2);
    hexdump(buf, want <= sizeof buf ? want : sizeof *ri);
    fprintf(out, "}");
    if (i == VFIO_PCI_CONFIG_REGION_INDEX) cfg_off = ri->offset;
  }
  fprintf(out, "],\"irqs\":[");
  for (unsigned i = 0; i < di.num_irqs; i++) {
    struct vfio_irq_info ii = { .argsz = sizeof ii, .index = i };
    int rr = ioctl(dev_fd, VFIO_DEVICE_GET_IRQ_INFO, &ii);
    fprintf(out, "%s{\"index\":%u,\"ret\":%d,\"errno\":%d,\"flags\":%u,\"count\":%u}", i ? "," : "", i, rr, rr < 0 ? errno : 0, ii.flags, ii.count);
  }
  fprintf(out, "],");

  /* the config region as a user sees it, one dword pread at a time */
  uint8_t cfg[4096];
  int errs = 0;
  for (unsigned off = 0; off < 4096; off += 4) {
    long v = cfg_read(off, 4);
    if (v < 0) { errs++; v = 0xffffffff; }
    cfg[off] = v; cfg[off + 1] = v >> 8; cfg[off + 2] = v >> 16; cfg[off + 3] = v >> 24;
  }
  fprintf(out, "\"configReadErrors\":%d,\"config\":", errs);
  hexdump(cfg, sizeof cfg);

  fprintf(out, ",\"writes\":[");
  wfirst = 1;
  for (unsigned b = 0; b < 6; b++) probe("BAR sizing", 0x10 + 4 * b, 4, 0xffffffff, 0);
  probe("ROM sizing", 0x30, 4, 0xfffff800, 0);
  probe("ROM sizing with enable", 0x30, 4, 0xffffffff, 0);
  probe("Command all ones", 0x04, 2, 0xffff, 0);
  probe("Command IO|MEM|BM", 0x04, 2, 0x0007, 0);
  probe("Command INTx disable", 0x04, 2, 0x0400, 0);
  probe("Status all ones", 0x06, 2, 0xffff, 0);
  probe("Vendor ID", 0x00, 2, 0x1234, 0);
  probe("Cache line size", 0x0c, 1, 0xff, 0);
  probe("Latency timer", 0x0d, 1, 0xff, 0);
  probe("Interrupt line", 0x3c, 1, 0xff, 0);
  probe("Interrupt pin", 0x3d, 1, 0xff, 0);
  probe("Subsystem", 0x2c, 4, 0xffffffff, 0);
  unsigned pm = find_cap(cfg, 0x01), msi = find_cap(cfg, 0x05), msix = find_cap(cfg, 0x11), exp = find_cap(cfg, 0x10);
  if (msi) {
    probe("MSI control all ones", msi + 2, 2, 0xffff, 0);
    probe("MSI control QSIZE 1", msi + 2, 2, 0x0010, 0);
    probe("MSI address lo", msi + 4, 4, 0xffffffff, 0);
    probe("MSI address hi", msi + 8, 4, 0xffffffff, 0);
    probe("MSI data (64-bit layout)", msi + 12, 2, 0xffff, 0);
  }
  if (msix) {
    probe("MSI-X control all ones", msix + 2, 2, 0xffff, 0);
    probe("MSI-X control enable", msix + 2, 2, 0x8000, 0);
    probe("MSI-X control mask all", msix + 2, 2, 0x4000, 0);
    probe("MSI-X table offset", msix + 4, 4, 0xffffffff, 0);
  }
  if (exp) {
    probe("PCIe DevCtl all but FLR", exp + 8, 2, 0x7fff, 0);
    probe("PCIe DevSta all ones", exp + 10, 2, 0xffff, 0);
    probe("PCIe LnkCtl all ones", exp + 16, 2, 0xffff, 0);
    probe("PCIe DevCtl2 all ones", exp + 0x28, 2, 0xffff, 0);
    probe("PCIe LnkCtl2 all ones", exp + 0x30, 2, 0xffff, 0);
  }
  if (pm) {
    probe("PM PMC", pm + 2, 2, 0xffff, 0);
    probe("PM PMCSR D3hot", pm + 4, 2, 0x0003, 0);
    probe("PM PMCSR PME status+enable", pm + 4, 2, 0x8100, 0);
  }
  probe("ext cap header 0x100", 0x100, 4, 0xffffffff, 0);
  probe("ext 0x104", 0x104, 4, 0xffffffff, 0);
  probe("ext 0x108", 0x108, 4, 0xffffffff, 0);
  probe("ext 0x10c", 0x10c, 4, 0xffffffff, 0);
  probe("past caps 0xfc", 0xfc, 4, 0xffffffff, 0);
  fprintf(out, "],\"irqSequence\":[");
  /* MSI and MSI-X enabled and disabled through SET_IRQS, Message Control read after each step */
  sfirst = 1;
  if (msi) {
    unsigned mmc = 1u << ((cfg[msi + 2] >> 1) & 7);
    irq_step("MSI enable 1", VFIO_PCI_MSI_IRQ_INDEX, 1, msi, msix);
    irq_step("MSI disable", VFIO_PCI_MSI_IRQ_INDEX, 0, msi, msix);
    if (mmc > 1) {
      irq_step("MSI enable all", VFIO_PCI_MSI_IRQ_INDEX, mmc, msi, msix);
      irq_step("MSI disable", VFIO_PCI_MSI_IRQ_INDEX, 0, msi, msix);
    }
  }
  if (msix) {
    irq_step("MSI-X enable 1", VFIO_PCI_MSIX_IRQ_INDEX, 1, msi, msix);
    irq_step("MSI-X disable", VFIO_PCI_MSIX_IRQ_INDEX, 0, msi, msix);
  }
  fprintf(out, "]");
  /* the config region after all the probes */
  for (unsigned off = 0; off < 4096; off += 4) {
    long v = cfg_read(off, 4);
    if (v < 0) v = 0xffffffff;
    cfg[off] = v; cfg[off + 1] = v >> 8; cfg[off + 2] = v >> 16; cfg[off + 3] = v >> 24;
  }
  fprintf(out, ",\"configAfterWrites\":");
  hexdump(cfg, sizeof cfg);
  fprintf(out, "}");
  close(dev_fd);
  close(group);
  close(container);
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s OUT raw|vfio BDF:name...\n", argv[0]); return 2; }
  out = fopen(argv[1], "w");
  if (!out) return 1;
  fprintf(out, "{\"phase\":\"%s\",\"devices\":[", argv[2]);
  for (int i = 3; i < argc; i++) {
    char bdf[64], *name;
    snprintf(bdf, sizeof bdf, "%s", argv[i]);
    name = strchr(bdf, '=');
    if (name) *name++ = 0;
    fprintf(out, "%s{\"name\":\"%s\",\"bdf\":\"%s\",", i > 3 ? "," : "", name ? name : "", bdf);
    if (!strcmp(argv[2], "raw")) dump_raw(bdf);
    else dump_vfio(bdf);
    fprintf(out, "}");
    fflush(out);
  }
  fprintf(out, "]}\n");
  fclose(out);
  return 0;
}
