/**
 * The policy engine: evaluates a Sign request against the key's policy in a FIXED order, each rule
 * fail-closed, each denial a PolicyDenial with a stable reason code (reasons.ts). The order, as
 * docs/policy.md documents it:
 *
 *   1. kill switch (global, then the key's)          every key
 *   2. scope (may this API key use this key?)        every key
 *   — keys without a policy stop here and are signed as AWS would —
 *   3. the policy: exactly one applies, and it still validates; key spec matches the chain
 *   4. message type: chain keys sign RAW; DIGEST only with allowDigest
 *   5. decode (packages/chains), as what the policy's chain says the key signs
 *   6. allowlists: sign mode, chain id, programs, message types, contracts, recipients, typed data
 *   7. per-transaction caps, per asset (every asset that moves must be under caps)
 *   8. time windows (UTC)
 *   9. replay: an identical request inside the window gets the stored signature (steps 9-11 are
 *      one transaction of the store, under the key's lock: SigningLedger.admit)
 *  10. rate limits per minute, hour, day
 *  11. rolling 24 h caps per asset; passing them inserts the reservation
 *  then the device signs; a failed device call releases the reservation.
 *
 * Steps 1-8 read no counters, so they apply to replays too: a signature is only ever handed out
 * while the current policy allows it. Steps 9-11 read and write the ledger atomically, so two
 * racing requests (of one gateway or of several sharing a store) can never together exceed a cap
 * or a rate limit.
 * No HTTP, no device, no SQL: storage is behind the interfaces in state.ts.
 */
import { createHash } from 'node:crypto';
import { cosmosSignatureFromDer, ethereumSignatureFromDer } from '@kmsgate/chains';
import { MAX_AMOUNT } from './amount';
import { signingHeadroom, type SigningHeadroom } from './budget';
import { assessCosmos, assessEthereum, assessSolana, type Assessment, type DecodedSummary } from './assess';
import { PolicyDenial } from './reasons';
import { PolicyValidationError, WEEKDAYS, parseSigningPolicy, type SigningPolicy } from './schema';
import { type AdmissionRefusal, type AdmissionRequest, type PolicyStateStore, type Reservation, type SigningLedger } from './state';
import { DAY_MS, HOUR_MS, MINUTE_MS, RATE_WINDOWS, capsOf, insideTimeWindows } from './windows';
/** Ledger rows older than this are pruned: no window looks further back than 24 h; the hour is slack for a clock step. */
const LEDGER_RETENTION_MS = DAY_MS + HOUR_MS;
const PRUNE_INTERVAL_MS = MINUTE_MS;
/** How long a request waits for an identical one that another gateway is signing, before a retryable refusal. */
export const DEFAULT_PENDING_WAIT_MS = 10_000;
/** Polling for that signature starts here and doubles up to PENDING_POLL_MAX_MS. */
const PENDING_POLL_FIRST_MS = 20;
const PENDING_POLL_MAX_MS = 250;

/** The key a request names, once resolved. */
export interface KeyFacts {
  keyId: string;
  /** Its alias names (alias/…), which policies and scopes may be keyed by. */
  aliases: readonly string[];
  /** AWS key spec, e.g. ECC_SECG_P256K1. */
  keySpec: string;
  /** DER SubjectPublicKeyInfo. */
  publicKey: Uint8Array;
}

/**
 * Which keys an API key may use. `restricted: false` is an API key that was never given a scope
 * (every key, as before scopes existed); `restricted: true` with no selectors may use no key.
 */
export interface ApiKeyScope {
  restricted: boolean;
  /** Key ids and alias names. */
  selectors: readonly string[];
}

export interface ResolvedPolicy {
  /** The key id or alias name the policy is keyed by. */
  selector: string;
  source: 'runtime' | 'config';
  policy: SigningPolicy;
}

export interface SignFacts {
  key: KeyFacts;
  algorithm: string;
  messageType: 'RAW' | 'DIGEST';
  message: Uint8Array;
  apiKeyId: string;
}

export type SignatureFormat = 'der' | 'cosmos-raw' | 'ethereum-rsv';

