// Type 0 header (0x00-0x3f): every (offset, size) access against the golden tables of
// test/fixtures/configSpace.ts, for a PCI Express and a conventional PCI endpoint.
import { describe } from 'vitest';
import { headerBlocks } from '../fixtures/configSpace.js';
import { describeGolden } from './golden.js';

describe('type 0 header golden layout', () => {
  for (const block of headerBlocks) describeGolden(block);
});
