/**
 * The bridge daemon's TA executor: one long-lived TEEC context and one session to the kmsgate TA,
 * each protocol command translated to the TA's binary command (ta-interface.ts) and back. Calls
 * run one at a time on a libuv worker thread. A session the TA killed (TEEC_ERROR_TARGET_DEAD,
 * TEEC_ERROR_COMMUNICATION) is reopened before the next command; the command that saw it is
 * answered with the error, never repeated.
 */
import { p256 } from '@noble/curves/nist';
import { spkiFromRawPublicKey } from '@kmsgate/core';
import {
  COMMANDS,
  SYSTEM_CLOCK,
  TEEC_ORIGIN,
  TEEC_RESULT,
  fromHex,
  teecDescribe,
  toHex,
  type BridgeClock,
  type KeyType,
  type ParsedPayload,
  type Result,
} from '@kmsgate/tee';
import { TeecContext, TeecSession, TEEC_SUCCESS, type TeecOut, type TeecParam } from './libteec';
import {
  HANDLE_PATTERN,
  TA_ALGORITHM,
  TA_COMMAND,
  TA_EC_PUBLIC_KEY_BYTES,
  TA_HANDLE_BYTES,
  TA_INTERFACE_VERSION,
  TA_KEY_TYPE,
  TA_MAX_LABEL_BYTES,
  TA_MEASUREMENT_BYTES,
  TA_SEAL_OVERHEAD,
  TA_SIGNATURE_BYTES,
  TA_UUID,
  keyTypesOfMask,
} from './ta-interface';
import { CallTimeoutError, TaError, type TaCommand, type TaExecutor } from './ta-executor';

/** How long one TA call may run before the daemon answers DEADLINE_EXCEEDED (outcome unknown). */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export interface TaSessionOptions {
  /** libteec.so on a board; tee/host's library on a host. */
  libraryPath: string;
  /** TEEC_InitializeContext's name: null on a board; the storage directory for the host build. */
  contextName: string | null;
  uuid?: string;
  callTimeoutMs?: number;
  log?: (line: string) => void;
  /** What the call timeout is measured on (default: the system clock). */
  clock?: BridgeClock;
}

const KEY_TYPE_NAMES = Object.fromEntries(Object.entries(TA_KEY_TYPE).map(([k, v]) => [v, k])) as Record<number, KeyType>;
const SESSION_LOST: readonly number[] = [TEEC_RESULT.TEEC_ERROR_TARGET_DEAD, TEEC_RESULT.TEEC_ERROR_COMMUNICATION];

type Payloads = { [C in TaCommand]: ParsedPayload<C> };
type Invoke = (command: number, params: TeecParam[]) => Promise<TeecOut[]>;

export class TaSession implements TaExecutor {
  readonly uuid: string;
  readonly #context: TeecContext;
  readonly #callTimeoutMs: number;
  readonly #clock: BridgeClock;
  readonly #log: (line: string) => void;
  #session: TeecSession | undefined;
  /** The call in progress (or the last one): the next waits for it, even after a timeout. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Sessions opened, the first included: a reopen after a TA panic shows here. */
  sessionsOpened = 0;

  constructor(options: TaSessionOptions) {
    this.uuid = options.uuid ?? TA_UUID;
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#log = options.log ?? (() => undefined);
    this.#context = TeecContext.initialize(options.libraryPath, options.contextName);
  }

  /** Opens the session now (the daemon's start), so a missing TA shows at once. */
  async open(): Promise<void> {
    await this.#serial(() => this.#ensureSession());
  }

