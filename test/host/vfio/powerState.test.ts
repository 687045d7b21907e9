// D-state changes the user writes to PMCSR (vfio_pm_config_write -> vfio_pci_set_power_state): the host
// performs them; a device without No_Soft_Reset resets its config on D3hot -> D0, so vfio saves the
// state on the way into D3hot (pm_save) and restores it on the way back.
import { describe, expect, it, vi } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import { CONVENTIONAL_SPEC, headerDwords, openOne, readLe, regionOffset } from './machine.js';

describe('user D-state writes', () => {
  it('restores the config of a device that soft-resets on D3hot -> D0', async () => {
    const { emu, bdf, c, file } = await openOne(CONVENTIONAL_SPEC);
    const fn = emu.hw.function(bdf)!;
    const pmcsr = fn.capOffset(L.M_PM_CAP) + 4;
    const header = headerDwords(emu, bdf);
    c.configWrite(pmcsr, 2, 3);
    expect(fn.configRead(pmcsr, 2) & 3).toBe(3);
    c.configWrite(pmcsr, 2, 0);
    expect(fn.configRead(pmcsr, 2) & 3).toBe(0);
    expect(headerDwords(emu, bdf)).toEqual(header);
    file.write(regionOffset(0, 4), Uint8Array.of(7));
    expect(readLe(file, 0, 4, 1)).toBe(7);
  });

  it('leaves a No_Soft_Reset device alone, and writes nothing when the state does not change', async () => {
    const { emu, bdf, c, file } = await openOne({ ...CONVENTIONAL_SPEC, capabilities: [{ id: 'pm', noSoftReset: true }] });
    const fn = emu.hw.function(bdf)!;
    const pmcsr = fn.capOffset(L.M_PM_CAP) + 4;
    file.write(regionOffset(0, 4), Uint8Array.of(9));
    const header = headerDwords(emu, bdf);
    const spy = vi.spyOn(emu.hw, 'configWrite');
    c.configWrite(pmcsr, 2, 0); // already D0
    expect(spy.mock.calls.filter(([, off]) => off === pmcsr)).toEqual([]);
    c.configWrite(pmcsr, 2, 3);
    c.configWrite(pmcsr, 2, 0);
    expect(spy.mock.calls.filter(([, off]) => off === pmcsr).map(([, , , v]) => v & 3)).toEqual([3, 0]);
    expect(headerDwords(emu, bdf)).toEqual(header);
    expect(readLe(file, 0, 4, 1)).toBe(9); // no reset happened
  });
});
