/**
 * The kmsgate TEE bridge protocol, version 2: the one definition of every message that crosses the
 * Unix socket between kmsgate and a board-side bridge daemon (or `tee-sim`). The client and the
 * simulator both validate what they send and what they receive with these schemas, and
 * `docs/tee-bridge-protocol.md` documents them (a test keeps the two in step).
 *
 * Conventions: JSON envelopes, camelCase member names, binary data as lower-case hex, integers as
 * JSON numbers. Unknown members of an object are ignored (dropped) by the receiver, so a later
 * minor revision can add optional members without a version bump; see the doc's "Versioning".
 */
import { z } from 'zod';
import { TEEC_ORIGIN } from './teec';

/**
 * The protocol version this code speaks; `v` of every envelope after `hello`. Version 2 (the
 * first TA of our own) binds attestations to ATTESTATION_DOMAIN; nothing released spoke 1.
 */
export const PROTOCOL_VERSION = 2;
/** Versions a client offers in `hello`, newest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [2];
/** `v` of every `hello` request and its answer, whatever the versions: any two peers can negotiate. */
export const HELLO_VERSION = 1;
/**
 * Prefixed to `nonce ‖ measurement` in every attestation signature, so the attestation key's
 * signatures cannot be passed off as anything else (26 ASCII bytes, no terminator).
 */
export const ATTESTATION_DOMAIN = 'kmsgate-tee-attestation/v2';
/** Bytes of the big-endian u32 length that precedes every frame body. */
export const FRAME_HEADER_BYTES = 4;
/** Largest frame body (the JSON envelope, in UTF-8 bytes, without the length prefix) either side may send. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** A daemon closes a connection whose partly received frame makes no progress for this long. */
export const FRAME_READ_TIMEOUT_MS = 5_000;
/** Request ids are u32, never 0. */
export const MAX_REQUEST_ID = 0xffff_ffff;
/** `deadlineMs` range: the time budget the sender grants a request, counted from its arrival. */
export const MAX_DEADLINE_MS = 600_000;
/** Attestation nonce length, bytes (OP-TEE's attestation PTA requires a non-empty nonce). */
export const MIN_NONCE_BYTES = 1;
export const MAX_NONCE_BYTES = 64;
/** `random` length range, bytes (AWS GenerateRandom's NumberOfBytes range). */
export const MIN_RANDOM_BYTES = 1;
export const MAX_RANDOM_BYTES = 1024;
/** Largest Ed25519 message `sign` carries (a KMS RAW message is at most 4096 bytes). */
export const MAX_SIGN_MESSAGE_BYTES = 16 * 1024;
/** ECDSA `sign` input: a SHA-256 digest. */
export const ECDSA_DIGEST_BYTES = 32;
/** The attestation measurement: a SHA-256 digest of the trusted application. */
export const MEASUREMENT_BYTES = 32;
/** `seal` plaintext length range, bytes (kmsgate seals 64: a data key and its digest). */
export const MIN_SEAL_BYTES = 1;
export const MAX_SEAL_BYTES = 1024;
/** `seal` / `unseal` additional authenticated data, bytes. */
export const MAX_SEAL_AAD_BYTES = 256;
/** What `seal` adds: the AES-GCM nonce (12 bytes) and tag (16 bytes). */
export const SEAL_OVERHEAD_BYTES = 28;
export const MAX_LABEL_LENGTH = 64;
export const MAX_HANDLE_LENGTH = 128;
export const MAX_MESSAGE_LENGTH = 1024;

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Lower-case hex of `min`..`max` bytes. */
export function hexBytes(min: number, max: number) {
  return z
    .string()
    .regex(/^(?:[0-9a-f]{2})*$/, 'must be lower-case hex with an even number of digits')
    .min(min * 2, `must be at least ${min} bytes`)
    .max(max * 2, `must be at most ${max} bytes`);
}

const RequestId = z.number().int().min(1).max(MAX_REQUEST_ID);
const Uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lower-case RFC 4122 UUID');

export const KEY_TYPES = ['P256', 'SECP256K1', 'ED25519', 'AES_256'] as const;
export const KeyTypeSchema = z.enum(KEY_TYPES);
export type KeyType = z.infer<typeof KeyTypeSchema>;