  invoke<C extends TaCommand>(cmd: C, payload: ParsedPayload<C>): Promise<Result<C>> {
    return this.#serial(async () => {
      const call = this.#caller(await this.#ensureSession(), cmd, COMMANDS[cmd].mutating);
      return (this.#handlers[cmd] as (p: ParsedPayload<C>, c: Invoke) => Promise<Result<C>>)(payload, call);
    });
  }

  /** The key types the TA generates, as it reports them (GET_KEY_TYPES): what hello announces. */
  keyTypes(): Promise<KeyType[]> {
    return this.#serial(async () => {
      const call = this.#caller(await this.#ensureSession(), 'getKeyTypes', false);
      const [mask] = await call(TA_COMMAND.GET_KEY_TYPES, [{ kind: 'valueOut' }]);
      return keyTypesOfMask(value(mask).a);
    });
  }

  /** TEEC_InvokeCommand on the session; anything but success is a TaError, a lost session dropped. */
  #caller(session: TeecSession, name: string, mutating: boolean): Invoke {
    return async (command, params) => {
      const { result, origin, params: out } = await session.invoke(command, params);
      if (result === TEEC_SUCCESS) return out;
      const lost = SESSION_LOST.includes(result);
      if (lost) {
        this.#log(`the TA session broke in ${name} (${teecDescribe(result)}); reopening it before the next command`);
        this.#dropSession();
      }
      throw new TaError(
        result,
        origin,
        `${name}: ${teecDescribe(result)} from ${originName(origin)}`,
        lost && mutating,
        lost || result === TEEC_RESULT.TEEC_ERROR_BUSY,
      );
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#tail.finally(() => {
      this.#dropSession();
      this.#context.finalize();
    });
  }

  /**
   * One call at a time. A call still running callTimeoutMs after it started is answered with
   * CallTimeoutError; the next call still waits for it to return (the TEE cannot be interrupted).
   */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    let timer: unknown;
    let timedOut: (e: Error) => void = () => undefined;
    const timeout = new Promise<never>((_, reject) => {
      timedOut = reject;
    });
    const run = this.#tail.then(() => {
      if (this.#closed) throw new Error('the TA session is closed');
      timer = this.#clock.setTimeout(
        () => timedOut(new CallTimeoutError(`the TA call did not return within ${this.#callTimeoutMs} ms; it may still take effect`)),
        this.#callTimeoutMs,
      );
      return work();
    });
    this.#tail = run.catch(() => undefined);
    return Promise.race([run, timeout]).finally(() => this.#clock.clearTimeout(timer));
  }

  async #ensureSession(): Promise<TeecSession> {
    if (this.#session) return this.#session;
    const opened = await this.#context.openSession(this.uuid);
    if (!(opened instanceof TeecSession)) {
      throw new TaError(
        opened.result,
        opened.origin,
        `cannot open a session to TA ${this.uuid}: ${teecDescribe(opened.result)} from ${originName(opened.origin)}`,
        false,
        opened.result === TEEC_RESULT.TEEC_ERROR_BUSY,
      );
    }
    this.sessionsOpened++;
    this.#session = opened;
    return opened;
  }

  #dropSession(): void {
    this.#session?.close();
    this.#session = undefined;
  }

  readonly #handlers: { [C in TaCommand]: (p: Payloads[C], call: Invoke) => Promise<Result<C>> } = {
    ping: async (_p, call) => {
      const [v] = await call(TA_COMMAND.PING, [{ kind: 'valueOut' }]);
      if (value(v).a !== TA_INTERFACE_VERSION) throw internal(`the TA speaks interface ${value(v).a}, this daemon ${TA_INTERFACE_VERSION}`);
      return {};
    },
    generateKey: async ({ keyType, label }, call) => {
      const [, , handle, pub] = await call(TA_COMMAND.GENERATE_KEY, [
        { kind: 'valueIn', a: TA_KEY_TYPE[keyType] },
        { kind: 'memrefIn', data: labelBytes(label) },
        { kind: 'memrefOut', size: TA_HANDLE_BYTES },
        { kind: 'memrefOut', size: TA_EC_PUBLIC_KEY_BYTES },
      ]);
      return { handle: `k-${toHex(memref(handle))}`, publicKey: toHex(memref(pub)) };
    },
    getPublicKey: async ({ handle }, call) => {
      const [, type, pub] = await call(TA_COMMAND.GET_PUBLIC_KEY, [
        { kind: 'memrefIn', data: handleBytes(handle) },
        { kind: 'valueOut' },
        { kind: 'memrefOut', size: TA_EC_PUBLIC_KEY_BYTES },
      ]);
      const keyType = KEY_TYPE_NAMES[value(type).a];
      if (!keyType) throw internal(`the TA reported key type ${value(type).a}`);
      return { keyType, publicKey: toHex(memref(pub)) };
    },
    sign: async ({ handle, algorithm, input }, call) => {
      const [, , , sig] = await call(TA_COMMAND.SIGN, [
        { kind: 'memrefIn', data: handleBytes(handle) },
        { kind: 'valueIn', a: TA_ALGORITHM[algorithm] },
        { kind: 'memrefIn', data: fromHex(input) },
        { kind: 'memrefOut', size: TA_SIGNATURE_BYTES },
      ]);
      return { signature: toHex(memref(sig)) };
    },
    deleteKey: async ({ handle }, call) => {
      const [, deleted] = await call(TA_COMMAND.DELETE_KEY, [{ kind: 'memrefIn', data: handleBytes(handle) }, { kind: 'valueOut' }]);
      return { deleted: value(deleted).a === 1 };
    },
    seal: async ({ handle, aad, plaintext }, call) => ({ sealed: await aesGcm(call, TA_COMMAND.SEAL, handle, aad, plaintext, TA_SEAL_OVERHEAD) }),
    unseal: async ({ handle, aad, sealed }, call) => ({ plaintext: await aesGcm(call, TA_COMMAND.UNSEAL, handle, aad, sealed, -TA_SEAL_OVERHEAD) }),
    random: async ({ length }, call) => {
      const [bytes] = await call(TA_COMMAND.RANDOM, [{ kind: 'memrefOut', size: length }]);
      return { bytes: toHex(memref(bytes)) };
    },
    getRollbackCounter: async (_p, call) => {
      const [v] = await call(TA_COMMAND.GET_ROLLBACK_COUNTER, [{ kind: 'valueOut' }]);
      return { counter: value(v).b * 2 ** 32 + value(v).a };
    },
    getAttestation: async ({ nonce }, call) => {
      const [, measurement, pub, sig] = await call(TA_COMMAND.GET_ATTESTATION, [
        { kind: 'memrefIn', data: fromHex(nonce) },
        { kind: 'memrefOut', size: TA_MEASUREMENT_BYTES },
        { kind: 'memrefOut', size: TA_EC_PUBLIC_KEY_BYTES },
        { kind: 'memrefOut', size: TA_SIGNATURE_BYTES },
      ]);
      const raw = memref(pub);
      if (raw.length !== TA_EC_PUBLIC_KEY_BYTES || raw[0] !== 0x04) throw internal('the TA returned a malformed attestation key');
      return {
        algorithm: 'ECDSA_P256_SHA256' as const,
        publicKey: toHex(spkiFromRawPublicKey('ECC_NIST_P256', raw.subarray(1))),
        measurement: toHex(memref(measurement)),
        nonce,
        // The TA signs r ‖ s (the GP output); the protocol carries DER.
        signature: toHex(p256.Signature.fromCompact(memref(sig)).toDERRawBytes()),
      };
    },
  };
}