/** The outcome of steps 3-8 for a request that passed them. */
export interface Evaluation {
  keyId: string;
  resolved: ResolvedPolicy;
  /** What the decoder saw; undefined for DIGEST requests and generic policies. */
  summary: DecodedSummary | undefined;
  /** Per asset, what the message moves (empty when nothing is decoded). */
  spend: ReadonlyMap<string, bigint>;
  /** What the device must sign instead of AWS's hash of the message (Ethereum RAW: the keccak-256 signing hash). */
  deviceInput: Uint8Array | undefined;
  /** The 32-byte digest the device signs, for formats that need it (ethereum-rsv). */
  signedDigest: Uint8Array | undefined;
  signatureFormat: SignatureFormat;
  /** SHA-256 over key, API key, algorithm, message type, signature format and message: the replay cache key. */
  fingerprint: Uint8Array;
}

type Admitted = { kind: 'replay'; signature: Uint8Array } | { kind: 'reserved'; reservation: Reservation };

/** What `signOnce` does at each outcome; see there. */
export interface SignSteps<T> {
  /** An identical request's stored signature, inside the replay window: no device call. */
  replayed(signature: Uint8Array): T | Promise<T>;
  /** The device call, for a request that holds a reservation; returns the device's signature. */
  device(): Promise<Uint8Array>;
  /** DER SubjectPublicKeyInfo of the key (for the chain signature formats). */
  publicKey: Uint8Array;
  /** The signature, in the policy's format; throwing keeps the reservation counted and uncommitted. */
  signed(signature: Uint8Array): T | Promise<T>;
}

export interface PolicyEngineOptions {
  state: PolicyStateStore;
  ledger: SigningLedger;
  /** The configuration's policies, by key id or alias name. */
  baseline: Readonly<Record<string, SigningPolicy>>;
  /** How long an identical request gets the stored signature; 0 turns the replay cache off. */
  replayWindowMs: number;
  /**
   * How long a request waits while another gateway holds a reservation for the identical request
   * (polling for its signature) before it is refused with REPLAY_IN_FLIGHT, which retries.
   */
  pendingWaitMs?: number;
  now?: () => Date;
}

const SPEC_FOR_CHAIN = { solana: 'ECC_NIST_EDWARDS25519', cosmos: 'ECC_SECG_P256K1', ethereum: 'ECC_SECG_P256K1' } as const;

export class PolicyEngine {
  readonly #opts: PolicyEngineOptions;
  readonly #now: () => Date;
  /** Parsed runtime policies by their JSON, so a policy is validated once, not per request. */
  readonly #parsed = new Map<string, SigningPolicy | PolicyValidationError>();
  /** Identical requests in flight, by fingerprint: the second waits for the first and then finds its signature. */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  #lastPrune = 0;

