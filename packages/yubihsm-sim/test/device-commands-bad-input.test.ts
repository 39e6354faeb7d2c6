// Random and mutated payloads to the device-level commands (audit log, options, authentication
// keys, delete, reset, storage, device public key, session creation): always the device's error
// code or a valid answer, never the internal-error fallback, and no change to objects, options or
// the log unless the command succeeded.
import { randomBytes, randomInt } from 'node:crypto';
import {
  Algorithm,
  authKeyFromPassword,
  Capability,
  ChangeAuthenticationKey,
  Command,
  DeleteObject,
  DeviceErrorCode,
  frame,
  GetLogEntries,
  ListObjects,
  ObjectType,
  OptionTag,
  parseFrame,
  PutAuthenticationKey,
  RESPONSE_ERROR,
  SetOption,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { deviceCode, errorCodeOf, post, TestSession } from './helpers/client';

let sim: RunningSimulator;
const internalErrors: string[] = [];
let admin: TestSession;
/** Domain 2 only, no capabilities at all. */
let outsider: TestSession;

const label = (s: string): Uint8Array => new TextEncoder().encode(s);

beforeAll(async () => {
  sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    log: (line) => {
      if (line.includes('internal error')) internalErrors.push(line);
    },
  });
  admin = await TestSession.open(sim.url);
  const { encKey, macKey } = authKeyFromPassword('outsider');
  const req = {
    id: 0x60,
    label: label('outsider'),
    domains: 2,
    capabilities: 0n,
    delegatedCapabilities: 0n,
    algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
    encKey,
    macKey,
  };
  await admin.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(req));
  outsider = await TestSession.open(sim.url, 0x60, 'outsider');
});
afterAll(() => sim.close());
afterEach(() => expect(internalErrors).toEqual([]));

/** What must not change when a command is refused: objects, options and log. */
async function snapshot(): Promise<string> {
  const objects = ListObjects.decodeResponse(await admin.send(Command.LIST_OBJECTS)).objects;
  const options: Uint8Array[] = [];
  for (const tag of [OptionTag.FORCE_AUDIT, OptionTag.COMMAND_AUDIT, OptionTag.ALGORITHM_TOGGLE])
    options.push(await admin.send(Command.GET_OPTION, Uint8Array.of(tag)));
  const log = GetLogEntries.decodeResponse(await admin.send(Command.GET_LOG_ENTRIES));
  return JSON.stringify({ objects, options: options.map((o) => Buffer.from(o).toString('hex')), log: log.entries.map((e) => e.number) });
}

const COMMANDS = [
  Command.GET_LOG_ENTRIES,
  Command.SET_LOG_INDEX,
  Command.SET_OPTION,
  Command.GET_OPTION,
  Command.CHANGE_AUTHENTICATION_KEY,
  Command.PUT_AUTHENTICATION_KEY,
  Command.DELETE_OBJECT,
  Command.GET_STORAGE_INFO,
  Command.GET_DEVICE_PUBLIC_KEY,
  Command.RESET_DEVICE,
];

test('random payloads inside a session: a device answer every time, the internal-error path never', async () => {
  for (let i = 0; i < 400; i++) {
    const command = COMMANDS[i % COMMANDS.length]!;
    // RESET_DEVICE takes no payload; with one it must be refused before it resets anything.
    const length = command === Command.RESET_DEVICE ? randomInt(1, 8) : randomInt(0, 140);
    const reply = parseFrame(await outsider.raw(frame(command, new Uint8Array(randomBytes(length)))));
    expect([RESPONSE_ERROR, command | 0x80]).toContain(reply.code);
  }
  expect(sim.device.objectCount()).toBe(2);
});

test('random payloads with every capability (on a device of their own): still only device answers', async () => {
  const errors: string[] = [];
  const own = await startSimulator({ host: '127.0.0.1', port: 0, log: (line) => line.includes('internal error') && errors.push(line) });
  try {
    const all = await TestSession.open(own.url);
    for (let i = 0; i < 300; i++) {
      const command = COMMANDS[i % COMMANDS.length]!;
      if (command === Command.CHANGE_AUTHENTICATION_KEY || command === Command.RESET_DEVICE) continue;
      const reply = parseFrame(await all.raw(frame(command, new Uint8Array(randomBytes(randomInt(0, 80))))));
      expect([RESPONSE_ERROR, command | 0x80]).toContain(reply.code);
    }
  } finally {
    await own.close();
  }
  expect(errors).toEqual([]);
});

