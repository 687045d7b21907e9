// Live counters. The guest side comes from the v86 adapter's own counters (every config cycle,
// port and MMIO access, MSI and INTx it passes between v86 and pcisim); the host side is counted
// here by wrapping, once, the methods through which the host kernel and vfio reach the emulated
// hardware (each call counted, then run as before).

export type HostCounter = 'config' | 'pio' | 'mmio';

export class Counters {
  /** host hardware accesses (behind vfio) */
  readonly host: Record<HostCounter, number> = { config: 0, pio: 0, mmio: 0 };

  /** Fills `table` with one row a counter, `rows` as [id, label, value]. */
  render(table: HTMLElement, rows: [string, string, number][]): void {
    for (const [id, label, value] of rows) {
      let td = table.querySelector<HTMLElement>(`#count-${id}`);
      if (!td) {
        const tr = document.createElement('tr');
        const l = document.createElement('td');
        l.textContent = label;
        td = document.createElement('td');
        td.className = 'n';
        td.id = `count-${id}`;
        tr.append(l, td);
        table.append(tr);
      }
      td.textContent = value.toLocaleString('en');
    }
  }
}

/**
 * Wraps methods of `target` so each call adds 1 to a host counter. Methods it does not have are
 * skipped. Returns the names wrapped.
 */
export function countCalls(target: object, counters: Counters, methods: Record<string, HostCounter>): string[] {
  const wrapped: string[] = [];
  const obj = target as Record<string, unknown>;
  for (const [name, counter] of Object.entries(methods)) {
    const f = obj[name];
    if (typeof f !== 'function') continue;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      counters.host[counter]++;
      return (f as (...a: unknown[]) => unknown).apply(this, args);
    };
    wrapped.push(name);
  }
  return wrapped;
}