  constructor(opts: PolicyEngineOptions) {
    if (!Number.isInteger(opts.replayWindowMs) || opts.replayWindowMs < 0) throw new RangeError('replayWindowMs must be a non-negative integer');
    if (opts.pendingWaitMs !== undefined && (!Number.isInteger(opts.pendingWaitMs) || opts.pendingWaitMs < 0))
      throw new RangeError('pendingWaitMs must be a non-negative integer');
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The configuration's policies, by key id or alias name. */
  get baseline(): Readonly<Record<string, SigningPolicy>> {
    return this.#opts.baseline;
  }

  /** Step 1. */
  checkKillSwitch(keyId: string): void {
    const { global, key } = this.#opts.state.killSwitchesFor(keyId);
    if (global)
      throw new PolicyDenial(
        'KILL_SWITCH_GLOBAL',
        'policy',
        `the global kill switch was engaged at ${global.engagedAt.toISOString()}${global.reason ? ` (${global.reason})` : ''}`,
      );
    if (key)
      throw new PolicyDenial(
        'KILL_SWITCH_KEY',
        'policy',
        `the kill switch of key ${keyId} was engaged at ${key.engagedAt.toISOString()}${key.reason ? ` (${key.reason})` : ''}`,
      );
  }

  /** Step 2 (also for Verify, GetPublicKey, DescribeKey and DeriveAddress). */
  checkScope(scope: ApiKeyScope, key: Pick<KeyFacts, 'keyId' | 'aliases'>): void {
    if (!scopeAllows(scope, key)) throw new PolicyDenial('KEY_NOT_IN_SCOPE', 'auth', `key ${key.keyId} is not in the API key's scope`);
  }

  /**
   * Step 3: the policy that applies to the key, or undefined when none does. A runtime policy
   * (set through the admin API) keyed by the key id or any of its aliases overrides the
   * configuration's; within one layer, two matches are ambiguous and deny.
   */
  policyFor(key: Pick<KeyFacts, 'keyId' | 'aliases'>): ResolvedPolicy | undefined {
    const selectors = [key.keyId, ...key.aliases];
    const runtime = this.#opts.state.runtimePoliciesFor(selectors);
    if (runtime.length > 1)
      throw ambiguous(
        key.keyId,
        runtime.map((r) => r.selector),
        'runtime',
      );
    if (runtime.length === 1) {
      const { selector, policy } = runtime[0]!;
      const parsed = this.#parseRuntime(policy);
      if (parsed instanceof PolicyValidationError)
        throw new PolicyDenial('POLICY_INVALID', 'policy', `the runtime policy for ${selector} does not validate: ${parsed.message}`);
      return { selector, source: 'runtime', policy: parsed };
    }
    const base = selectors.filter((s) => Object.prototype.hasOwnProperty.call(this.#opts.baseline, s));
    if (base.length > 1) throw ambiguous(key.keyId, base, 'configuration');
    if (base.length === 1) return { selector: base[0]!, source: 'config', policy: this.#opts.baseline[base[0]!]! };
    return undefined;
  }

  /** What is left of the key's rate limits and rolling caps now (budget.ts): the ledger steps 10-11 reserve against, read only. */
  headroom(keyId: string, policy: SigningPolicy): Promise<SigningHeadroom> {
    return signingHeadroom(this.#opts.ledger, keyId, policy, this.#now());
  }

  /** Step 3's last rule: a chain policy needs the key spec its chain signs with. */
  checkKeySpec(policy: SigningPolicy, key: Pick<KeyFacts, 'keyId' | 'keySpec'>): void {
    if (policy.chain !== 'generic' && key.keySpec !== SPEC_FOR_CHAIN[policy.chain]) {
      throw new PolicyDenial(
        'POLICY_KEY_MISMATCH',
        'policy',
        `a ${policy.chain} policy needs a ${SPEC_FOR_CHAIN[policy.chain]} key, and ${key.keyId} is ${key.keySpec}`,
      );
    }
  }

  /** Steps 3-8 for a key whose policy is `resolved`. Throws PolicyDenial; reads no counters. */
  evaluate(resolved: ResolvedPolicy, facts: SignFacts): Evaluation {
    const { policy } = resolved;
    const { key } = facts;
    let assessment: Assessment | undefined;
    let signatureFormat: SignatureFormat = 'der';
    this.checkKeySpec(policy, key);
    if (policy.chain !== 'generic') {
      if (policy.chain !== 'solana') signatureFormat = policy.signatureFormat;
      if (facts.messageType !== 'RAW' && !policy.allowDigest) {
        throw new PolicyDenial('DIGEST_NOT_ALLOWED', 'policy', `key ${key.keyId} has a ${policy.chain} policy: send the message itself with MessageType RAW`);
      }
      if (facts.messageType === 'RAW') {
        if (policy.chain === 'solana') assessment = assessSolana(policy, facts.message, key.publicKey);
        else if (policy.chain === 'cosmos') assessment = assessCosmos(policy, facts.message, key.publicKey);
        else assessment = assessEthereum(policy, facts.message);
        this.#checkPerTransactionCaps(policy, assessment);
      }
    }
    this.#checkTimeWindows(policy, assessment?.summary);
    const deviceInput = assessment?.digest;
    return {
      keyId: key.keyId,
      resolved,
      summary: assessment?.summary,
      spend: assessment?.spend ?? new Map(),
      deviceInput,
      signedDigest: deviceInput ?? (facts.messageType === 'DIGEST' ? facts.message : undefined),
      signatureFormat,
      fingerprint: fingerprint(facts, signatureFormat),
    };
  }

  /**
   * Steps 9-11 and the device call, in the one order that keeps caps and rate limits exact:
   *
   * 1. wait for any identical request in flight, so the second of two finds the first's signature
   *    in the replay cache instead of paying for a second one;
   * 2. in one transaction of the store: the stored signature (handed to `steps.replayed`), or a
   *    reservation against rate limits and rolling caps (PolicyDenial when none is left); while
   *    another gateway holds a reservation for the identical request, poll for its signature;
   * 3. `steps.device()`: if it throws, the device did not sign and the reservation is released;
   * 4. the signature in the policy's format goes to `steps.signed` (which writes the audit record);
   *    only when that returns is the reservation committed and the signature saved for replays.
   *    From 3 on the device has signed: whatever fails, the reservation stays counted.
   */
  async signOnce<T>(ev: Evaluation, requestId: string, steps: SignSteps<T>): Promise<T> {
    const id = Buffer.from(ev.fingerprint).toString('hex');
    const previous = this.#inFlight.get(id);
    const attempt = async (): Promise<T> => {
      const admission = await this.#admit(ev, requestId);
      if (admission.kind === 'replay') return await steps.replayed(admission.signature);
      let der: Uint8Array;
      try {
        der = await steps.device();
      } catch (e) {
        await this.#opts.ledger.release(admission.reservation);
        throw e;
      }
      const signature = this.formatSignature(ev, der, steps.publicKey);
      const out = await steps.signed(signature);
      await this.#complete(ev, admission.reservation, signature);
      return out;
    };
    const run = (previous ?? Promise.resolve()).then(attempt, attempt);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.#inFlight.get(id) === settled) this.#inFlight.delete(id);
    }
  }

  /**
   * Steps 9-11, in one transaction of the store: the stored signature, or a reservation. Throws
   * PolicyDenial. While another gateway's reservation holds the same fingerprint, its signature is
   * polled for (bounded by pendingWaitMs), so the request is signed once across gateways.
   */
  async #admit(ev: Evaluation, requestId: string): Promise<Admitted> {
    await this.#maybePrune();
    const req = this.#admissionRequest(ev, requestId);
    const waitMs = this.#opts.pendingWaitMs ?? DEFAULT_PENDING_WAIT_MS;
    for (let waited = 0, step = PENDING_POLL_FIRST_MS; ; waited += step, step = Math.min(2 * step, PENDING_POLL_MAX_MS)) {
      const admission = await this.#opts.ledger.admit(req);
      if (admission.kind === 'refused') throw denial(ev, req, admission.refusal);
      if (admission.kind !== 'pending') return admission;
      if (waited >= waitMs)
        throw new PolicyDenial('REPLAY_IN_FLIGHT', 'policy', `an identical request to key ${ev.keyId} is being signed by another gateway; retry`, ev.summary);
      await new Promise((resolve) => setTimeout(resolve, step));
    }
  }

  /** Which limits apply (the policy's rate limits, then its rolling caps on what the message moves), for the store to check. */
  #admissionRequest(ev: Evaluation, requestId: string): AdmissionRequest {
    const { policy } = ev.resolved;
    const caps = capsOf(policy);
    return {
      keyId: ev.keyId,
      requestId,
      fingerprint: ev.fingerprint,
      replayWindowMs: this.#opts.replayWindowMs,
      rateLimits: RATE_WINDOWS.flatMap((w) => {
        const limit = policy.rateLimits?.[w.limit];
        return limit === undefined ? [] : [{ windowMs: w.ms, limit }];
      }),
      caps: [...ev.spend].flatMap(([asset, amount]) => {
        const cap = caps?.[asset]?.rolling24h;
        return cap === undefined ? [] : [{ asset, windowMs: DAY_MS, amount, cap }];
      }),
      amounts: [...ev.spend].map(([asset, amount]) => ({ asset, amount })),
    };
  }

  /** The signature is on its way out: commit the reservation, remember the signature for replays. */
  async #complete(ev: Evaluation, reservation: Reservation, signature: Uint8Array): Promise<void> {
    const { replayWindowMs } = this.#opts;
    await this.#opts.ledger.complete(reservation, replayWindowMs > 0 ? { fingerprint: ev.fingerprint, signature, replayWindowMs } : undefined);
  }

  /** The device's signature (DER for ECDSA) in the policy's signature format. */
  formatSignature(ev: Evaluation, deviceSignature: Uint8Array, publicKey: Uint8Array): Uint8Array {
    switch (ev.signatureFormat) {
      case 'der':
        return deviceSignature;
      case 'cosmos-raw':
        return cosmosSignatureFromDer(deviceSignature, publicKey);
      case 'ethereum-rsv':
        return ethereumSignatureFromDer(deviceSignature, ev.signedDigest!, publicKey).rsv;
    }
  }

  #checkPerTransactionCaps(policy: Exclude<SigningPolicy, { chain: 'generic' }>, assessment: Assessment): void {
    for (const [asset, amount] of assessment.spend) {
      const cap = policy.caps !== undefined && Object.prototype.hasOwnProperty.call(policy.caps, asset) ? policy.caps[asset] : undefined;
      if (cap === undefined)
        throw new PolicyDenial('ASSET_NOT_ALLOWED', 'policy', `the message moves ${amount} of ${asset}, which has no entry under caps`, assessment.summary);
      if (amount > MAX_AMOUNT) throw new PolicyDenial('PER_TX_CAP_EXCEEDED', 'policy', `${asset}: ${amount} is above 2^256`, assessment.summary);
      if (cap.perTransaction !== undefined && amount > cap.perTransaction) {
        throw new PolicyDenial(
          'PER_TX_CAP_EXCEEDED',
          'policy',
          `${asset}: ${amount} is above the perTransaction cap of ${cap.perTransaction}`,
          assessment.summary,
        );
      }
    }
  }

