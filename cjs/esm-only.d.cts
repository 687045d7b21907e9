// Types for `require('pcisim')` from CommonJS (the "require" condition): the package is ESM-only.
// The export is a string literal type, so any use of it in TypeScript fails with this message shown.

/**
 * pcisim is ESM-only. Use `import { createEmulator } from 'pcisim'` in an ES module, or
 * `const { createEmulator } = await import('pcisim')` from CommonJS.
 */
declare const pcisimIsEsmOnly: "pcisim is ESM-only: use import or await import('pcisim'), not require()";
export = pcisimIsEsmOnly;
