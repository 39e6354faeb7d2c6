// SCP03 session life cycle: establishment, authentication failures, the 16-slot table, timeout,
// close, and what happens to a session after a bad MAC.
import { randomBytes } from 'node:crypto';
import {
  AuthenticateSession,
  Command,
  CreateSession,
  DeviceErrorCode,
  Echo,
  commandMac,
  frame,
  hostCryptogram,
  MAC_LENGTH,
  Scp03Channel,
  SessionMessage,
  parseFrame,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { deviceCode, errorCodeOf, expectOk, keyFor, plain, post, TestSession } from './helpers/client';

let sim: RunningSimulator;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
});
afterEach(() => sim.close());

async function createSession(url: string, authKeyId = 1): Promise<{ hostChallenge: Uint8Array } & CreateSession.Response> {
  const hostChallenge = new Uint8Array(randomBytes(8));
  const res = CreateSession.decodeResponse(await plain(url, Command.CREATE_SESSION, CreateSession.encodeRequest({ authKeyId, hostChallenge })));
  return { hostChallenge, ...res };
}

/** AUTHENTICATE_SESSION as a host holding `password` would send it, whether or not the card agrees. */
function authenticateFrame(password: string, created: { hostChallenge: Uint8Array } & CreateSession.Response): Uint8Array {
  const keys = Scp03Channel.deriveSessionKeys(keyFor(password), created.hostChallenge, created.cardChallenge);
  const context = new Uint8Array([...created.hostChallenge, ...created.cardChallenge]);
  const body = { sessionId: created.sessionId, hostCryptogram: hostCryptogram(keys.sMac, context) };
  const mac = commandMac(keys.sMac, new Uint8Array(16), Command.AUTHENTICATE_SESSION, AuthenticateSession.encodeMacedBody(body));
  return frame(Command.AUTHENTICATE_SESSION, AuthenticateSession.encodeRequest({ ...body, mac: mac.subarray(0, MAC_LENGTH) }));
}

test('the default key (id 1, "password") opens a session; SID 0 comes first', async () => {
  const session = await TestSession.open(sim.url);
  expect(session.id).toBe(0);
  const echoed = await session.send(Command.ECHO, Echo.encodeRequest({ data: Uint8Array.of(9, 8, 7) }));
  expect([...echoed]).toEqual([9, 8, 7]);
  expect(sim.device.sessionCount()).toBe(1);
  await session.close();
  expect(sim.device.sessionCount()).toBe(0);
});

test('the card cryptogram proves the device holds the key (host side check passes)', async () => {
  const created = await createSession(sim.url);
  expect(() => Scp03Channel.forHost(keyFor('password'), created.sessionId, created.hostChallenge, created.cardChallenge, created.cardCryptogram)).not.toThrow();
});

test('a wrong password fails AUTHENTICATE_SESSION with AUTHENTICATION_FAILED and frees the slot', async () => {
  const created = await createSession(sim.url);
  const reply = await post(sim.url, authenticateFrame('wrong password', created));
  expect([...reply]).toEqual([0x7f, 0, 1, DeviceErrorCode.AUTHENTICATION_FAILED]);
  expect(sim.device.sessionCount()).toBe(0);
  // The slot is gone: a second try on it is an invalid session.
  const again = await post(sim.url, authenticateFrame('password', created));
  expect(errorCodeOf(again)).toBe(DeviceErrorCode.INVALID_SESSION);
});

test('AUTHENTICATE_SESSION twice on one session is INVALID_SESSION', async () => {
  const created = await createSession(sim.url);
  expectOk(Command.AUTHENTICATE_SESSION, await post(sim.url, authenticateFrame('password', created)));
  expect(errorCodeOf(await post(sim.url, authenticateFrame('password', created)))).toBe(DeviceErrorCode.INVALID_SESSION);
});

