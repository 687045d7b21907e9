/**
 * vfio_pci_nointx: devices whose INTx masking (INTx Disable + Interrupt Status) is broken. vfio hides
 * their INTx from the user instead (the pin reads 0, no INTx vectors) and keeps INTx Disable set.
 * The list is the kernel's: every i40e (XL710/X710/XXV710) and the X550.
 */
export function vfioPciNointx(vendor: number, device: number): boolean {
  if (vendor !== 0x8086) return false;
  return (
    device === 0x1572 ||
    device === 0x1574 ||
    (device >= 0x1580 && device <= 0x1581) ||
    (device >= 0x1583 && device <= 0x158b) ||
    (device >= 0x37d0 && device <= 0x37d2) ||
    device === 0x1563
  );
}