/** Raw public key length per key type: SEC1 uncompressed point (0x04 ‖ X ‖ Y), the RFC 8032 point, none for AES. */
export const PUBLIC_KEY_BYTES = { P256: 65, SECP256K1: 65, ED25519: 32, AES_256: 0 } as const satisfies Record<KeyType, number>;

export const SIGN_ALGORITHMS = ['ECDSA_SHA_256', 'ED25519'] as const;
export const SignAlgorithmSchema = z.enum(SIGN_ALGORITHMS);
export type SignAlgorithm = z.infer<typeof SignAlgorithmSchema>;

export const ATTESTATION_ALGORITHMS = ['ECDSA_P256_SHA256', 'ED25519', 'RSASSA_PSS_SHA256'] as const;
export const AttestationAlgorithmSchema = z.enum(ATTESTATION_ALGORITHMS);
export type AttestationAlgorithm = z.infer<typeof AttestationAlgorithmSchema>;

export const MODES = ['real', 'simulated'] as const;
export type BridgeMode = (typeof MODES)[number];

const Handle = z
  .string()
  .min(1)
  .max(MAX_HANDLE_LENGTH)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be 1-128 characters of [A-Za-z0-9._:-]');

// ---------------------------------------------------------------------------------------------
// Commands: one entry per command, request payload and result side by side.

export const HelloPayload = z.object({
  /** Protocol versions the client speaks, any order; the daemon picks the highest it shares. */
  versions: z.array(z.number().int().min(1)).min(1).max(16),
  /** Free text naming the client, for the daemon's log. */
  client: z.string().max(128).optional(),
});
export const HelloResult = z.object({
  protocolVersion: z.number().int().min(1),
  taUuid: Uuid,
  /** Identifies the TA build (e.g. a git commit or the signed TA's digest); free text. */
  buildHash: z.string().min(1).max(128),
  /** `simulated` for anything that is not a trusted application in a hardware TEE. */
  mode: z.enum(MODES),
  /** The largest frame body this daemon accepts (≤ MAX_FRAME_BYTES). */
  maxFrameBytes: z.number().int().min(1024).max(MAX_FRAME_BYTES),
  /** Requests this daemon accepts outstanding on one connection before it answers BUSY. */
  maxOutstanding: z.number().int().min(1).max(1024),
  keyTypes: z.array(KeyTypeSchema),
});

export const PingPayload = z.object({});
export const PingResult = z.object({});

export const GenerateKeyPayload = z.object({
  keyType: KeyTypeSchema,
  /** Stored with the key inside the TA, for the operator; kmsgate sends the KMS key id. */
  label: z.string().min(1).max(MAX_LABEL_LENGTH),
});
export const GenerateKeyResult = z.object({
  handle: Handle,
  /** Empty for AES_256 keys. */
  publicKey: hexBytes(0, 65),
});

export const GetPublicKeyPayload = z.object({ handle: Handle });
export const GetPublicKeyResult = z.object({
  keyType: KeyTypeSchema,
  publicKey: hexBytes(32, 65),
});

export const SignPayload = z
  .object({
    handle: Handle,
    algorithm: SignAlgorithmSchema,
    /** ECDSA_SHA_256: the 32-byte SHA-256 digest. ED25519: the whole message (pure Ed25519). */
    input: hexBytes(0, MAX_SIGN_MESSAGE_BYTES),
  })
  .superRefine((p, ctx) => {
    if (p.algorithm === 'ECDSA_SHA_256' && p.input.length !== ECDSA_DIGEST_BYTES * 2)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['input'], message: `must be the ${ECDSA_DIGEST_BYTES}-byte digest for ECDSA_SHA_256` });
  });
export const SignResult = z.object({ signature: hexBytes(64, 64) });

export const DeleteKeyPayload = z.object({ handle: Handle });
export const DeleteKeyResult = z.object({
  /** false: no key had that handle (deleting is idempotent and still succeeds). */
  deleted: z.boolean(),
});

