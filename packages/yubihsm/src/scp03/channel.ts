/**
 * The SCP03 secure channel of a YubiHSM 2 session, host and card side in one class so that the
 * client and the simulator run the very same code path (which is also why it needs outside test
 * vectors: a bug shared by both sides would pass every round trip).
 */
import { inspect } from 'node:util';
import { assertBytes, assertInt } from '../check';
import { Command, RESPONSE_ERROR, responseCode } from '../codes';
import * as AuthenticateSession from '../commands/authenticate-session';
import * as SessionMessage from '../commands/session-message';
import { DeviceError, DeviceErrorCode, ProtocolError, type ProtocolErrorKind, SessionLimitError } from '../errors';
import { WireError, WireReader, frame, parseFrame } from '../wire';
import { CbcKey } from './cbc';
import { decrypt, encrypt, counterIv } from './cipher';
import { CHALLENGE_LENGTH, CRYPTOGRAM_LENGTH, cardCryptogram, cryptogramsEqual, hostCryptogram } from './cryptogram';
import { type AuthKey, CmacKey, DerivationConstant, KEY_LENGTH, scp03Kdf } from './kdf';
import { MAC_LENGTH, commandMac, responseMac } from './mac';
import { BLOCK_SIZE, concatBytes, constantTimeEqual } from './util';

/**
 * Client-side cap on messages per session. The device documents none; yubihsm.rs
 * (`MAX_COMMANDS_PER_SESSION`, src/session/securechannel.rs) stops at 2^20 because of the
 * birthday bound of the 64-bit MAC, and so do we.
 */
export const MAX_MESSAGES_PER_SESSION = 2 ** 20;

export type ChannelState = 'none' | 'authenticated' | 'closed';
export type ChannelSide = 'host' | 'card';

export interface SessionKeys {
  sEnc: Uint8Array;
  sMac: Uint8Array;
  sRmac: Uint8Array;
}

export interface ChannelOptions {
  /** Lower message cap than MAX_MESSAGES_PER_SESSION, so tests can reach it. */
  messageLimit?: number;
}

/** The chaining value and IV of the exchange in flight; committed only when it completes. */
interface Pending {
  chain: Uint8Array;
  iv: Uint8Array;
}

const SESSION_MESSAGE_RESPONSE = responseCode(Command.SESSION_MESSAGE);
const KEY_FIELDS = ['sEnc', 'sMac', 'sRmac'] as const;

function checkAuthKey(authKey: AuthKey): void {
  if (typeof authKey !== 'object' || authKey === null) throw new TypeError('authKey must be { encKey, macKey }');
  assertBytes('authKey.encKey', authKey.encKey, KEY_LENGTH);
  assertBytes('authKey.macKey', authKey.macKey, KEY_LENGTH);
}

function deviceErrorFromWire(e: unknown): never {
  if (e instanceof WireError) throw new DeviceError(e.deviceCode, { command: Command.SESSION_MESSAGE });
  throw e;
}

export class Scp03Channel {
  readonly side: ChannelSide;
  readonly sessionId: number;
  readonly messageLimit: number;
  #state: ChannelState = 'none';
  readonly #keys: SessionKeys;
  /** S-MAC and S-RMAC with their CMAC subkeys, derived once per session. */
  readonly #mac: { s: CmacKey; r: CmacKey };
  /** S-ENC's cipher contexts, set up once per session. */
  readonly #enc: CbcKey;
  /** Host challenge || card challenge; undefined for an asymmetric session, which has no cryptograms. */
  readonly #context: Uint8Array | undefined;
  readonly #cardCryptogram: Uint8Array | undefined;
  #chain: Uint8Array = new Uint8Array(BLOCK_SIZE);
  /** Encryption counter of the next exchange; set to 1 on authentication (GPC_SPE_014 §6.2.6). */
  #counter = 1;
  #pending: Pending | undefined;
  #authenticateSent = false;