  #checkTimeWindows(policy: SigningPolicy, summary: DecodedSummary | undefined): void {
    const now = this.#now();
    if (!insideTimeWindows(policy.timeWindows, now)) {
      const day = WEEKDAYS[now.getUTCDay()]!;
      throw new PolicyDenial('OUTSIDE_TIME_WINDOW', 'policy', `${day} ${now.toISOString().slice(11, 16)} UTC is outside every time window`, summary);
    }
  }

  #parseRuntime(json: string): SigningPolicy | PolicyValidationError {
    let parsed = this.#parsed.get(json);
    if (parsed === undefined) {
      try {
        parsed = parseSigningPolicy(JSON.parse(json) as unknown);
      } catch (e) {
        parsed = e instanceof PolicyValidationError ? e : new PolicyValidationError([`not JSON: ${(e as Error).message}`]);
      }
      if (this.#parsed.size >= 1024) this.#parsed.clear();
      this.#parsed.set(json, parsed);
    }
    return parsed;
  }

  async #maybePrune(): Promise<void> {
    const now = this.#now().getTime();
    if (now - this.#lastPrune < PRUNE_INTERVAL_MS) return;
    this.#lastPrune = now;
    await this.#opts.ledger.prune(LEDGER_RETENTION_MS);
  }
}

