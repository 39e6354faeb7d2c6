/**
 * The per-key signing policy: one zod schema, used for the YAML configuration and for policies
 * set at runtime through the admin API. Strict and fail-closed: an unknown field, an amount that
 * is not a quoted decimal string of base units, a zero cap, an empty allowlist, an address with a
 * bad checksum: each refuses the whole policy with a message that names the path.
 * docs/policy.md is the authoring guide.
 */
import { z } from 'zod';
import { MAX_AMOUNT, parseAmount } from './amount';
import { isBech32Address, isSolanaAddress, normaliseEthereumAddress } from './addresses';

/** What a policy is keyed by: a key id (UUID) or an alias name (AWS's alias name pattern). */
export const KEY_SELECTOR = /^(alias\/[a-zA-Z0-9/_-]{1,250}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
export const KEY_SELECTOR_MESSAGE = 'must be a key id (lower-case UUID) or an alias name (alias/…)';

/** The asset name of a chain's own coin, where it has no address (SOL lamports, ETH wei). Cosmos names every coin by its denom. */
export const NATIVE_ASSET = 'native';

const amount = z
  .string({ invalid_type_error: 'must be a quoted decimal string of base units, e.g. "1000000" (a YAML or JSON number would lose precision)' })
  .superRefine((s, ctx) => {
    const v = parseAmount(s);
    const issue = (message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    if (v === undefined)
      issue(`${JSON.stringify(s.slice(0, 40))} is not an amount: digits only, in base units, no sign, separator, decimal point or leading zero`);
    else if (v === 0n) issue('must be greater than zero (to forbid an asset, leave it out of caps)');
    else if (v > MAX_AMOUNT) issue('must be below 2^256');
  })
  .transform((s) => BigInt(s));

const cap = z
  .object({
    /** The most one message may move. */
    perTransaction: amount.optional(),
    /** The most the key may move in any 24-hour window (a true sliding window, not a calendar day). */
    rolling24h: amount.optional(),
  })
  .strict()
  .refine((c) => c.perTransaction !== undefined || c.rolling24h !== undefined, 'set perTransaction, rolling24h or both');

export type AssetCap = z.output<typeof cap>;

const positiveCount = z.number().int('must be an integer').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000');

const rateLimits = z
  .object({ perMinute: positiveCount.optional(), perHour: positiveCount.optional(), perDay: positiveCount.optional() })
  .strict()
  .refine((r) => r.perMinute !== undefined || r.perHour !== undefined || r.perDay !== undefined, 'set at least one of perMinute, perHour, perDay');

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const minutes = (s: string) => (s === '24:00' ? 1440 : Number(s.slice(0, 2)) * 60 + Number(s.slice(3)));

const timeWindow = z
  .object({
    /** Days of the week (UTC) the window applies to; default every day. */
    days: z.array(z.enum(WEEKDAYS)).min(1, 'must not be empty (leave it out for every day)').optional(),
    /** Start, inclusive, HH:MM UTC. */
    from: z.string().regex(HHMM, 'must be HH:MM (UTC), 00:00-23:59'),
    /** End, exclusive, HH:MM UTC; 24:00 is the end of the day. */
    to: z.string().refine((s) => s === '24:00' || HHMM.test(s), 'must be HH:MM (UTC), 00:01-24:00'),
  })
  .strict()
  .refine((w) => !HHMM.test(w.from) || minutes(w.from) < minutes(w.to), {
    message: 'from must be before to (a window cannot cross midnight; use two windows)',
    path: ['to'],
  });

export type TimeWindow = z.output<typeof timeWindow>;

function list<T extends z.ZodTypeAny>(item: T, what: string) {
  return z.array(item).min(1, `must not be empty: list at least one ${what}, or leave the field out where that is allowed`).max(10_000);
}

const solanaAddress = z.string().refine(isSolanaAddress, 'must be a base58 Solana address (32 bytes)');
const cosmosAddress = z.string().refine(isBech32Address, 'must be a lower-case bech32 address with a valid checksum');
const ethereumAddress = z.string().transform((s, ctx) => {
  const normalised = normaliseEthereumAddress(s);
  if (normalised === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a 0x-prefixed 20-byte hex address (mixed case must be a valid EIP-55 checksum)' });
    return z.NEVER;
  }
  return normalised;
});

/** Cosmos SDK denom (sdk.Coin: [a-zA-Z][a-zA-Z0-9/:._-]{2,127}). */
const COSMOS_DENOM = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/;

/** A record keyed by assets: each key checked (and normalised) by `asset`, duplicates after normalisation refused. */
function assetRecord<V extends z.ZodTypeAny>(value: V, asset: (k: string) => string | undefined, what: string) {
  return z.record(z.string(), value).transform((rec, ctx) => {
    const out: Record<string, z.output<V>> = Object.create(null) as Record<string, z.output<V>>;
    for (const [k, v] of Object.entries(rec)) {
      const name = asset(k);
      if (name === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: `must be ${what}` });
      else if (name in out) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: `${name} is listed twice` });
      else out[name] = v as z.output<V>;
    }
    return out;
  });
}

