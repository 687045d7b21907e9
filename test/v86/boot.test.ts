import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxGuest } from '../../src/v86/nodeGuest.js';

// A real Debian 6.1 kernel boots in v86 from the files scripts/prepare-guest.sh prepares.
describe('real guest: Debian Linux 6.1 in v86', () => {
  let guest: LinuxGuest;
  beforeAll(async () => {
    guest = await LinuxGuest.boot({}, 240_000);
    console.log(`[v86] plain boot took ${(guest.bootMs / 1000).toFixed(1)} s`);
  }, 300_000);
  afterAll(async () => guest?.destroy());

  it('runs the prepared /init and answers on its serial shell', async () => {
    expect(await guest.sh('uname -r')).toContain('6.1.0-50-686');
    expect((await guest.run('false')).status).toBe(1);
    expect(await guest.sh('ls /lib/modules')).toContain('virtio_net.ko');
  }, 120_000);
});