/** Whether `scope` lets an API key use `key`, named by its id or any of its aliases. */
export function scopeAllows(scope: ApiKeyScope, key: Pick<KeyFacts, 'keyId' | 'aliases'>): boolean {
  if (!scope.restricted) return true;
  return scope.selectors.includes(key.keyId) || key.aliases.some((a) => scope.selectors.includes(a));
}

/** The denial for a limit the store found used up, worded from the request's own check. */
function denial(ev: Evaluation, req: AdmissionRequest, refusal: AdmissionRefusal): PolicyDenial {
  if (refusal.check === 'rate') {
    const { limit, windowMs } = req.rateLimits[refusal.index]!;
    const w = RATE_WINDOWS.find((x) => x.ms === windowMs)!;
    return new PolicyDenial(w.code, 'policy', `key ${ev.keyId} signed ${refusal.used} times in the last ${w.what}; the limit is ${limit}`, ev.summary);
  }
  const { asset, amount, cap } = req.caps[refusal.index]!;
  return new PolicyDenial(
    'ROLLING_CAP_EXCEEDED',
    'policy',
    `${asset}: ${amount} now plus ${refusal.used} in the last 24 hours is above the rolling24h cap of ${cap}`,
    ev.summary,
  );
}

function ambiguous(keyId: string, selectors: readonly string[], layer: string): PolicyDenial {
  return new PolicyDenial('POLICY_AMBIGUOUS', 'policy', `key ${keyId} has ${selectors.length} policies in the ${layer} (${selectors.join(', ')}); keep one`);
}

function fingerprint(facts: SignFacts, format: SignatureFormat): Uint8Array {
  const h = createHash('sha256');
  // Each field length-prefixed, so no two different requests share an encoding.
  for (const part of ['kmsgate/replay/v1', facts.key.keyId, facts.apiKeyId, facts.algorithm, facts.messageType, format]) {
    const bytes = Buffer.from(part, 'utf8');
    h.update(u32(bytes.length)).update(bytes);
  }
  h.update(u32(facts.message.length)).update(facts.message);
  return new Uint8Array(h.digest());
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
