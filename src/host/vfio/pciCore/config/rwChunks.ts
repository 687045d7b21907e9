/**
 * Bytes left in the dword at `pos` that belong to the same map entry (vfio_pci_cap_remaining_dword):
 * an access never spans two capabilities, or a capability and the unassigned bytes after it.
 */
export function capRemainingDword(map: Uint8Array, pos: number): number {
  const cap = map[pos];
  let i = 1;
  while ((pos + i) % 4 !== 0 && pos + i < map.length && map[pos + i] === cap) i++;
  return i;
}

/**
 * The size of the next piece of a `count`-byte config access at `pos`, as vfio_config_do_rw chops
 * it: first cut at the capability boundary inside the dword, then 4 bytes if dword aligned and at
 * least 4 remain, else 2 if word aligned and at least 2 remain, else 1.
 */
export function nextChunk(map: Uint8Array, pos: number, count: number): 1 | 2 | 4 {
  const n = Math.min(count, capRemainingDword(map, pos));
  if (n >= 4 && pos % 4 === 0) return 4;
  if (n >= 2 && pos % 2 === 0) return 2;
  return 1;
}
