/**
 * @kmsgate/chains: what a chain key is about to sign, decoded. Pure functions, Uint8Array in,
 * JSON-safe summaries out (amounts as decimal strings); anything that does not decode throws
 * DecodeError with a stable reason code from DECODE_ERROR_CODES, and must be denied, never signed.
 * No HTTP, no database, no device.
 */
export { DECODE_ERROR_CODES, DecodeError, type DecodeErrorCode } from './errors';
export type { AssetAmount } from './totals';
export { type KeyType, type ParsedKey, parseSpki } from './spki';
export { type Chain, type DeriveAddressOptions, checksumAddress, deriveAddress } from './address';
export { type EthereumSignature, cosmosSignatureFromDer, ethereumSignatureFromDer } from './signatures';
export * from './solana';
export * from './cosmos';
export * from './ethereum';
