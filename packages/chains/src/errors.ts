/**
 * Stable reason codes for everything that does not decode. Policy denials and audit records carry
 * these strings, so a code is never renamed or reused; add new ones instead. The value of each
 * entry is its one-line documentation.
 */
export const DECODE_ERROR_CODES = {
  // Any chain
  INVALID_ARGUMENT: 'An argument or option has the wrong type or shape (a caller error, not the message).',
  MESSAGE_TOO_LARGE: 'The input is larger than the chain (or this gateway) accepts for one message.',
  KEY_INVALID: 'The public key is not a well-formed SubjectPublicKeyInfo, or its point is not on the curve.',
  KEY_TYPE_MISMATCH: 'The public key is not of the type this chain or operation uses.',
  SIGNATURE_INVALID: 'The signature is not strict DER, or r/s is outside [1, n-1].',
  SIGNATURE_KEY_MISMATCH: 'The signature does not recover to (or verify under) the given public key.',

  // Solana
  SOLANA_MALFORMED: 'Not a well-formed Solana message: truncated, bad compact-u16 length or header.',
  SOLANA_TRAILING_BYTES: 'Bytes remain after the end of the Solana message.',
  SOLANA_UNSUPPORTED_VERSION: 'A versioned Solana message whose version is not 0.',
  SOLANA_ACCOUNT_INDEX_OUT_OF_RANGE: 'An instruction refers to an account index beyond the message accounts.',
  SOLANA_INVALID_PROGRAM_INDEX: 'A program id index is the fee payer or not a static account key.',
  SOLANA_DUPLICATE_ACCOUNT: 'The same account appears twice among the message accounts (the runtime rejects this).',
  SOLANA_NOT_A_SIGNER: 'The signing key is not one of the required signers of the message.',
  SOLANA_LOOKUP_TABLE_REQUIRED: 'The message references an address lookup table the caller did not supply.',
  SOLANA_LOOKUP_INDEX_OUT_OF_RANGE: 'A lookup-table index is beyond the supplied table contents.',
  SOLANA_BAD_LOOKUP_TABLE: 'A supplied lookup table is not a list of base58 32-byte addresses.',
  SOLANA_MALFORMED_INSTRUCTION: 'A System or SPL Token instruction has too little data or too few accounts.',

  // Cosmos
  COSMOS_MALFORMED: 'Not a well-formed protobuf SignDoc, TxBody, AuthInfo or message.',
  COSMOS_NON_CANONICAL: 'The protobuf does not re-encode to the same bytes (unknown or duplicate fields, non-minimal encoding).',
  COSMOS_AMINO_MALFORMED: 'Not an amino JSON StdSignDoc of the expected shape.',
  COSMOS_AMINO_NON_CANONICAL: 'The amino JSON is not in canonical form (sorted keys, no whitespace, escaped <>&).',
  COSMOS_BAD_COIN: 'A coin has an invalid denom or an amount that is not a canonical non-negative integer.',
  COSMOS_NESTING_TOO_DEEP: 'Messages nested inside authz MsgExec go deeper than the gateway allows.',
  COSMOS_NOT_A_SIGNER: 'The signing key is not among the signer infos of the SignDoc.',

  // Ethereum
  ETHEREUM_MALFORMED: 'Not a well-formed RLP transaction of a supported type.',
  ETHEREUM_NON_CANONICAL: 'The transaction does not re-serialise to the same bytes (non-minimal RLP or integers).',
  ETHEREUM_UNSUPPORTED_TYPE: 'A transaction type other than legacy (0), EIP-2930 (1) or EIP-1559 (2).',
  ETHEREUM_ALREADY_SIGNED: 'The transaction already carries a signature; the gateway signs unsigned payloads only.',
  ETHEREUM_MISSING_CHAIN_ID: 'A legacy transaction without an EIP-155 chain id (replayable on every chain).',
  ETHEREUM_MALFORMED_ERC20_CALL: 'Calldata starts with an ERC-20 transfer/approve/transferFrom selector but its arguments are malformed.',
  EIP712_MALFORMED: 'Not EIP-712 typed data: bad JSON, missing fields, invalid types, or values that do not encode.',
  EIP712_DOMAIN_MISMATCH: 'The EIP712Domain type does not match the domain object (fields, order of types or names).',
} as const;

export type DecodeErrorCode = keyof typeof DECODE_ERROR_CODES;

/** Thrown for anything that does not decode. A message that does not decode is denied, never signed. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';

  constructor(
    /** One of {@link DECODE_ERROR_CODES}; stable, for policy and audit. */
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: DecodeErrorCode, message: string): never {
  throw new DecodeError(code, message);
}

/**
 * Runs a decoder and turns any exception that is not already a DecodeError (a library's
 * RangeError on truncated input, a TypeError on a missing field) into one with `code`, so callers
 * see exactly one exception type. The library's text stays in the message for the log.
 */
export function guard<T>(code: DecodeErrorCode, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new DecodeError(code, `${what}: ${detail.slice(0, 200)}`);
  }
}