const solanaAsset = (k: string) => (k === NATIVE_ASSET || isSolanaAddress(k) ? k : undefined);
const cosmosAsset = (k: string) => (COSMOS_DENOM.test(k) ? k : undefined);
const ethereumAsset = (k: string) => (k === NATIVE_ASSET ? k : normaliseEthereumAddress(k));

const common = {
  /** Free text for people, shown by the admin API. */
  description: z.string().max(256).optional(),
  rateLimits: rateLimits.optional(),
  timeWindows: list(timeWindow, 'time window').optional(),
};

const chainCommon = {
  ...common,
  /** Let DIGEST requests through without decoding (caps and allowlists cannot apply to them). Default false. */
  allowDigest: z.boolean().default(false),
};

const SolanaPolicy = z
  .object({
    chain: z.literal('solana'),
    ...chainCommon,
    programs: list(solanaAddress, 'program id'),
    /**
     * System and SPL Token instructions other than the transfers, by the decoder's name
     * ('system:AdvanceNonceAccount', 'spl-token:SyncNative'); anything else of those programs is
     * refused (Assign, SetAuthority, Approve, CloseAccount… hand over control of an account).
     */
    instructions: list(
      z
        .string()
        .regex(
          /^(system|spl-token|spl-token-2022):[A-Za-z0-9]{1,64}$/,
          'must be system:<Name>, spl-token:<Name> or spl-token-2022:<Name>, e.g. system:AdvanceNonceAccount',
        ),
      'instruction name',
    ).optional(),
    recipients: list(solanaAddress, 'recipient').optional(),
    caps: assetRecord(cap, solanaAsset, `"${NATIVE_ASSET}" (lamports) or a base58 token mint`).optional(),
    /** Token account → mint, for plain SPL Token Transfer instructions (which do not name their mint). */
    tokenAccounts: assetRecord(solanaAddress, (k) => (isSolanaAddress(k) ? k : undefined), 'a base58 token account address').optional(),
    /** Address lookup tables v0 messages may use: table address → its addresses, in order. */
    lookupTables: assetRecord(
      z.array(solanaAddress).min(1, 'must not be empty').max(256, 'a lookup table holds at most 256 addresses'),
      (k) => (isSolanaAddress(k) ? k : undefined),
      'a base58 lookup table address',
    ).optional(),
  })
  .strict();

const TYPE_URL = /^(\/[a-zA-Z0-9._]{1,200}|amino:[a-zA-Z0-9/._-]{1,200})$/;
export const COSMWASM_EXECUTE_TYPE_URL = '/cosmwasm.wasm.v1.MsgExecuteContract';

