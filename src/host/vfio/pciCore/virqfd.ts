import type { Eventfd } from '../../fileTable.js';

/**
 * vfio_virqfd_enable: run `handler` whenever user space signals `efd` (an irqfd: the INTx unmask
 * eventfd, an ioeventfd). Like the kernel's wakeup, each run consumes the eventfd's counter, and an
 * eventfd that was already signalled when it was installed runs the handler right away. Returns the
 * function that uninstalls it (vfio_virqfd_disable).
 */
export function virqfdEnable(efd: Eventfd, handler: () => void): () => void {
  const run = () => {
    efd.read();
    handler();
  };
  const off = efd.onSignal(run);
  if (efd.count > 0) run();
  return off;
}