  private constructor(side: ChannelSide, sessionId: number, keys: SessionKeys, context: Uint8Array | undefined, options: ChannelOptions | undefined) {
    this.side = side;
    this.sessionId = sessionId;
    this.#keys = keys;
    this.#mac = { s: new CmacKey(keys.sMac), r: new CmacKey(keys.sRmac) };
    this.#enc = new CbcKey(keys.sEnc);
    this.#context = context;
    this.#cardCryptogram = context === undefined ? undefined : cardCryptogram(keys.sMac, context);
    const limit = options?.messageLimit ?? MAX_MESSAGES_PER_SESSION;
    assertInt('messageLimit', limit, 1, MAX_MESSAGES_PER_SESSION);
    this.messageLimit = limit;
  }

  /** S-ENC from K-ENC, S-MAC and S-RMAC from K-MAC, over `hostChallenge || cardChallenge`. */
  static deriveSessionKeys(authKey: AuthKey, hostChallenge: Uint8Array, cardChallenge: Uint8Array): SessionKeys {
    checkAuthKey(authKey);
    assertBytes('hostChallenge', hostChallenge, CHALLENGE_LENGTH);
    assertBytes('cardChallenge', cardChallenge, CHALLENGE_LENGTH);
    const context = concatBytes(hostChallenge, cardChallenge);
    return {
      sEnc: scp03Kdf(authKey.encKey, DerivationConstant.S_ENC, context, KEY_LENGTH * 8),
      sMac: scp03Kdf(authKey.macKey, DerivationConstant.S_MAC, context, KEY_LENGTH * 8),
      sRmac: scp03Kdf(authKey.macKey, DerivationConstant.S_RMAC, context, KEY_LENGTH * 8),
    };
  }

  /**
   * Host side, after CREATE_SESSION answered. Verifies the card cryptogram (constant time) before
   * anything else is sent, so a device without our key learns nothing more.
   */
  static forHost(
    authKey: AuthKey,
    sessionId: number,
    hostChallenge: Uint8Array,
    cardChallenge: Uint8Array,
    cardCryptogram: Uint8Array,
    options?: ChannelOptions,
  ): Scp03Channel {
    assertInt('sessionId', sessionId, 0, 0xff);
    assertBytes('cardCryptogram', cardCryptogram, CRYPTOGRAM_LENGTH);
    const keys = Scp03Channel.deriveSessionKeys(authKey, hostChallenge, cardChallenge);
    const channel = new Scp03Channel('host', sessionId, keys, concatBytes(hostChallenge, cardChallenge), options);
    if (!cryptogramsEqual(channel.cardCryptogram, cardCryptogram)) {
      channel.close();
      throw new ProtocolError('cryptogram', 'card cryptogram mismatch: the device does not hold this authentication key');
    }
    return channel;
  }

  /** Card side (the simulator), when it answers CREATE_SESSION; send `cardCryptogram` back. */
  static forCard(authKey: AuthKey, sessionId: number, hostChallenge: Uint8Array, cardChallenge: Uint8Array, options?: ChannelOptions): Scp03Channel {
    assertInt('sessionId', sessionId, 0, 0xff);
    const keys = Scp03Channel.deriveSessionKeys(authKey, hostChallenge, cardChallenge);
    return new Scp03Channel('card', sessionId, keys, concatBytes(hostChallenge, cardChallenge), options);
  }

  /**
   * Either side of an asymmetric (EC P-256) session, already authenticated: the session keys come
   * from the key agreement (scp03/asymmetric.ts) and the receipt is the first chaining value, as
   * python-yubihsm's `AsymmetricAuth.authenticate` starts its session. The host must have checked
   * the receipt before calling this.
   */
  static afterKeyAgreement(side: ChannelSide, sessionId: number, keys: SessionKeys, receipt: Uint8Array, options?: ChannelOptions): Scp03Channel {
    assertInt('sessionId', sessionId, 0, 0xff);
    for (const k of KEY_FIELDS) assertBytes(`keys.${k}`, keys[k], KEY_LENGTH);
    assertBytes('receipt', receipt, BLOCK_SIZE);
    const channel = new Scp03Channel(side, sessionId, keys, undefined, options);
    channel.#chain = receipt.slice();
    channel.#counter = 1;
    channel.#state = 'authenticated';
    return channel;
  }

