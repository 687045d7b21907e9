// Capability register blocks (PM, MSI in its four layouts, MSI-X, PCIe v2, vendor-specific, AER, DSN):
// every (offset, size) access against the golden tables of test/fixtures/configSpace.ts.
import { describe } from 'vitest';
import { capabilityBlocks } from '../fixtures/configSpace.js';
import { describeGolden } from './golden.js';

describe('capability golden layouts', () => {
  for (const block of capabilityBlocks) describeGolden(block);
});
