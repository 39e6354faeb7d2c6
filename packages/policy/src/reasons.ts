import { DECODE_ERROR_CODES } from '@kmsgate/chains';

/**
 * Every reason a signing request can be denied for, with its one-line documentation. Audit
 * records, metrics labels and error messages carry these strings, so a code is never renamed or
 * reused; add new ones instead. The decoder's own codes (DECODE_ERROR_CODES of @kmsgate/chains)
 * are reasons too: a message that does not decode is denied with the decoder's code.
 * docs/policy.md lists them all, in evaluation order; a test keeps it in step.
 */
export const POLICY_REASONS = {
  // 1. Kill switch (every key, with or without a policy)
  KILL_SWITCH_GLOBAL: 'The global kill switch is engaged: no key signs until it is released.',
  KILL_SWITCH_KEY: 'The kill switch of this key is engaged.',
  // 2. Scope (every key)
  KEY_NOT_IN_SCOPE: 'The API key has a scope and this key is not in it.',
  // 3. The policy itself
  POLICY_INVALID: 'The runtime policy stored for this key no longer validates; nothing is signed until it is replaced or deleted.',
  POLICY_AMBIGUOUS: 'More than one policy applies to this key (its id and an alias, or two aliases, in the same layer).',
  POLICY_KEY_MISMATCH: "The key spec or signing algorithm is not the one the policy's chain signs with.",
  // 4. Message type
  DIGEST_NOT_ALLOWED: 'MessageType DIGEST for a key whose chain policy does not set allowDigest: the gateway cannot see what it would sign.',
  // 5. Decode: the DecodeError codes below
  // 6. Allowlists
  SIGN_MODE_NOT_ALLOWED: 'A Cosmos sign mode (direct or amino-json) the policy does not list.',
  CHAIN_ID_NOT_ALLOWED: 'The chain id (Cosmos chain id, Ethereum chain id, EIP-712 domain chainId) is not in chainIds, or is missing.',
  PROGRAM_NOT_ALLOWED: 'A Solana instruction calls a program that is not in programs.',
  INSTRUCTION_NOT_ALLOWED: 'A System or SPL Token instruction other than a transfer (or one the decoder cannot name) that is not in instructions.',
  TYPE_URL_NOT_ALLOWED: 'A Cosmos message (nested ones in authz MsgExec included) has a type URL that is not in messageTypes.',
  CONTRACT_NOT_ALLOWED: 'A contract (Cosmos MsgExecuteContract, Ethereum call target, ERC-20 approve spender, EIP-712 verifyingContract) is not in contracts.',
  CONTRACT_CREATION_NOT_ALLOWED: 'An Ethereum transaction that deploys a contract, without allowContractCreation.',
  TYPED_DATA_NOT_ALLOWED: 'EIP-712 typed data whose primaryType is not in typedData.primaryTypes (or the policy has no typedData section).',
  RECIPIENT_NOT_ALLOWED: 'A transfer goes to an address that is not in recipients.',
  // 7. Per-transaction caps
  ASSET_NOT_ALLOWED: 'The message moves an asset (fees included) that has no entry under caps.',
  TOKEN_MINT_UNKNOWN: 'A Solana SPL Token Transfer (unchecked) from a token account that is not mapped to its mint in tokenAccounts.',
  PER_TX_CAP_EXCEEDED: 'The amount of one asset in this message is above its perTransaction cap.',
  // 8. Time windows
  OUTSIDE_TIME_WINDOW: 'The request arrived outside every time window (UTC) of the policy.',
  // 9. Replay (a hit is not a denial), then rate limits
  REPLAY_IN_FLIGHT:
    'An identical request is being signed by another gateway sharing the store, and its signature did not arrive within the wait; retry to get it.',
  RATE_LIMIT_PER_MINUTE: 'The key has signed rateLimits.perMinute times in the last 60 seconds.',
  RATE_LIMIT_PER_HOUR: 'The key has signed rateLimits.perHour times in the last hour.',
  RATE_LIMIT_PER_DAY: 'The key has signed rateLimits.perDay times in the last 24 hours.',
  // 10. Rolling caps
  ROLLING_CAP_EXCEEDED: "This amount plus what the key moved (or has reserved) in the last 24 hours is above the asset's rolling24h cap.",
} as const;

export type PolicyReasonCode = keyof typeof POLICY_REASONS;

/** Policy reasons and decoder reasons: everything a denial may carry. */
export const REASON_CODES = { ...POLICY_REASONS, ...DECODE_ERROR_CODES } as const;

export type ReasonCode = keyof typeof REASON_CODES;

/** The gate a denial belongs to, as audit records and metrics name it. */
export type DenialGate = 'auth' | 'decode' | 'policy';

/** Reasons that mean "try again later" rather than "never"; the server answers ThrottlingException. */
export const THROTTLING_REASONS: ReadonlySet<ReasonCode> = new Set(['REPLAY_IN_FLIGHT', 'RATE_LIMIT_PER_MINUTE', 'RATE_LIMIT_PER_HOUR', 'RATE_LIMIT_PER_DAY']);

/** A denial: a stable reason code, the gate it comes from and a message for the client and the log. */
export class PolicyDenial extends Error {
  override readonly name = 'PolicyDenial';

  constructor(
    readonly code: ReasonCode,
    readonly gate: DenialGate,
    readonly detail: string,
    /** What the decoder saw, when the message decoded (for the audit record). */
    readonly summary?: unknown,
  ) {
    super(`${code}: ${detail}`);
  }
}

export function isPolicyDenial(e: unknown): e is PolicyDenial {
  return e instanceof PolicyDenial;
}
