// A minimal test client over real HTTP, built from the shared codecs and the shared SCP03 channel.
// It exists only to drive the simulator in tests; the real client lives in @kmsgate/yubihsm.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  asymmetricSessionKeys,
  authKeyFromPassword,
  Command,
  CreateSession,
  ecdhP256,
  generateP256,
  GetDevicePublicKey,
  DeviceError,
  frame,
  parseFrame,
  RESPONSE_ERROR,
  responseCode,
  Scp03Channel,
  type AuthKey,
} from '@kmsgate/yubihsm';

export async function post(url: string, body: Uint8Array): Promise<Uint8Array> {
  const res = await fetch(`${url}/connector/api`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body,
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Sends one plaintext command; returns the response payload or throws DeviceError. */
export async function plain(url: string, code: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  return expectOk(code, await post(url, frame(code, payload)));
}

export function expectOk(code: number, response: Uint8Array): Uint8Array {
  const parsed = parseFrame(response);
  if (parsed.code === RESPONSE_ERROR) throw new DeviceError(parsed.payload[0]!, { command: code });
  if (parsed.code !== responseCode(code)) throw new Error(`unexpected response code 0x${parsed.code.toString(16)}`);
  return parsed.payload;
}

/** The error code of a `7f 00 01 XX` frame, or undefined for anything else. */
export function errorCodeOf(response: Uint8Array): number | undefined {
  const parsed = parseFrame(response);
  return parsed.code === RESPONSE_ERROR ? parsed.payload[0] : undefined;
}

const keyCache = new Map<string, AuthKey>();
export function keyFor(password: string): AuthKey {
  let key = keyCache.get(password);
  if (key === undefined) {
    key = authKeyFromPassword(password);
    keyCache.set(password, key);
  }
  return { encKey: key.encKey.slice(), macKey: key.macKey.slice() };
}

export class TestSession {
  private constructor(
    readonly url: string,
    readonly channel: Scp03Channel,
  ) {}

  /** `credential` is a password, or the raw K-ENC / K-MAC pair. */
  static async open(url: string, authKeyId = 1, credential: string | AuthKey = 'password'): Promise<TestSession> {
    const hostChallenge = new Uint8Array(randomBytes(8));
    const created = CreateSession.decodeResponse(await plain(url, Command.CREATE_SESSION, CreateSession.encodeRequest({ authKeyId, hostChallenge })));
    const key = typeof credential === 'string' ? keyFor(credential) : { encKey: credential.encKey.slice(), macKey: credential.macKey.slice() };
    const channel = Scp03Channel.forHost(key, created.sessionId, hostChallenge, created.cardChallenge, created.cardCryptogram);
    expectOk(Command.AUTHENTICATE_SESSION, await post(url, channel.authenticateSessionCommand()));
    channel.markAuthenticated();
    return new TestSession(url, channel);
  }

  /**
   * An asymmetric session (firmware 2.3+) for the P-256 key `privateKey`, checking the receipt
   * against `devicePublicKey` (fetched in the clear when not given), as python-yubihsm does.
   */
  static async openAsymmetric(url: string, authKeyId: number, privateKey: Uint8Array, devicePublicKey?: Uint8Array): Promise<TestSession> {
    const device = devicePublicKey ?? Uint8Array.of(4, ...GetDevicePublicKey.decodeResponse(await plain(url, Command.GET_DEVICE_PUBLIC_KEY)).publicKey);
    const ephemeral = generateP256();
    const res = CreateSession.decodeAsymmetricResponse(
      await plain(url, Command.CREATE_SESSION, CreateSession.encodeAsymmetricRequest({ authKeyId, hostEphemeralKey: ephemeral.publicKey })),
    );
    const shsee = ecdhP256(ephemeral.privateKey, res.cardEphemeralKey);
    const shsss = ecdhP256(privateKey, device);
    const { keys, receipt } = asymmetricSessionKeys(shsee, shsss, res.cardEphemeralKey, ephemeral.publicKey);
    if (!timingSafeEqual(receipt, res.receipt)) throw new Error('receipt mismatch: not the device it claims to be');
    return new TestSession(url, Scp03Channel.afterKeyAgreement('host', res.sessionId, keys, receipt));
  }

  get id(): number {
    return this.channel.sessionId;
  }

  /** Sends an inner frame; returns the decrypted inner response frame (throws DeviceError on an outer error). */
  async raw(innerFrame: Uint8Array): Promise<Uint8Array> {
    return this.channel.unwrap(await post(this.url, this.channel.wrap(innerFrame)));
  }

  /** Sends one command; returns its response payload or throws DeviceError (inner or outer). */
  async send(code: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    return expectOk(code, await this.raw(frame(code, payload)));
  }

  async close(): Promise<void> {
    await this.send(Command.CLOSE_SESSION);
    this.channel.close();
  }
}

/** Resolves to the device error code a promise rejects with. */
export async function deviceCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DeviceError) return err.code;
    throw err;
  }
  throw new Error('expected a device error, the command succeeded');
}