  get state(): ChannelState {
    return this.#state;
  }

  /** Completed command/response exchanges inside the session. */
  get messageCount(): number {
    return this.#counter - 1;
  }

  get cardCryptogram(): Uint8Array {
    if (this.#cardCryptogram === undefined) throw new ProtocolError('state', 'an asymmetric session has no card cryptogram');
    return this.#cardCryptogram.slice();
  }

  /** The symmetric authentication context; asymmetric sessions never reach the code that needs it. */
  private context(): Uint8Array {
    if (this.#context === undefined) throw new ProtocolError('state', 'an asymmetric session has no challenges');
    return this.#context;
  }

  private expect(side: ChannelSide, state: ChannelState, operation: string): void {
    if (this.side !== side) throw new ProtocolError('state', `${operation} is a ${side}-side operation`);
    if (this.#state !== state) throw new ProtocolError('state', `${operation} needs channel state '${state}', it is '${this.#state}'`);
  }

  /** Closes the channel and throws: for integrity failures, after which the session is unusable. */
  private fail(kind: ProtocolErrorKind, message: string, cause?: unknown): never {
    this.close();
    throw new ProtocolError(kind, message, cause === undefined ? undefined : { cause });
  }

  // ----- host side -----

  /** The complete AUTHENTICATE_SESSION frame; its full CMAC becomes the first chaining value. */
  authenticateSessionCommand(): Uint8Array {
    this.expect('host', 'none', 'authenticateSessionCommand');
    if (this.#authenticateSent) throw new ProtocolError('state', 'AUTHENTICATE_SESSION was already built for this channel');
    const cryptogram = hostCryptogram(this.#keys.sMac, this.context());
    const body = AuthenticateSession.encodeMacedBody({ sessionId: this.sessionId, hostCryptogram: cryptogram });
    const full = commandMac(this.#mac.s, this.#chain, AuthenticateSession.CODE, body);
    const out = frame(
      AuthenticateSession.CODE,
      AuthenticateSession.encodeRequest({ sessionId: this.sessionId, hostCryptogram: cryptogram, mac: full.subarray(0, MAC_LENGTH) }),
    );
    this.#chain = full;
    this.#authenticateSent = true;
    return out;
  }

  /** Call once the device answered AUTHENTICATE_SESSION with `84 00 00`. */
  markAuthenticated(): void {
    this.expect('host', 'none', 'markAuthenticated');
    if (!this.#authenticateSent) throw new ProtocolError('state', 'AUTHENTICATE_SESSION has not been sent');
    this.#state = 'authenticated';
    this.#counter = 1;
  }

  /**
   * Encrypts and MACs one inner command frame into a SESSION_MESSAGE frame. One exchange at a
   * time: the next `wrap` needs the `unwrap` of this one. Throws SessionLimitError (nothing sent)
   * once the message cap is reached.
   */
  wrap(innerFrame: Uint8Array): Uint8Array {
    this.expect('host', 'authenticated', 'wrap');
    assertBytes('innerFrame', innerFrame, { min: 3 });
    if (this.#pending) throw new ProtocolError('state', 'the previous command has not been answered yet');
    if (this.#counter > this.messageLimit) throw new SessionLimitError(this.messageLimit);
    const iv = counterIv(this.#enc, this.#counter);
    const ciphertext = encrypt(this.#enc, iv, innerFrame);
    const body = SessionMessage.encodeMacedBody({ sessionId: this.sessionId, ciphertext });
    const full = commandMac(this.#mac.s, this.#chain, SessionMessage.CODE, body);
    const out = frame(SessionMessage.CODE, SessionMessage.encodeRequest({ sessionId: this.sessionId, ciphertext, mac: full.subarray(0, MAC_LENGTH) }));
    this.#pending = { chain: full, iv };
    return out;
  }

  /**
   * Verifies session ID and R-MAC (constant time), decrypts, and returns the inner response
   * frame. A plaintext outer `7f 00 01 XX` throws DeviceError and leaves counter and chain as they
   * were (python-yubihsm's behaviour). Any integrity failure closes the channel.
   */
  unwrap(outerResponseFrame: Uint8Array): Uint8Array {
    this.expect('host', 'authenticated', 'unwrap');
    assertBytes('outerResponseFrame', outerResponseFrame);
    const pending = this.#pending;
    if (!pending) throw new ProtocolError('state', 'no command is waiting for a response');
    let code: number;
    let payload: Uint8Array;
    try {
      ({ code, payload } = parseFrame(outerResponseFrame));
    } catch (e) {
      this.fail('framing', 'malformed SESSION_MESSAGE response frame', e);
    }
    if (code === RESPONSE_ERROR) {
      const r = new WireReader(payload);
      let errorCode: number;
      try {
        errorCode = r.u8();
        r.end();
      } catch (e) {
        this.fail('framing', 'malformed error response', e);
      }
      this.#pending = undefined;
      throw new DeviceError(errorCode, { command: Command.SESSION_MESSAGE });
    }
    if (code !== SESSION_MESSAGE_RESPONSE) {
      this.fail('unexpected-response', `expected response code 0x85, got 0x${code.toString(16).padStart(2, '0')}`);
    }
    let msg: SessionMessage.Response;
    try {
      msg = SessionMessage.decodeResponse(payload);
    } catch (e) {
      this.fail('framing', 'malformed SESSION_MESSAGE response', e);
    }
    if (msg.sessionId !== this.sessionId) {
      this.fail('session-id', `response is for session ${msg.sessionId}, not ${this.sessionId}`);
    }
    const expected = responseMac(this.#mac.r, pending.chain, SESSION_MESSAGE_RESPONSE, SessionMessage.encodeMacedBody(msg));
    if (!constantTimeEqual(expected, msg.mac)) this.fail('mac', 'response MAC (R-MAC) mismatch');
    const inner = decrypt(this.#enc, pending.iv, msg.ciphertext);
    if (!inner) this.fail('padding', 'response does not decrypt to a padded message');
    try {
      parseFrame(inner);
    } catch (e) {
      this.fail('framing', 'decrypted response is not a frame', e);
    }
    this.#chain = pending.chain;
    this.#counter++;
    this.#pending = undefined;
    return inner;
  }

  // ----- card side -----

  /**
   * Checks the host cryptogram and MAC of an AUTHENTICATE_SESSION payload. On failure the channel
   * is closed (a host gets one guess per session) and DeviceError AUTHENTICATION_FAILED is thrown.
   */
  verifyAuthenticateSession(payload: Uint8Array): void {
    this.expect('card', 'none', 'verifyAuthenticateSession');
    let req: AuthenticateSession.Request;
    try {
      req = AuthenticateSession.decodeRequest(payload);
    } catch (e) {
      deviceErrorFromWire(e);
    }
    if (req.sessionId !== this.sessionId) throw new DeviceError(DeviceErrorCode.INVALID_SESSION, { command: AuthenticateSession.CODE });
    const expectedCryptogram = hostCryptogram(this.#keys.sMac, this.context());
    const full = commandMac(this.#mac.s, this.#chain, AuthenticateSession.CODE, AuthenticateSession.encodeMacedBody(req));
    // Both comparisons always run, so timing does not say which one failed.
    const cryptogramOk = cryptogramsEqual(expectedCryptogram, req.hostCryptogram);
    const macOk = constantTimeEqual(full.subarray(0, MAC_LENGTH), req.mac);
    if (!(cryptogramOk && macOk)) {
      this.close();
      throw new DeviceError(DeviceErrorCode.AUTHENTICATION_FAILED, { command: AuthenticateSession.CODE });
    }
    this.#chain = full;
    this.#counter = 1;
    this.#state = 'authenticated';
  }

  /**
   * Verifies the C-MAC of a SESSION_MESSAGE payload (`SID || C || MAC`) and returns the decrypted
   * inner command frame. Throws DeviceError with the code a device would send. A command left
   * unanswered (no `wrapResponse`) is forgotten, like the host forgets it after an outer error.
   */
  unwrapCommand(outerPayload: Uint8Array): Uint8Array {
    if (this.side !== 'card') throw new ProtocolError('state', 'unwrapCommand is a card-side operation');
    if (this.#state !== 'authenticated') throw new DeviceError(DeviceErrorCode.INVALID_SESSION, { command: SessionMessage.CODE });
    let msg: SessionMessage.Request;
    try {
      msg = SessionMessage.decodeRequest(outerPayload);
    } catch (e) {
      deviceErrorFromWire(e);
    }
    if (msg.sessionId !== this.sessionId) throw new DeviceError(DeviceErrorCode.INVALID_SESSION, { command: SessionMessage.CODE });
    if (msg.ciphertext.length === 0 || msg.ciphertext.length % BLOCK_SIZE !== 0) {
      throw new DeviceError(DeviceErrorCode.WRONG_LENGTH, { command: SessionMessage.CODE });
    }
    const full = commandMac(this.#mac.s, this.#chain, SessionMessage.CODE, SessionMessage.encodeMacedBody(msg));
    if (!constantTimeEqual(full.subarray(0, MAC_LENGTH), msg.mac)) {
      throw new DeviceError(DeviceErrorCode.AUTHENTICATION_FAILED, { command: SessionMessage.CODE });
    }
    const iv = counterIv(this.#enc, this.#counter);
    const inner = decrypt(this.#enc, iv, msg.ciphertext);
    if (!inner) throw new DeviceError(DeviceErrorCode.AUTHENTICATION_FAILED, { command: SessionMessage.CODE });
    this.#pending = { chain: full, iv };
    return inner;
  }

  /** Encrypts the inner response, adds the R-MAC, and returns the whole `0x85` frame; then counts the exchange. */
  wrapResponse(innerResponseFrame: Uint8Array): Uint8Array {
    this.expect('card', 'authenticated', 'wrapResponse');
    assertBytes('innerResponseFrame', innerResponseFrame, { min: 3 });
    const pending = this.#pending;
    if (!pending) throw new ProtocolError('state', 'no command is waiting for a response');
    const ciphertext = encrypt(this.#enc, pending.iv, innerResponseFrame);
    const body = SessionMessage.encodeMacedBody({ sessionId: this.sessionId, ciphertext });
    const mac = responseMac(this.#mac.r, pending.chain, SESSION_MESSAGE_RESPONSE, body);
    const out = frame(SESSION_MESSAGE_RESPONSE, SessionMessage.encodeResponse({ sessionId: this.sessionId, ciphertext, mac }));
    this.#chain = pending.chain;
    this.#counter++;
    this.#pending = undefined;
    return out;
  }

  // ----- both sides -----

  /** Zeroes the session keys and chaining value; every later operation throws. Idempotent. */
  close(): void {
    for (const k of KEY_FIELDS) this.#keys[k].fill(0);
    this.#mac.s.zero();
    this.#mac.r.zero();
    this.#enc.zero();
    this.#chain.fill(0);
    this.#pending?.chain.fill(0);
    this.#pending = undefined;
    this.#state = 'closed';
  }

  toJSON(): Record<string, unknown> {
    return {
      side: this.side,
      sessionId: this.sessionId,
      state: this.#state,
      messageCount: this.messageCount,
      keys: '[redacted]',
    };
  }

  [inspect.custom](): string {
    return `Scp03Channel ${inspect(this.toJSON())}`;
  }
}
