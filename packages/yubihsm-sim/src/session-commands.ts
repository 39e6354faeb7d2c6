// CREATE_SESSION, AUTHENTICATE_SESSION and SESSION_MESSAGE: the plaintext commands that open a
// session and carry every other command inside it (Yubico Session concept page, GPC_SPE_014).
import { randomBytes } from 'node:crypto';
import {
  Algorithm,
  asymmetricSessionKeys,
  AuthenticateSession,
  CHALLENGE_LENGTH,
  Command,
  CreateSession,
  DeviceError,
  DeviceErrorCode,
  ecdhP256,
  generateP256,
  ObjectType,
  parseFrame,
  Scp03Channel,
  SessionMessage,
} from '@kmsgate/yubihsm';
import type { LogTargets } from './audit-targets';
import { checkAlgorithmEnabled } from './algorithm-gate';
import { runAudited } from './auditor';
import { authKeyPoint, splitAuthKeySecret } from './auth-keys';
import { SESSION_COMMANDS } from './dispatch';
import { deviceCodeOf, errorFrame, FALLBACK_ERROR, successFrame } from './frames';
import type { DeviceModel, SessionContext } from './handler';
import type { StoredObject } from './object-store';
import type { Session, SessionAuthority, SessionTable } from './session-table';

export interface SessionHost {
  readonly model: DeviceModel;
  readonly sessions: SessionTable;
  /** Reports simulator bugs; never given key material. */
  readonly log: (line: string) => void;
}

/** Symmetric or, told apart by its length, asymmetric session creation. */
export function createSession(host: SessionHost, payload: Uint8Array): Uint8Array {
  if (payload.length === CreateSession.ASYMMETRIC_REQUEST_LENGTH) return createAsymmetricSession(host, payload);
  const req = CreateSession.decodeRequest(payload);
  const key = authenticationKey(host, req.authKeyId, Algorithm.AES128_YUBICO_AUTHENTICATION);
  const cardChallenge = new Uint8Array(randomBytes(CHALLENGE_LENGTH));
  const session = host.sessions.open(authorityOf(key), (sessionId) =>
    Scp03Channel.forCard(splitAuthKeySecret(key.secret), sessionId, req.hostChallenge, cardChallenge),
  );
  return successFrame(
    CreateSession.CODE,
    CreateSession.encodeResponse({ sessionId: session.id, cardChallenge, cardCryptogram: session.channel.cardCryptogram }),
  );
}

/**
 * Asymmetric authentication (firmware 2.3+): ECDH of the device's ephemeral key with the host's,
 * and of the device key with the authentication key's public key; the session is authenticated at
 * once, and only a host holding the authentication key's private key can derive its keys. A point
 * off the curve is INVALID_DATA.
 */
function createAsymmetricSession(host: SessionHost, payload: Uint8Array): Uint8Array {
  const req = CreateSession.decodeAsymmetricRequest(payload);
  const key = authenticationKey(host, req.authKeyId, Algorithm.EC_P256_YUBICO_AUTHENTICATION);
  const ephemeral = generateP256();
  let shsee: Uint8Array;
  let shsss: Uint8Array;
  try {
    shsee = ecdhP256(ephemeral.privateKey, req.hostEphemeralKey);
    shsss = ecdhP256(host.model.deviceKey.privateKey, authKeyPoint(key.secret));
  } catch {
    throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  } finally {
    ephemeral.privateKey.fill(0);
  }
  const { keys, receipt } = asymmetricSessionKeys(shsee, shsss, ephemeral.publicKey, req.hostEphemeralKey);
  shsee.fill(0);
  shsss.fill(0);
  const session = host.sessions.open(authorityOf(key), (sessionId) => Scp03Channel.afterKeyAgreement('card', sessionId, keys, receipt));
  return successFrame(CreateSession.CODE, CreateSession.encodeAsymmetricResponse({ sessionId: session.id, cardEphemeralKey: ephemeral.publicKey, receipt }));
}

/** The authentication key a session is asked for; one of the other kind cannot open this kind of session. */
function authenticationKey(host: SessionHost, id: number, algorithm: number): StoredObject {
  const key = host.model.store.get(ObjectType.AUTHENTICATION_KEY, id);
  if (key === undefined) throw new DeviceError(DeviceErrorCode.OBJECT_NOT_FOUND);
  if (key.algorithm !== algorithm) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return key;
}