export const SealPayload = z.object({
  /** An AES_256 key. */
  handle: Handle,
  /** Additional authenticated data: unseal must be given the same bytes. */
  aad: hexBytes(0, MAX_SEAL_AAD_BYTES),
  plaintext: hexBytes(MIN_SEAL_BYTES, MAX_SEAL_BYTES),
});
export const SealResult = z.object({
  /** nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16): plaintext + SEAL_OVERHEAD_BYTES. */
  sealed: hexBytes(MIN_SEAL_BYTES + SEAL_OVERHEAD_BYTES, MAX_SEAL_BYTES + SEAL_OVERHEAD_BYTES),
});

export const UnsealPayload = z.object({
  handle: Handle,
  aad: hexBytes(0, MAX_SEAL_AAD_BYTES),
  sealed: hexBytes(MIN_SEAL_BYTES + SEAL_OVERHEAD_BYTES, MAX_SEAL_BYTES + SEAL_OVERHEAD_BYTES),
});
export const UnsealResult = z.object({ plaintext: hexBytes(MIN_SEAL_BYTES, MAX_SEAL_BYTES) });

export const RandomPayload = z.object({ length: z.number().int().min(MIN_RANDOM_BYTES).max(MAX_RANDOM_BYTES) });
export const RandomResult = z.object({ bytes: hexBytes(MIN_RANDOM_BYTES, MAX_RANDOM_BYTES) });