test('truncated and extended valid requests are WRONG_LENGTH and change nothing', async () => {
  const valid: Array<[number, Uint8Array]> = [
    [Command.SET_LOG_INDEX, Uint8Array.of(0, 2)],
    [Command.SET_OPTION, SetOption.encodeRequest({ tag: OptionTag.FORCE_AUDIT, value: Uint8Array.of(1) })],
    [Command.GET_OPTION, Uint8Array.of(OptionTag.FORCE_AUDIT)],
    [
      Command.CHANGE_AUTHENTICATION_KEY,
      ChangeAuthenticationKey.encodeRequest({ id: 1, algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, ...authKeyFromPassword('new') }),
    ],
    [Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x60, type: ObjectType.AUTHENTICATION_KEY })],
  ];
  const before = await snapshot();
  for (const [command, payload] of valid) {
    if (command !== Command.SET_OPTION) {
      expect(await deviceCode(admin.send(command, payload.subarray(0, payload.length - 1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    }
    expect(await deviceCode(admin.send(command, Uint8Array.of(...payload, 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  }
  for (const command of [Command.GET_LOG_ENTRIES, Command.GET_STORAGE_INFO, Command.RESET_DEVICE, Command.GET_DEVICE_PUBLIC_KEY]) {
    expect(await deviceCode(admin.send(command, Uint8Array.of(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
  }
  expect(await snapshot()).toBe(before);
  // The factory key still has its password: CHANGE_AUTHENTICATION_KEY did not happen.
  await (await TestSession.open(sim.url)).close();
});

test('a session without capabilities, in another domain, is refused everything and changes nothing', async () => {
  const before = await snapshot();
  expect(await deviceCode(outsider.send(Command.GET_LOG_ENTRIES))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  expect(await deviceCode(outsider.send(Command.SET_LOG_INDEX, Uint8Array.of(0, 2)))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  expect(await deviceCode(outsider.send(Command.SET_OPTION, SetOption.encodeRequest({ tag: OptionTag.FORCE_AUDIT, value: Uint8Array.of(1) })))).toBe(
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  );
  expect(await deviceCode(outsider.send(Command.GET_OPTION, Uint8Array.of(OptionTag.FORCE_AUDIT)))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  expect(await deviceCode(outsider.send(Command.RESET_DEVICE))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  expect(await deviceCode(outsider.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 1, type: ObjectType.AUTHENTICATION_KEY })))).toBe(
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  );
  const { encKey, macKey } = authKeyFromPassword('x');
  const put = {
    id: 0,
    label: label('x'),
    domains: 2,
    capabilities: 0n,
    delegatedCapabilities: 0n,
    algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
    encKey,
    macKey,
  };
  expect(await deviceCode(outsider.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(put)))).toBe(
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  );
  expect(
    await deviceCode(
      outsider.send(
        Command.CHANGE_AUTHENTICATION_KEY,
        ChangeAuthenticationKey.encodeRequest({ id: 0x60, algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, encKey, macKey }),
      ),
    ),
  ).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  expect(await snapshot()).toBe(before);
});

test('DELETE_OBJECT: an object in another domain is not found even with the capability; an unknown type is INVALID_DATA', async () => {
  const { encKey, macKey } = authKeyFromPassword('deleter');
  const put = {
    id: 0x61,
    label: label('deleter'),
    domains: 2,
    capabilities: Capability.DELETE_AUTHENTICATION_KEY | Capability.DELETE_ASYMMETRIC_KEY,
    delegatedCapabilities: 0n,
    algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
    encKey,
    macKey,
  };
  await admin.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(put));
  const deleter = await TestSession.open(sim.url, 0x61, 'deleter');
  // Key 1 is in every domain, so domain 2 sees it; a key only in domain 1 it does not.
  const { encKey: e2, macKey: m2 } = authKeyFromPassword('d1');
  await admin.send(
    Command.PUT_AUTHENTICATION_KEY,
    PutAuthenticationKey.encodeRequest({ ...put, id: 0x62, label: label('d1'), domains: 1, capabilities: 0n, encKey: e2, macKey: m2 }),
  );
  expect(await deviceCode(deleter.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x62, type: ObjectType.AUTHENTICATION_KEY })))).toBe(
    DeviceErrorCode.OBJECT_NOT_FOUND,
  );
  expect(await deviceCode(deleter.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x62, type: 0x0a })))).toBe(DeviceErrorCode.INVALID_DATA);
  // The capability is per type: delete-authentication-key does not delete a wrap key.
  expect(await deviceCode(deleter.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x62, type: ObjectType.WRAP_KEY })))).toBe(
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  );
  await admin.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x62, type: ObjectType.AUTHENTICATION_KEY }));
  await deleter.close();
  await admin.send(Command.DELETE_OBJECT, DeleteObject.encodeRequest({ id: 0x61, type: ObjectType.AUTHENTICATION_KEY }));
});

test('CREATE_SESSION: random payloads of every length near the two valid ones never open a session', async () => {
  const sessions = sim.device.sessionCount();
  for (const length of [0, 1, 2, 9, 11, 66, 68, 100]) {
    expect(errorCodeOf(await post(sim.url, frame(Command.CREATE_SESSION, new Uint8Array(randomBytes(length)))))).toBe(DeviceErrorCode.WRONG_LENGTH);
  }
  for (let i = 0; i < 20; i++) {
    // Key 1 is symmetric, so a 67-byte (asymmetric) request for it is refused whatever the point.
    const payload = Uint8Array.of(0, 1, ...randomBytes(65));
    expect(errorCodeOf(await post(sim.url, frame(Command.CREATE_SESSION, payload)))).toBe(DeviceErrorCode.INVALID_DATA);
  }
  expect(sim.device.sessionCount()).toBe(sessions);
});
