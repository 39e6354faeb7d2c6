// @solana/spl-token ships CommonJS at runtime, but its package.json says "type": "module", so
// TypeScript (module node16) reads its .d.ts files as ESM and refuses a static import from a
// CommonJS test. Load the CommonJS build with require and take the types with resolution-mode.
import type * as Spl from '@solana/spl-token' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const spl = require('@solana/spl-token') as typeof Spl;