function authorityOf(key: StoredObject): SessionAuthority {
  return { authKeyId: key.id, capabilities: key.capabilities, delegatedCapabilities: key.delegatedCapabilities, domains: key.domains };
}

/** A wrong host cryptogram or MAC ends the session: the host gets one try per session. */
export function authenticateSession(host: SessionHost, payload: Uint8Array): Uint8Array {
  const req = AuthenticateSession.decodeRequest(payload);
  const session = host.sessions.get(req.sessionId);
  if (session === undefined || session.channel.state !== 'none') throw new DeviceError(DeviceErrorCode.INVALID_SESSION);
  try {
    session.channel.verifyAuthenticateSession(payload);
  } catch (err) {
    if (err instanceof DeviceError && err.code === DeviceErrorCode.AUTHENTICATION_FAILED) host.sessions.close(session.id);
    throw err;
  }
  host.sessions.touch(session);
  return successFrame(AuthenticateSession.CODE, AuthenticateSession.encodeResponse());
}

/**
 * Verifies and decrypts the envelope, runs the inner command and returns the encrypted `0x85`
 * response. Envelope failures come back as plaintext `7f 00 01 XX`; a failed MAC also destroys
 * the session, so nobody can probe it further.
 */
export function sessionMessage(host: SessionHost, payload: Uint8Array): Uint8Array {
  const envelope = SessionMessage.decodeRequest(payload);
  const session = host.sessions.get(envelope.sessionId);
  if (session === undefined) throw new DeviceError(DeviceErrorCode.INVALID_SESSION);
  let inner: Uint8Array;
  try {
    inner = session.channel.unwrapCommand(payload);
  } catch (err) {
    if (err instanceof DeviceError && err.code === DeviceErrorCode.AUTHENTICATION_FAILED) host.sessions.close(session.id);
    throw err;
  }
  host.sessions.touch(session);
  const after: Array<() => void> = [];
  const response = runInSession(host, session, inner, after);
  const outer = session.channel.wrapResponse(response);
  for (const action of after) action();
  return outer;
}

/**
 * One inner command under the audit rules; always returns an inner response frame, an error frame
 * on failure. Every handler in the dispatch table is logged here, none logs itself.
 */
function runInSession(host: SessionHost, session: Session, innerFrame: Uint8Array, after: Array<() => void>): Uint8Array {
  let parsed: { code: number; payload: Uint8Array };
  try {
    parsed = parseFrame(innerFrame);
  } catch (err) {
    return errorFrame(deviceCodeOf(err) ?? FALLBACK_ERROR);
  }
  const { code, payload } = parsed;
  return runAudited(host.model, { command: code, payload, sessionKey: session.authority.authKeyId }, () => {
    try {
      const handler = SESSION_COMMANDS.get(code);
      if (handler === undefined) throw new DeviceError(DeviceErrorCode.INVALID_COMMAND);
      checkAlgorithmEnabled(host.model.settings, code, payload);
      const pending: Array<() => void> = [];
      const ctx: SessionContext = { device: host.model, session, afterResponse: (action) => pending.push(action) };
      const data = handler(ctx, payload);
      const response = successFrame(code, data);
      after.push(...pending);
      return response;
    } catch (err) {
      const errorCode = deviceCodeOf(err);
      if (errorCode !== undefined) return errorFrame(errorCode);
      host.log(`internal error in command 0x${code.toString(16)}: ${describe(err)}`);
      return errorFrame(FALLBACK_ERROR);
    }
  });
}

/**
 * AUTHENTICATE_SESSION names its session, not its key; the log names the key (Get Log Entries
 * page example). Undefined for every other command, whose ids are read from the bytes.
 */
export function logTargetsOfSetup(host: SessionHost, command: number, payload: Uint8Array): LogTargets | undefined {
  if (command !== Command.AUTHENTICATE_SESSION || payload.length === 0) return undefined;
  const session = host.sessions.get(payload[0]!);
  return { targetKey: session?.authority.authKeyId ?? 0xffff, secondKey: 0xffff };
}

export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Plaintext commands that drive sessions. */
export const SESSION_SETUP_COMMANDS: ReadonlyMap<number, (host: SessionHost, payload: Uint8Array) => Uint8Array> = new Map([
  [Command.CREATE_SESSION, createSession],
  [Command.AUTHENTICATE_SESSION, authenticateSession],
  [Command.SESSION_MESSAGE, sessionMessage],
]);