const CosmosPolicy = z
  .object({
    chain: z.literal('cosmos'),
    ...chainCommon,
    chainIds: list(z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be a chain id like cosmoshub-4'), 'chain id'),
    messageTypes: list(
      z.string().regex(TYPE_URL, 'must be a protobuf type URL (/cosmos.bank.v1beta1.MsgSend) or amino:<type> for an amino type the decoder does not map'),
      'message type URL',
    ),
    signModes: list(z.enum(['direct', 'amino-json']), 'sign mode').default(['direct']),
    recipients: list(cosmosAddress, 'recipient').optional(),
    contracts: list(cosmosAddress, 'contract').optional(),
    caps: assetRecord(cap, cosmosAsset, 'a Cosmos denom ([a-zA-Z][a-zA-Z0-9/:._-]{2,127})').optional(),
    /** der (default, what AWS clients expect) or cosmos-raw: the 64-byte low-S r‖s a Cosmos SDK chain and cosmjs expect. */
    signatureFormat: z.enum(['der', 'cosmos-raw']).default('der'),
  })
  .strict();

const EthereumPolicy = z
  .object({
    chain: z.literal('ethereum'),
    ...chainCommon,
    chainIds: list(
      z
        .union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9][0-9]{0,76}$/)], {
          errorMap: () => ({ message: 'must be a positive integer chain id, e.g. 1' }),
        })
        .transform(String),
      'chain id',
    ),
    recipients: list(ethereumAddress, 'recipient').optional(),
    contracts: list(ethereumAddress, 'contract').optional(),
    caps: assetRecord(cap, ethereumAsset, `"${NATIVE_ASSET}" (wei) or an ERC-20 contract address`).optional(),
    allowContractCreation: z.boolean().default(false),
    typedData: z
      .object({ primaryTypes: list(z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,255}$/, 'must be an EIP-712 struct name'), 'primary type') })
      .strict()
      .optional(),
    /** der (default, what AWS clients expect) or ethereum-rsv: 65 bytes r‖s‖v, low-S, v = 27 + yParity. */
    signatureFormat: z.enum(['der', 'ethereum-rsv']).default('der'),
  })
  .strict();

/** A key that signs something no decoder understands: kill switch, rate limits and time windows only. */
const GenericPolicy = z.object({ chain: z.literal('generic'), ...common }).strict();

export const SigningPolicySchema = z
  .discriminatedUnion('chain', [SolanaPolicy, CosmosPolicy, EthereumPolicy, GenericPolicy], {
    errorMap: (issue, ctx) =>
      issue.code === z.ZodIssueCode.invalid_union_discriminator
        ? { message: 'chain must be one of solana, cosmos, ethereum, generic' }
        : { message: ctx.defaultError },
  })
  .superRefine((p, ctx) => {
    if (p.chain === 'cosmos' && p.messageTypes.includes(COSMWASM_EXECUTE_TYPE_URL) && p.contracts === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['contracts'], message: `required when messageTypes allows ${COSMWASM_EXECUTE_TYPE_URL}` });
    }
  });

export type SigningPolicy = z.output<typeof SigningPolicySchema>;
export type SolanaSigningPolicy = Extract<SigningPolicy, { chain: 'solana' }>;
export type CosmosSigningPolicy = Extract<SigningPolicy, { chain: 'cosmos' }>;
export type EthereumSigningPolicy = Extract<SigningPolicy, { chain: 'ethereum' }>;
export type PolicyChain = SigningPolicy['chain'];

export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
  constructor(readonly issues: readonly string[]) {
    super(issues.join('; '));
  }
}

/** `path: message` for each zod issue, the path joined with dots (as the configuration loader prints them). */
export function describeIssues(err: z.ZodError, prefix: readonly (string | number)[] = []): string[] {
  return err.issues.map((i) => `${[...prefix, ...i.path].join('.') || '(root)'}: ${i.message}`);
}

/** Validates one policy; throws PolicyValidationError listing every problem. */
export function parseSigningPolicy(raw: unknown): SigningPolicy {
  const parsed = SigningPolicySchema.safeParse(raw);
  if (!parsed.success) throw new PolicyValidationError(describeIssues(parsed.error));
  return parsed.data;
}