test('CREATE_SESSION with an unknown auth key id is OBJECT_NOT_FOUND', async () => {
  expect(await deviceCode(createSession(sim.url, 0x4242))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
});

test('CREATE_SESSION with a short payload is WRONG_LENGTH', async () => {
  expect(await deviceCode(plain(sim.url, Command.CREATE_SESSION, Uint8Array.of(0, 1, 2)))).toBe(DeviceErrorCode.WRONG_LENGTH);
});

test('16 sessions fit; the 17th is SESSIONS_FULL until one closes', async () => {
  const sessions = [];
  for (let i = 0; i < 16; i++) sessions.push(await TestSession.open(sim.url));
  expect(sessions.map((s) => s.id)).toEqual([...Array(16).keys()]);
  expect(await deviceCode(TestSession.open(sim.url))).toBe(DeviceErrorCode.SESSIONS_FULL);
  // Unauthenticated sessions hold slots too.
  await sessions[5]!.close();
  const created = await createSession(sim.url);
  expect(created.sessionId).toBe(5);
  expect(await deviceCode(createSession(sim.url))).toBe(DeviceErrorCode.SESSIONS_FULL);
});

test('a SESSION_MESSAGE on a session that was created but not authenticated is INVALID_SESSION', async () => {
  const created = await createSession(sim.url);
  const bogus = frame(
    Command.SESSION_MESSAGE,
    SessionMessage.encodeRequest({ sessionId: created.sessionId, ciphertext: new Uint8Array(16), mac: new Uint8Array(8) }),
  );
  expect(errorCodeOf(await post(sim.url, bogus))).toBe(DeviceErrorCode.INVALID_SESSION);
});

test('a SESSION_MESSAGE for a session id that does not exist is INVALID_SESSION', async () => {
  for (const sessionId of [3, 15, 16, 0xff]) {
    const bogus = frame(Command.SESSION_MESSAGE, SessionMessage.encodeRequest({ sessionId, ciphertext: new Uint8Array(16), mac: new Uint8Array(8) }));
    expect(errorCodeOf(await post(sim.url, bogus))).toBe(DeviceErrorCode.INVALID_SESSION);
  }
});

test('after CLOSE_SESSION the session is gone', async () => {
  const session = await TestSession.open(sim.url);
  await session.send(Command.CLOSE_SESSION);
  expect(await deviceCode(session.send(Command.ECHO, Uint8Array.of(1)))).toBe(DeviceErrorCode.INVALID_SESSION);
});

test('a bad MAC is an outer plaintext AUTHENTICATION_FAILED and destroys the session', async () => {
  const session = await TestSession.open(sim.url);
  const wrapped = session.channel.wrap(frame(Command.ECHO, Uint8Array.of(1, 2, 3)));
  const tampered = wrapped.slice();
  tampered[tampered.length - 1]! ^= 0x01;
  expect([...(await post(sim.url, tampered))]).toEqual([0x7f, 0, 1, DeviceErrorCode.AUTHENTICATION_FAILED]);
  // Even the correctly MACed original no longer reaches a session.
  expect([...(await post(sim.url, wrapped))]).toEqual([0x7f, 0, 1, DeviceErrorCode.INVALID_SESSION]);
  expect(sim.device.sessionCount()).toBe(0);
});

test('a flipped ciphertext bit fails the MAC too', async () => {
  const session = await TestSession.open(sim.url);
  const wrapped = session.channel.wrap(frame(Command.ECHO, Uint8Array.of(1)));
  const tampered = wrapped.slice();
  tampered[5]! ^= 0x80;
  expect(errorCodeOf(await post(sim.url, tampered))).toBe(DeviceErrorCode.AUTHENTICATION_FAILED);
});

test('a replayed message fails the MAC (the chain moved on) and kills the session', async () => {
  const session = await TestSession.open(sim.url);
  const first = session.channel.wrap(frame(Command.ECHO, Uint8Array.of(1)));
  session.channel.unwrap(await post(sim.url, first));
  expect(errorCodeOf(await post(sim.url, first))).toBe(DeviceErrorCode.AUTHENTICATION_FAILED);
});

test('an envelope whose ciphertext is not whole AES blocks is WRONG_LENGTH and the session survives', async () => {
  const session = await TestSession.open(sim.url);
  const bogus = frame(Command.SESSION_MESSAGE, Uint8Array.of(session.id, ...new Uint8Array(15), ...new Uint8Array(8)));
  expect(errorCodeOf(await post(sim.url, bogus))).toBe(DeviceErrorCode.WRONG_LENGTH);
  expect([...(await session.send(Command.ECHO, Uint8Array.of(4)))]).toEqual([4]);
});

test('many messages in one session keep counter and MAC chain in step', async () => {
  const session = await TestSession.open(sim.url);
  for (let i = 0; i < 50; i++) {
    const data = new Uint8Array(randomBytes(i * 7));
    expect(await session.send(Command.ECHO, data)).toEqual(data);
  }
});

test('interleaved sessions do not disturb each other', async () => {
  const a = await TestSession.open(sim.url);
  const b = await TestSession.open(sim.url);
  for (let i = 0; i < 5; i++) {
    expect([...(await a.send(Command.ECHO, Uint8Array.of(0xa, i)))]).toEqual([0xa, i]);
    expect([...(await b.send(Command.ECHO, Uint8Array.of(0xb, i)))]).toEqual([0xb, i]);
  }
});

describe('inactivity timeout', () => {
  // The device's clock is the test's: time passes when the test says so, however loaded the machine.
  let clock = 0;
  let fast: RunningSimulator;
  beforeEach(async () => {
    clock = 0;
    fast = await startSimulator({ host: '127.0.0.1', port: 0, sessionTimeoutMs: 150, now: () => clock });
  });
  afterEach(() => fast.close());

  const sleep = (ms: number): void => {
    clock += ms;
  };

  test('an idle session expires and answers INVALID_SESSION; its slot is free again', async () => {
    const session = await TestSession.open(fast.url);
    sleep(250);
    expect(await deviceCode(session.send(Command.ECHO, Uint8Array.of(1)))).toBe(DeviceErrorCode.INVALID_SESSION);
    expect(fast.device.sessionCount()).toBe(0);
    const again = await TestSession.open(fast.url);
    expect(again.id).toBe(session.id);
  });

  test('each command restarts the timer', async () => {
    const session = await TestSession.open(fast.url);
    for (let i = 0; i < 4; i++) {
      sleep(80);
      await session.send(Command.ECHO, Uint8Array.of(i));
    }
  });

  test('expired sessions free the table for new ones', async () => {
    for (let i = 0; i < 16; i++) await createSession(fast.url);
    expect(await deviceCode(createSession(fast.url))).toBe(DeviceErrorCode.SESSIONS_FULL);
    sleep(250);
    expect((await createSession(fast.url)).sessionId).toBe(0);
  });
});

test('commands that need a session are INVALID_COMMAND in the clear', async () => {
  for (const code of [Command.GENERATE_ASYMMETRIC_KEY, Command.CLOSE_SESSION, Command.SIGN_ECDSA, Command.RESET_DEVICE, 0x00, 0x7f, 0xff]) {
    const reply = parseFrame(await post(sim.url, frame(code, new Uint8Array(3))));
    expect([reply.code, ...reply.payload]).toEqual([0x7f, DeviceErrorCode.INVALID_COMMAND]);
  }
});
