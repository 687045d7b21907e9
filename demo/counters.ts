// Live counters taken at the embedding seam: the methods the guest side calls on pcisim (config
// cycles, port I/O, MMIO) and the interrupts pcisim delivers are wrapped once, each call counted,
// and the wrapped method then runs as before.

export type CounterName = 'config' | 'pio' | 'mmio' | 'msi' | 'intx' | 'hotplug';

const LABELS: Record<CounterName | 'admin', string> = {
  config: 'config cycles (guest -> pcisim)',
  pio: 'port I/O accesses',
  mmio: 'MMIO accesses',
  msi: 'MSI/MSI-X messages delivered',
  intx: 'INTx assertions',
  hotplug: 'ACPI hotplug events (GPE + SCI)',
  admin: 'virtio admin commands (PF admin queue)',
};

export class Counters {
  readonly n: Record<CounterName, number> = { config: 0, pio: 0, mmio: 0, msi: 0, intx: 0, hotplug: 0 };

  add(name: CounterName, by = 1): void {
    this.n[name] += by;
  }

  /** Fills `table` with one row a counter; `extra` are counters read from pcisim itself. */
  render(table: HTMLElement, extra: { admin: number }): void {
    const rows = { ...this.n, ...extra } as Record<CounterName | 'admin', number>;
    if (table.childElementCount === 0) {
      for (const k of Object.keys(LABELS) as (CounterName | 'admin')[]) {
        const tr = document.createElement('tr');
        tr.innerHTML = `<td>${LABELS[k]}</td><td class="n" id="count-${k}">0</td>`;
        table.append(tr);
      }
    }
    for (const k of Object.keys(LABELS) as (CounterName | 'admin')[]) {
      const td = table.querySelector(`#count-${k}`);
      if (td) td.textContent = rows[k].toLocaleString('en');
    }
  }
}

/**
 * Wraps methods of `target` so each call adds 1 to a counter. Methods it does not have are skipped
 * (the seam differs between a Hardware and a Vmm target). Returns the names wrapped.
 */
export function countCalls<T extends object>(target: T, counters: Counters, methods: Record<string, CounterName>): string[] {
  const wrapped: string[] = [];
  const obj = target as Record<string, unknown>;
  for (const [name, counter] of Object.entries(methods)) {
    const f = obj[name];
    if (typeof f !== 'function') continue;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      counters.n[counter]++;
      return (f as (...a: unknown[]) => unknown).apply(this, args);
    };
    wrapped.push(name);
  }
  return wrapped;
}
