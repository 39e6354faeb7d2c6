import { createCipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import * as SessionMessage from '../src/commands/session-message';
import { DeviceError, DeviceErrorCode, ProtocolError, SessionLimitError } from '../src/errors';
import { MAX_MESSAGES_PER_SESSION, Scp03Channel, type ChannelOptions } from '../src/scp03/channel';
import { authKeyFromPassword } from '../src/scp03/kdf';
import { commandMac, responseMac } from '../src/scp03/mac';
import * as AuthenticateSession from '../src/commands/authenticate-session';
import { frame, parseFrame } from '../src/wire';

const KEY = authKeyFromPassword('password');

function pair(options?: ChannelOptions) {
  const hostChallenge = new Uint8Array(randomBytes(8));
  const cardChallenge = new Uint8Array(randomBytes(8));
  const card = Scp03Channel.forCard(KEY, 3, hostChallenge, cardChallenge, options);
  const host = Scp03Channel.forHost(KEY, 3, hostChallenge, cardChallenge, card.cardCryptogram, options);
  const authFrame = host.authenticateSessionCommand();
  card.verifyAuthenticateSession(parseFrame(authFrame).payload);
  host.markAuthenticated();
  const keys = Scp03Channel.deriveSessionKeys(KEY, hostChallenge, cardChallenge);
  return { host, card, keys, authChain: authChainOf(keys, authFrame) };
}

/** The chaining value after AUTHENTICATE_SESSION: the full CMAC of that frame. */
function authChainOf(keys: { sMac: Uint8Array }, authFrame: Uint8Array): Uint8Array {
  const req = AuthenticateSession.decodeRequest(parseFrame(authFrame).payload);
  return commandMac(keys.sMac, new Uint8Array(16), 0x04, AuthenticateSession.encodeMacedBody(req));
}

/** AES-CBC with the counter IV but no padding, to forge plaintexts the channel must refuse. */
/** The IV of exchange `counter`: S-ENC applied to the 16-byte big-endian counter (GPC_SPE_014 §6.2.6), computed here with node:crypto directly. */
function counterIv(sEnc: Uint8Array, counter: number): Buffer {
  const block = Buffer.alloc(16);
  block.writeBigUInt64BE(BigInt(counter), 8);
  const c = createCipheriv('aes-128-ecb', sEnc, null);
  c.setAutoPadding(false);
  return c.update(block);
}

function rawEncrypt(sEnc: Uint8Array, counter: number, blocks: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-cbc', sEnc, counterIv(sEnc, counter));
  c.setAutoPadding(false);
  return new Uint8Array(c.update(blocks));
}

function exchange(host: Scp03Channel, card: Scp03Channel, inner: Uint8Array, answer: Uint8Array): Uint8Array {
  const inCard = card.unwrapCommand(parseFrame(host.wrap(inner)).payload);
  expect(inCard).toEqual(inner);
  return host.unwrap(card.wrapResponse(answer));
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('Scp03Channel', () => {
  it('round-trips many exchanges of every padding length', () => {
    const { host, card } = pair();
    for (let n = 0; n < 40; n++) {
      const data = new Uint8Array(randomBytes(n));
      const inner = frame(0x01, data);
      expect(exchange(host, card, inner, frame(0x81, data))).toEqual(frame(0x81, data));
    }
    expect(host.messageCount).toBe(40);
    expect(card.messageCount).toBe(40);
  });

  it('rejects a response with a flipped R-MAC byte (ProtocolError mac) and closes', () => {
    const { host, card } = pair();
    card.unwrapCommand(parseFrame(host.wrap(frame(0x01, Uint8Array.of(1)))).payload);
    const res = card.wrapResponse(frame(0x81, Uint8Array.of(1)));
    res[res.length - 1]! ^= 0x01;
    const err = catchError(() => host.unwrap(res));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).kind).toBe('mac');
    expect(host.state).toBe('closed');
  });

  it('rejects a response for another session ID', () => {
    const { host, card } = pair();
    card.unwrapCommand(parseFrame(host.wrap(frame(0x01, Uint8Array.of(1)))).payload);
    const res = card.wrapResponse(frame(0x81, Uint8Array.of(1)));
    res[3] = 4;
    expect((catchError(() => host.unwrap(res)) as ProtocolError).kind).toBe('session-id');
  });

  it('rejects a correctly MACed response whose plaintext has bad padding', () => {
    const { host, keys, authChain } = pair();
    const command = SessionMessage.decodeRequest(parseFrame(host.wrap(frame(0x01, Uint8Array.of(1)))).payload);
    const pendingChain = commandMac(keys.sMac, authChain, 0x05, SessionMessage.encodeMacedBody(command));
    const ciphertext = rawEncrypt(keys.sEnc, 1, new Uint8Array(16).fill(0x55));
    const mac = responseMac(keys.sRmac, pendingChain, 0x85, SessionMessage.encodeMacedBody({ sessionId: 3, ciphertext }));
    const res = frame(0x85, SessionMessage.encodeResponse({ sessionId: 3, ciphertext, mac }));
    const err = catchError(() => host.unwrap(res));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).kind).toBe('padding');
    expect(host.state).toBe('closed');
  });

  it('rejects a correctly MACed command whose plaintext has bad padding (card: AUTHENTICATION_FAILED), state unchanged', () => {
    const { host, card, keys, authChain } = pair();
    const ciphertext = rawEncrypt(keys.sEnc, 1, new Uint8Array(32).fill(0x55));
    const full = commandMac(keys.sMac, authChain, 0x05, SessionMessage.encodeMacedBody({ sessionId: 3, ciphertext }));
    const bad = SessionMessage.encodeRequest({ sessionId: 3, ciphertext, mac: full.subarray(0, 8) });
    expect((catchError(() => card.unwrapCommand(bad)) as DeviceError).code).toBe(DeviceErrorCode.AUTHENTICATION_FAILED);
    expect(exchange(host, card, frame(0x01, Uint8Array.of(1)), frame(0x81, Uint8Array.of(1)))).toEqual(frame(0x81, Uint8Array.of(1)));
  });

  it('rejects a command with a flipped C-MAC byte (card: AUTHENTICATION_FAILED), state unchanged', () => {
    const { host, card } = pair();
    const wrapped = parseFrame(host.wrap(frame(0x01, Uint8Array.of(1))));
    const tampered = wrapped.payload.slice();
    tampered[tampered.length - 8]! ^= 0x01;
    expect((catchError(() => card.unwrapCommand(tampered)) as DeviceError).code).toBe(DeviceErrorCode.AUTHENTICATION_FAILED);
    expect(card.unwrapCommand(wrapped.payload)).toEqual(frame(0x01, Uint8Array.of(1)));
  });

  it('refuses a wrong card cryptogram', () => {
    const h = new Uint8Array(8);
    const c = new Uint8Array(8).fill(7);
    const card = Scp03Channel.forCard(KEY, 0, h, c);
    const wrong = card.cardCryptogram;
    wrong[0]! ^= 0x80;
    const err = catchError(() => Scp03Channel.forHost(KEY, 0, h, c, wrong));
    expect((err as ProtocolError).kind).toBe('cryptogram');
  });

  it('an outer plaintext device error does not advance the counter or chain', () => {
    const { host, card } = pair();
    exchange(host, card, frame(0x01, Uint8Array.of(1)), frame(0x81, Uint8Array.of(1)));
    // The card rejects (e.g. it could not process the message) and answers in the clear.
    host.wrap(frame(0x01, Uint8Array.of(2)));
    const err = catchError(() => host.unwrap(Uint8Array.of(0x7f, 0x00, 0x01, DeviceErrorCode.INVALID_SESSION)));
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).codeName).toBe('INVALID_SESSION');
    expect(host.messageCount).toBe(1);
    expect(host.state).toBe('authenticated');
    // Host and card are still in step: the next exchange goes through.
    expect(exchange(host, card, frame(0x01, Uint8Array.of(3)), frame(0x81, Uint8Array.of(3)))).toEqual(frame(0x81, Uint8Array.of(3)));
  });

  it('a card command left unanswered is forgotten, matching the host after an outer error', () => {
    const { host, card } = pair();
    card.unwrapCommand(parseFrame(host.wrap(frame(0x01, Uint8Array.of(1)))).payload);
    expect(() => host.unwrap(Uint8Array.of(0x7f, 0x00, 0x01, DeviceErrorCode.INVALID_DATA))).toThrow(DeviceError);
    expect(exchange(host, card, frame(0x01, Uint8Array.of(9)), frame(0x81, Uint8Array.of(9)))).toEqual(frame(0x81, Uint8Array.of(9)));
  });

  it('stops at the message cap with SessionLimitError, sending nothing', () => {
    const { host, card } = pair({ messageLimit: 3 });
    for (let i = 0; i < 3; i++) exchange(host, card, frame(0x01, Uint8Array.of(i)), frame(0x81, Uint8Array.of(i)));
    const err = catchError(() => host.wrap(frame(0x01, Uint8Array.of(4))));
    expect(err).toBeInstanceOf(SessionLimitError);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(MAX_MESSAGES_PER_SESSION).toBe(1048576);
  });

  it('enforces one exchange at a time and the side of each operation', () => {
    const { host, card } = pair();
    host.wrap(frame(0x01, Uint8Array.of(1)));
    expect((catchError(() => host.wrap(frame(0x01, Uint8Array.of(1)))) as ProtocolError).kind).toBe('state');
    expect((catchError(() => host.wrapResponse(frame(0x81, Uint8Array.of(1)))) as ProtocolError).kind).toBe('state');
    expect((catchError(() => card.wrap(frame(0x01, Uint8Array.of(1)))) as ProtocolError).kind).toBe('state');
    expect((catchError(() => card.wrapResponse(frame(0x81, Uint8Array.of(1)))) as ProtocolError).kind).toBe('state');
  });

  it('a card channel that is not authenticated answers INVALID_SESSION', () => {
    const card = Scp03Channel.forCard(KEY, 0, new Uint8Array(8), new Uint8Array(8));
    expect((catchError(() => card.unwrapCommand(new Uint8Array(25))) as DeviceError).code).toBe(DeviceErrorCode.INVALID_SESSION);
  });

  it('a malformed SESSION_MESSAGE payload gets WRONG_LENGTH from the card', () => {
    const { card } = pair();
    expect((catchError(() => card.unwrapCommand(Uint8Array.of(3, 1, 2))) as DeviceError).code).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect((catchError(() => card.unwrapCommand(new Uint8Array([3, ...new Uint8Array(15), ...new Uint8Array(8)]))) as DeviceError).code).toBe(
      DeviceErrorCode.WRONG_LENGTH,
    );
  });

  it('close() zeroes keys and makes every operation throw', () => {
    const { host, card } = pair();
    host.close();
    card.close();
    expect(host.state).toBe('closed');
    expect(() => host.wrap(frame(0x01, Uint8Array.of(1)))).toThrow(ProtocolError);
    expect(() => card.unwrapCommand(new Uint8Array(25))).toThrow(DeviceError);
    host.close();
  });

  it('never shows keys in inspect or JSON output', () => {
    const { host, keys } = pair();
    const shown = inspect(host, { showHidden: true, depth: 10 }) + JSON.stringify(host);
    expect(shown).toContain('[redacted]');
    for (const k of [keys.sEnc, keys.sMac, keys.sRmac, KEY.encKey, KEY.macKey]) {
      expect(shown).not.toContain(Buffer.from(k).toString('hex'));
      expect(shown).not.toContain([...k.subarray(0, 4)].join(', '));
    }
  });

  it('checks argument types and lengths, naming the field', () => {
    expect(() => Scp03Channel.forCard(KEY, 0, new Uint8Array(7), new Uint8Array(8))).toThrow('hostChallenge must be 8 bytes, got 7');
    expect(() => Scp03Channel.forCard({ encKey: new Uint8Array(16), macKey: 'x' as unknown as Uint8Array }, 0, new Uint8Array(8), new Uint8Array(8))).toThrow(
      new TypeError('authKey.macKey must be a Uint8Array'),
    );
    expect(() => Scp03Channel.forCard(KEY, 256, new Uint8Array(8), new Uint8Array(8))).toThrow(RangeError);
  });
});
