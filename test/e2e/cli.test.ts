// End to end: `npm start -- --json`, the whole-stack scenario's report as a harness reads it.
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { StackReport } from '../../src/cli/stackScenario.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('npm start -- --json', () => {
  it('prints only the report, as JSON of the documented shape', async () => {
    const { code, out, err } = await run('--json');
    expect(code).toBe(0);
    expect(err).toBe('');
    const r = JSON.parse(out) as StackReport;
    expect(Object.keys(r).sort()).toEqual(['bindings', 'dma', 'guest', 'host', 'migration', 'nics', 'ok', 'problems', 'vmm']);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.host).toEqual({ pf: '0000:00:04.0', vfs: ['0000:00:04.1', '0000:00:04.2', '0000:00:04.3', '0000:00:04.4'], dma: '0000:00:06.0', peer: { mac: '02:00:00:00:00:fe', ip: '10.0.2.2' } });
    expect(r.bindings.map((b) => [b.hostBdf, b.role, b.driver])).toEqual([
      ['0000:00:04.1', 'vf', 'virtio-vfio-pci'],
      ['0000:00:04.2', 'vf', 'virtio-vfio-pci'],
      ['0000:00:06.0', 'dma', 'dmae-vfio-pci'],
    ]);
    for (const b of r.bindings) {
      expect(b.modalias).toMatch(/^pci:v[0-9A-F]{8}d[0-9A-F]{8}sv[0-9A-F]{8}sd[0-9A-F]{8}bc[0-9A-F]{2}sc[0-9A-F]{2}i[0-9A-F]{2}$/);
      expect(b.candidates[0].driver).toBe(b.driver); // best match first
      expect(b.candidates.map((c) => c.driver)).toContain('vfio-pci');
      expect(b.candidates[0].wildcards).toBeLessThan(b.candidates.find((c) => c.driver === 'vfio-pci')!.wildcards);
    }
    expect(r.vmm.assigned).toEqual([
      { hostBdf: '0000:00:04.1', guestBdf: '0000:00:03.0' },
      { hostBdf: '0000:00:04.2', guestBdf: '0000:00:04.0' },
      { hostBdf: '0000:00:06.0', guestBdf: '0000:00:05.0' },
    ]);
    expect(r.guest.problems).toEqual([]);
    expect(r.guest.functions.map((f) => [f.bdf, f.vendorId, f.deviceId, f.classCode])).toEqual([
      ['0000:00:03.0', 0x1af4, 0x1000, 0x020000],
      ['0000:00:04.0', 0x1af4, 0x1000, 0x020000],
      ['0000:00:05.0', 0x1b36, 0x00f0, 0x088000],
    ]);
    expect(r.nics).toHaveLength(2);
    for (const n of r.nics) {
      expect(Object.keys(n).sort()).toEqual(['guestBdf', 'hostBdf', 'ip', 'irqMode', 'mac', 'name', 'pingsSent', 'repliesReceived', 'rxPackets', 'txPackets']);
      expect(n.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(n.irqMode).toBe('msix-each');
      expect(n.repliesReceived).toBe(n.pingsSent);
      expect(n.pingsSent).toBe(10);
    }
    expect(r.dma.completed).toBe(r.dma.submitted);
    expect(r.dma.deviceCompleted).toBe(r.dma.completed);
    expect(r.dma.failures + r.dma.duplicates).toBe(0);
    expect(r.dma.jobsVerified).toBeGreaterThan(0);
    const m = r.migration!;
    expect(m.blockedWithVfs).toMatch(/blocked/);
    expect(m.devices).toEqual(['0000:00:05.0']);
    expect(m.passes.length).toBeGreaterThanOrEqual(1);
    for (const p of m.passes) expect(Object.keys(p).sort()).toEqual(['deviceBytes', 'pass', 'ramBytes']);
    expect(m.stopCopy.bytes).toBe(m.stopCopy.deviceBytes + m.stopCopy.ramBytes + m.stopCopy.vmmBytes);
    expect(m.stopCopy.steps).toBeGreaterThan(0);
    // the stream carries every pass and the stop-and-copy payload, plus its header and record framing
    expect(m.totalBytes).toBeGreaterThan(m.passes.reduce((n, p) => n + p.deviceBytes + p.ramBytes, 0) + m.stopCopy.deviceBytes + m.stopCopy.ramBytes);
    expect(m.totalBytes).toBeGreaterThan(m.stopCopy.bytes);
    expect(m.sourceStates['0000:00:05.0']).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
    expect(m.destinationStates['0000:00:05.0']).toEqual(['RESUMING', 'STOP', 'RUNNING']);
    expect(m.destinationDigest).toBe(m.sourceDigest);
    expect(m.ramEqual).toBe(true);
    expect(m.after.completions).toBeGreaterThan(m.before.completions);
    expect(m.after.jobsVerified).toBeGreaterThan(m.before.jobsVerified);
    expect(m.before.echoReplies).toBe(20);
    expect(m.after.echoReplies).toBe(20);
    expect(typeof m.elapsedMs).toBe('number');
  });

  it('--json --no-migration: migration is null', async () => {
    const { code, out } = await run('--json', '--no-migration', '--pings', '2');
    expect(code).toBe(0);
    const r = JSON.parse(out) as StackReport;
    expect(r.migration).toBeNull();
    expect(r.nics.every((n) => n.repliesReceived === 2)).toBe(true);
  });
});
