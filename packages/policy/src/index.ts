/**
 * @kmsgate/policy: the per-key signing policy (schema.ts), the engine that evaluates a Sign
 * request against it in a fixed order (engine.ts), the stable reason codes of its denials
 * (reasons.ts), what is left of a key's budget (budget.ts), and the storage interfaces packages/store
 * implements (state.ts).
 * Pure: no HTTP, no device, no SQL.
 */
export * from './reasons';
export * from './schema';
export * from './state';
export * from './engine';
export * from './budget';
export { AMOUNT_LIMBS, MAX_AMOUNT, fromLimbSums, parseAmount, toLimbs } from './amount';
export type { Assessment, DecodedSummary } from './assess';
export { ethereumSigningDigest } from './assess';
export { policyToJson } from './json';
