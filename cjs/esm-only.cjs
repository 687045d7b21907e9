// What `require('pcisim')` (and every subpath) resolves to from CommonJS: pcisim is an ES module
// package, so CommonJS code loads it with a dynamic import(). Failing here, at once and by name, beats
// a confusing error from somewhere inside the module graph.
throw new Error(
  "pcisim is ESM-only and cannot be loaded with require(). Use import: `import { createEmulator } from 'pcisim'` " +
    "in an ES module, or a dynamic import from CommonJS: `const { createEmulator } = await import('pcisim')`.",
);