export const GetRollbackCounterPayload = z.object({});
export const GetRollbackCounterResult = z.object({
  /** The TA's monotonic counter (RPMB on a board): never decreases, grows with each sealed-state write. */
  counter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export const GetAttestationPayload = z.object({ nonce: hexBytes(MIN_NONCE_BYTES, MAX_NONCE_BYTES) });
export const GetAttestationResult = z.object({
  algorithm: AttestationAlgorithmSchema,
  /** The device attestation public key, DER SubjectPublicKeyInfo. */
  publicKey: hexBytes(32, 1024),
  measurement: hexBytes(MEASUREMENT_BYTES, MEASUREMENT_BYTES),
  /** The caller's nonce, echoed. */
  nonce: hexBytes(MIN_NONCE_BYTES, MAX_NONCE_BYTES),
  /** Over ATTESTATION_DOMAIN ‖ nonce ‖ measurement. ECDSA: DER; Ed25519: 64 bytes; RSASSA-PSS: modulus-sized. */
  signature: hexBytes(64, 1024),
});

/**
 * Every command: its payload and result schemas, and whether it changes the TA's state (such a
 * command is never retried by the client, and a timed-out one may still have taken effect).
 */
export const COMMANDS = {
  hello: { payload: HelloPayload, result: HelloResult, mutating: false },
  ping: { payload: PingPayload, result: PingResult, mutating: false },
  generateKey: { payload: GenerateKeyPayload, result: GenerateKeyResult, mutating: true },
  getPublicKey: { payload: GetPublicKeyPayload, result: GetPublicKeyResult, mutating: false },
  sign: { payload: SignPayload, result: SignResult, mutating: true },
  deleteKey: { payload: DeleteKeyPayload, result: DeleteKeyResult, mutating: true },
  seal: { payload: SealPayload, result: SealResult, mutating: false },
  unseal: { payload: UnsealPayload, result: UnsealResult, mutating: false },
  random: { payload: RandomPayload, result: RandomResult, mutating: false },
  getRollbackCounter: { payload: GetRollbackCounterPayload, result: GetRollbackCounterResult, mutating: false },
  getAttestation: { payload: GetAttestationPayload, result: GetAttestationResult, mutating: false },
} as const;

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];
export type Payload<C extends CommandName> = z.input<(typeof COMMANDS)[C]['payload']>;
export type Result<C extends CommandName> = z.output<(typeof COMMANDS)[C]['result']>;
/** A payload as the receiver has it after validation. */
export type ParsedPayload<C extends CommandName> = z.output<(typeof COMMANDS)[C]['payload']>;
export type HelloInfo = Result<'hello'>;
export type Attestation = Result<'getAttestation'>;

export function isCommandName(cmd: string): cmd is CommandName {
  return Object.prototype.hasOwnProperty.call(COMMANDS, cmd);
}

// ---------------------------------------------------------------------------------------------
// Envelopes

export const RequestEnvelope = z.object({
  v: z.number().int().min(1),
  id: RequestId,
  cmd: z.string().min(1).max(64),
  /** Milliseconds the daemon has, from the frame's arrival, to start the TA call; later, it answers DEADLINE_EXCEEDED. */
  deadlineMs: z.number().int().min(1).max(MAX_DEADLINE_MS),
  payload: z.record(z.unknown()),
});
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

/**
 * Error codes. Frame-level codes (BAD_FRAME, FRAME_TOO_LARGE, UNSUPPORTED_VERSION) end the
 * connection; the others answer one request and leave the connection open.
 */
export const ERROR_CODES = [
  'BAD_FRAME',
  'FRAME_TOO_LARGE',
  'UNSUPPORTED_VERSION',
  'HANDSHAKE_REQUIRED',
  'UNKNOWN_COMMAND',
  'BAD_REQUEST',
  'BUSY',
  'DEADLINE_EXCEEDED',
  'TEE_ERROR',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
/** Codes after which the daemon closes the connection. */
export const CONNECTION_FATAL_CODES: readonly string[] = ['BAD_FRAME', 'FRAME_TOO_LARGE', 'UNSUPPORTED_VERSION'];

const TEEC_ORIGINS = Object.values(TEEC_ORIGIN) as number[];

export const ErrorBody = z
  .object({
    /** One of ERROR_CODES; a later revision may add codes, which a receiver treats as INTERNAL. */
    code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be an upper-case error code'),
    message: z.string().max(MAX_MESSAGE_LENGTH),
    /** TEEC result code as 8 hex digits (`0xFFFF000D`); present exactly when code is TEE_ERROR. */
    teec: z
      .string()
      .regex(/^0x[0-9a-fA-F]{8}$/)
      .optional(),
    /** TEEC_ORIGIN_* value (1 API, 2 COMMS, 3 TEE, 4 TRUSTED_APP); present exactly when code is TEE_ERROR. */
    origin: z
      .number()
      .int()
      .refine((o) => TEEC_ORIGINS.includes(o), 'must be a TEEC_ORIGIN_* value (1-4)')
      .optional(),
    /** true: the TA may have executed the command (e.g. it died or ran past its deadline mid-call). */
    outcomeUnknown: z.boolean(),
    /** true: the same request may succeed if sent again later (BUSY, a transient TEE error). */
    retryable: z.boolean(),
  })
  .superRefine((e, ctx) => {
    const tee = e.code === 'TEE_ERROR';
    if (tee !== (e.teec !== undefined) || tee !== (e.origin !== undefined))
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'teec and origin must be present exactly when code is TEE_ERROR' });
  });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ResponseEnvelope = z.discriminatedUnion('ok', [
  z.object({ v: z.number().int().min(1), id: RequestId, ok: z.literal(true), result: z.record(z.unknown()) }),
  /** id is null only for an error about a frame whose id could not be read. */
  z.object({ v: z.number().int().min(1), id: RequestId.nullable(), ok: z.literal(false), error: ErrorBody }),
]);
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;

/** The first issue of a zod error as one short line (`input: must be at most 64 bytes`). */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.join('.');
  return (path ? `${path}: ` : '') + issue.message;
}

export function errorBody(
  code: ErrorCode,
  message: string,
  extra: Partial<Pick<ErrorBody, 'teec' | 'origin' | 'outcomeUnknown' | 'retryable'>> = {},
): ErrorBody {
  return {
    code,
    message: message.length > MAX_MESSAGE_LENGTH ? message.slice(0, MAX_MESSAGE_LENGTH - 1) + '…' : message,
    ...(extra.teec !== undefined && { teec: extra.teec }),
    ...(extra.origin !== undefined && { origin: extra.origin }),
    outcomeUnknown: extra.outcomeUnknown ?? false,
    retryable: extra.retryable ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Hex

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Hex (either case) to bytes; throws RangeError on anything else. */
export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new RangeError('not hex with an even number of digits');
  return new Uint8Array(Buffer.from(text, 'hex'));
}