/** SEAL and UNSEAL share one layout: handle, AAD, input, and an output `grow` bytes longer than the input. */
async function aesGcm(call: Invoke, command: number, handle: string, aad: string, input: string, grow: number): Promise<string> {
  const data = fromHex(input);
  const [, , , out] = await call(command, [
    { kind: 'memrefIn', data: handleBytes(handle) },
    { kind: 'memrefIn', data: fromHex(aad) },
    { kind: 'memrefIn', data },
    { kind: 'memrefOut', size: data.length + grow },
  ]);
  return toHex(memref(out));
}

function originName(origin: number): string {
  return Object.entries(TEEC_ORIGIN).find(([, v]) => v === origin)?.[0] ?? `origin ${origin}`;
}

function internal(message: string): TaError {
  return new TaError(TEEC_RESULT.TEEC_ERROR_BAD_FORMAT, TEEC_ORIGIN.TEEC_ORIGIN_API, message);
}

function value(out: TeecOut | undefined): { a: number; b: number } {
  if (out?.kind !== 'value') throw internal('missing value output');
  return out;
}

function memref(out: TeecOut | undefined): Uint8Array {
  if (out?.kind !== 'memref') throw internal('missing memref output');
  return out.data;
}

/**
 * A handle the TA could have issued, as its 16 bytes. Anything else names no key: the answer a
 * TA gives for an unknown handle, from the daemon (origin API), without a TA call.
 */
function handleBytes(handle: string): Uint8Array {
  const m = HANDLE_PATTERN.exec(handle);
  if (!m) throw new TaError(TEEC_RESULT.TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ORIGIN.TEEC_ORIGIN_API, `no key with handle ${handle}: not a handle this TA issues`);
  return fromHex(m[1]!);
}

/** The label as UTF-8, cut at a character boundary to the TA's 64 bytes (it is for operators). */
function labelBytes(label: string): Uint8Array {
  let bytes = new TextEncoder().encode(label);
  if (bytes.length <= TA_MAX_LABEL_BYTES) return bytes;
  let end = TA_MAX_LABEL_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  bytes = bytes.subarray(0, end);
  return bytes;
}
