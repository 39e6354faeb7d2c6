// The device audit log and options over the real protocol: the hash chain (checked here with
// node:crypto, not with the shared codec), the reset and boot entries, command audit, force audit
// and LOG_FULL, SET_LOG_INDEX, persistence, and bad input changing nothing.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Algorithm,
  AuditMode,
  authKeyFromPassword,
  Capability,
  Command,
  DeviceErrorCode,
  DeviceInfo,
  GenerateAsymmetricKey,
  GetLogEntries,
  GetOption,
  ListObjects,
  OptionTag,
  PutAuthenticationKey,
  SetLogIndex,
  SetOption,
} from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { deviceCode, plain, TestSession } from './helpers/client';

let sim: RunningSimulator;
let admin: TestSession;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  admin = await TestSession.open(sim.url);
});
afterEach(() => sim.close());

const label = (s: string): Uint8Array => new TextEncoder().encode(s);
const RESET_ENTRY = '0001' + 'ff'.repeat(14);
/** python-yubihsm test_logs_after_reset: struct.pack("!HBHHHHBL", 2, 0, 0, 0xFFFF, 0, 0, 0, 0). */
const BOOT_ENTRY = '0002' + '00' + '0000' + 'ffff' + '0000' + '0000' + '00' + '00000000';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const entryHex = (e: GetLogEntries.LogEntry): string => hex(GetLogEntries.encodeLogEntryData(e));

async function logs(s: TestSession = admin): Promise<GetLogEntries.Response> {
  return GetLogEntries.decodeResponse(await s.send(Command.GET_LOG_ENTRIES));
}

/** The chain as python-yubihsm's test_get_log_entries checks it, with node:crypto only. */
function expectChained(entries: readonly GetLogEntries.LogEntry[], previous?: GetLogEntries.LogEntry): void {
  let before = previous;
  for (const e of entries) {
    if (before !== undefined) {
      expect((e.number - before.number) & 0xffff).toBe(1);
      const digest = createHash('sha256').update(GetLogEntries.encodeLogEntryData(e)).update(before.digest).digest().subarray(0, 16);
      expect(hex(e.digest)).toBe(hex(digest));
    }
    before = e;
  }
}

const setOption = (tag: number, value: Uint8Array, s: TestSession = admin): Promise<Uint8Array> =>
  s.send(Command.SET_OPTION, SetOption.encodeRequest({ tag, value }));
const getOption = async (tag: number, s: TestSession = admin): Promise<Uint8Array> =>
  GetOption.decodeResponse(await s.send(Command.GET_OPTION, GetOption.encodeRequest({ tag }))).value;
const audit = (settings: Array<[number, number]>): Promise<Uint8Array> => setOption(OptionTag.COMMAND_AUDIT, SetOption.encodePairs(new Map(settings)));
const setLogIndex = (index: number): Promise<Uint8Array> => admin.send(Command.SET_LOG_INDEX, SetLogIndex.encodeRequest({ index }));

function generateRequest(id = 0): Uint8Array {
  return GenerateAsymmetricKey.encodeRequest({ id, label: label('audited'), domains: 1, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 });
}

async function objectCount(): Promise<number> {
  return ListObjects.decodeResponse(await admin.send(Command.LIST_OBJECTS)).objects.length;
}

describe('a fresh device', () => {
  test('holds the reset entry and the boot entry, and logs nothing else by default (firmware 2.3.1+)', async () => {
    await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 8));
    const log = await logs();
    expect(log.unloggedBoots).toBe(0);
    expect(log.unloggedAuths).toBe(0);
    expect(log.entries.map(entryHex)).toEqual([RESET_ENTRY, BOOT_ENTRY]);
    expectChained(log.entries);
    const info = DeviceInfo.decodeResponse(await plain(sim.url, Command.DEVICE_INFO));
    expect({ logTotal: info.logTotal, logUsed: info.logUsed }).toEqual({ logTotal: 62, logUsed: 2 });
  });

  test('reports force audit off and every command unaudited', async () => {
    expect(hex(await getOption(OptionTag.FORCE_AUDIT))).toBe('00');
    const pairs = SetOption.decodePairs(await getOption(OptionTag.COMMAND_AUDIT));
    expect([...pairs.keys()]).toEqual([...new Set(Object.values(Command))].sort((a, b) => a - b));
    expect([...pairs.values()].every((v) => v === AuditMode.OFF)).toBe(true);
  });

  test('is not a FIPS device: the FIPS mode option is refused, as python-yubihsm expects of a non-FIPS YubiHSM 2', async () => {
    expect(await deviceCode(getOption(OptionTag.FIPS_MODE))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(setOption(OptionTag.FIPS_MODE, Uint8Array.of(1)))).toBe(DeviceErrorCode.INVALID_DATA);
  });
});

describe('command audit', () => {
  test('logs audited commands with their length, session key, target and result, in the clear and in a session', async () => {
    await audit([
      [Command.GENERATE_ASYMMETRIC_KEY, AuditMode.ON],
      [Command.DELETE_OBJECT, AuditMode.ON],
      [Command.CREATE_SESSION, AuditMode.ON],
      [Command.AUTHENTICATE_SESSION, AuditMode.ON],
      [Command.ECHO, AuditMode.ON],
    ]);
    const generated = GenerateAsymmetricKey.decodeResponse(await admin.send(Command.GENERATE_ASYMMETRIC_KEY, generateRequest())).id;
    // Deleting an object that does not exist is logged with the device's error code as result.
    expect(await deviceCode(admin.send(Command.DELETE_OBJECT, Uint8Array.of(0x12, 0x34, 3)))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
    await plain(sim.url, Command.ECHO, Uint8Array.of(1, 2, 3));
    const second = await TestSession.open(sim.url);
    const { entries } = await logs();
    expectChained(entries);
    expect(entries.slice(0, 2).map(entryHex)).toEqual([RESET_ENTRY, BOOT_ENTRY]);
    const fields = entries
      .slice(2)
      .map(({ command, length, sessionKey, targetKey, secondKey, result }) => ({ command, length, sessionKey, targetKey, secondKey, result }));
    expect(fields).toEqual([
      { command: Command.GENERATE_ASYMMETRIC_KEY, length: 53, sessionKey: 1, targetKey: generated, secondKey: 0xffff, result: 0xc6 },
      { command: Command.DELETE_OBJECT, length: 3, sessionKey: 1, targetKey: 0x1234, secondKey: 0xffff, result: DeviceErrorCode.OBJECT_NOT_FOUND },
      { command: Command.ECHO, length: 3, sessionKey: 0xffff, targetKey: 0xffff, secondKey: 0xffff, result: 0x81 },
      // As on the Get Log Entries page: session setup names the key, not a session.
      { command: Command.CREATE_SESSION, length: 10, sessionKey: 0xffff, targetKey: 1, secondKey: 0xffff, result: 0x83 },
      { command: Command.AUTHENTICATE_SESSION, length: 17, sessionKey: 0xffff, targetKey: 1, secondKey: 0xffff, result: 0x84 },
    ]);
    expect(entries.every((e) => e.tick <= 0xffffffff)).toBe(true);
    await second.close();
  });

  test('an audit setting of FIXED cannot be turned off, and a rejected list changes nothing', async () => {
    await audit([[Command.SIGN_ECDSA, AuditMode.FIXED]]);
    expect(
      await deviceCode(
        audit([
          [Command.GET_PSEUDO_RANDOM, AuditMode.ON],
          [Command.SIGN_ECDSA, AuditMode.OFF],
        ]),
      ),
    ).toBe(DeviceErrorCode.INVALID_DATA);
    const pairs = SetOption.decodePairs(await getOption(OptionTag.COMMAND_AUDIT));
    expect(pairs.get(Command.SIGN_ECDSA)).toBe(AuditMode.FIXED);
    expect(pairs.get(Command.GET_PSEUDO_RANDOM)).toBe(AuditMode.OFF);
    await audit([[Command.SIGN_ECDSA, AuditMode.FIXED]]);
  });

  test('unknown commands, unknown settings, odd lengths and unknown tags are refused without a change', async () => {
    const before = hex(await getOption(OptionTag.COMMAND_AUDIT));
    expect(await deviceCode(audit([[0x02, AuditMode.ON]]))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(audit([[Command.ECHO, 3]]))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(setOption(OptionTag.COMMAND_AUDIT, Uint8Array.of(Command.ECHO)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(setOption(OptionTag.COMMAND_AUDIT, new Uint8Array(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(1, 1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(3)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(setOption(0x02, Uint8Array.of(1)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(getOption(0x02))).toBe(DeviceErrorCode.INVALID_DATA);
    // The TLV length must match what follows; a truncated header is WRONG_LENGTH too.
    expect(await deviceCode(admin.send(Command.SET_OPTION, Uint8Array.of(OptionTag.FORCE_AUDIT, 0, 2, 1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(admin.send(Command.SET_OPTION, Uint8Array.of(OptionTag.FORCE_AUDIT, 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(admin.send(Command.GET_OPTION, new Uint8Array(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(admin.send(Command.GET_OPTION, Uint8Array.of(1, 1)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(hex(await getOption(OptionTag.COMMAND_AUDIT))).toBe(before);
    expect(hex(await getOption(OptionTag.FORCE_AUDIT))).toBe('00');
  });
});

describe('SET_LOG_INDEX', () => {
  test('releases entries up to the index; GET_LOG_ENTRIES then starts after it, chained to it', async () => {
    await audit([
      [Command.GET_PSEUDO_RANDOM, AuditMode.ON],
      [Command.SET_LOG_INDEX, AuditMode.ON],
    ]);
    for (let i = 0; i < 3; i++) await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 4));
    const first = await logs();
    expect(first.entries.map((e) => e.number)).toEqual([1, 2, 3, 4, 5]);
    const last = first.entries[first.entries.length - 1]!;
    await setLogIndex(last.number);
    await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 4));
    const next = await logs();
    expect(next.entries.map((e) => [e.number, e.command])).toEqual([
      [6, Command.SET_LOG_INDEX],
      [7, Command.GET_PSEUDO_RANDOM],
    ]);
    expectChained(next.entries, last);
    // An index that names no held entry releases nothing.
    await setLogIndex(3);
    expect((await logs()).entries.map((e) => e.number)).toEqual([6, 7, 8]);
  });

  test('truncated and oversized payloads are WRONG_LENGTH and release nothing', async () => {
    expect(await deviceCode(admin.send(Command.SET_LOG_INDEX, Uint8Array.of(2)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(admin.send(Command.SET_LOG_INDEX, Uint8Array.of(0, 2, 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(admin.send(Command.GET_LOG_ENTRIES, Uint8Array.of(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect((await logs()).entries).toHaveLength(2);
  });
});

describe('force audit', () => {
  test('with the log full, audited commands fail with LOG_FULL and change nothing; log reading, releasing and sessions still work', async () => {
    await audit([
      [Command.GET_PSEUDO_RANDOM, AuditMode.ON],
      [Command.GENERATE_ASYMMETRIC_KEY, AuditMode.ON],
      [Command.CREATE_SESSION, AuditMode.ON],
      [Command.SET_LOG_INDEX, AuditMode.ON],
    ]);
    await setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(AuditMode.ON));
    expect(hex(await getOption(OptionTag.FORCE_AUDIT))).toBe('01');
    for (let i = 2; i < 62; i++) await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1));
    expect(DeviceInfo.decodeResponse(await plain(sim.url, Command.DEVICE_INFO)).logUsed).toBe(62);

    expect(await deviceCode(admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1)))).toBe(DeviceErrorCode.LOG_FULL);
    const objects = await objectCount();
    expect(await deviceCode(admin.send(Command.GENERATE_ASYMMETRIC_KEY, generateRequest()))).toBe(DeviceErrorCode.LOG_FULL);
    expect(await objectCount()).toBe(objects);
    // Unaudited commands are not held up.
    await admin.send(Command.ECHO, Uint8Array.of(1));
    // A new session is always allowed; it is counted instead of logged.
    const other = await TestSession.open(sim.url);
    const full = await logs(other);
    expect(full.entries).toHaveLength(62);
    expect(full.unloggedAuths).toBe(1);
    expectChained(full.entries);

    const last = full.entries[61]!;
    await setLogIndex(last.number);
    await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1));
    const after = await logs();
    expect(after.entries.map((e) => e.command)).toEqual([Command.SET_LOG_INDEX, Command.GET_PSEUDO_RANDOM]);
    expectChained(after.entries, last);
    await other.close();
  });

  test('without force audit the log is a ring: the oldest entries are overwritten and the chain goes on', async () => {
    await audit([[Command.GET_PSEUDO_RANDOM, AuditMode.ON]]);
    for (let i = 0; i < 70; i++) await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1));
    const { entries } = await logs();
    expect(entries).toHaveLength(62);
    expect(entries[0]!.number).toBe(72 - 61);
    expect(entries[61]!.number).toBe(72);
    expectChained(entries);
  });

  test('FIXED force audit cannot be turned off until a factory reset', async () => {
    await setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(AuditMode.FIXED));
    expect(await deviceCode(setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(AuditMode.OFF)))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(hex(await getOption(OptionTag.FORCE_AUDIT))).toBe('02');
    await admin.send(Command.RESET_DEVICE);
    const fresh = await TestSession.open(sim.url);
    expect(hex(await getOption(OptionTag.FORCE_AUDIT, fresh))).toBe('00');
  });
});

describe('RESET_DEVICE', () => {
  test('starts a new log with the reset and boot entries and restores the default options', async () => {
    await audit([
      [Command.GET_PSEUDO_RANDOM, AuditMode.ON],
      [Command.RESET_DEVICE, AuditMode.ON],
    ]);
    await admin.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1));
    await admin.send(Command.RESET_DEVICE);
    const fresh = await TestSession.open(sim.url);
    const { entries } = await logs(fresh);
    expect(entries.map(entryHex)).toEqual([RESET_ENTRY, BOOT_ENTRY]);
    expectChained(entries);
    expect(SetOption.decodePairs(await getOption(OptionTag.COMMAND_AUDIT, fresh)).get(Command.GET_PSEUDO_RANDOM)).toBe(AuditMode.OFF);
  });
});

describe('algorithm toggles', () => {
  test('list every supported algorithm as enabled, and can be changed only on a fresh device', async () => {
    const toggles = SetOption.decodePairs(await getOption(OptionTag.ALGORITHM_TOGGLE));
    expect(toggles.get(Algorithm.EC_P256)).toBe(1);
    await setOption(OptionTag.ALGORITHM_TOGGLE, SetOption.encodePairs(new Map([[Algorithm.EC_K256, 0]])));
    expect(SetOption.decodePairs(await getOption(OptionTag.ALGORITHM_TOGGLE)).get(Algorithm.EC_K256)).toBe(0);
    await admin.send(Command.GENERATE_ASYMMETRIC_KEY, generateRequest());
    expect(await deviceCode(setOption(OptionTag.ALGORITHM_TOGGLE, SetOption.encodePairs(new Map([[Algorithm.EC_K256, 1]]))))).toBe(
      DeviceErrorCode.INVALID_DATA,
    );
    expect(await deviceCode(setOption(OptionTag.ALGORITHM_TOGGLE, SetOption.encodePairs(new Map([[0xee, 1]]))))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(SetOption.decodePairs(await getOption(OptionTag.ALGORITHM_TOGGLE)).get(Algorithm.EC_K256)).toBe(0);
  });

  test('a disabled algorithm cannot be created: ALGORITHM_DISABLED, and no object', async () => {
    await setOption(OptionTag.ALGORITHM_TOGGLE, SetOption.encodePairs(new Map([[Algorithm.EC_K256, 0]])));
    const k256 = GenerateAsymmetricKey.encodeRequest({
      id: 0,
      label: label('k'),
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      algorithm: Algorithm.EC_K256,
    });
    expect(await deviceCode(admin.send(Command.GENERATE_ASYMMETRIC_KEY, k256))).toBe(DeviceErrorCode.ALGORITHM_DISABLED);
    expect(await objectCount()).toBe(1);
    await admin.send(Command.GENERATE_ASYMMETRIC_KEY, generateRequest());
    expect(await objectCount()).toBe(2);
    // A factory reset enables everything again.
    await admin.send(Command.RESET_DEVICE);
    const fresh = await TestSession.open(sim.url);
    await fresh.send(Command.GENERATE_ASYMMETRIC_KEY, k256);
  });
});

describe('capabilities', () => {
  test('GET_LOG_ENTRIES and SET_LOG_INDEX need get-log-entries, SET_OPTION set-option, GET_OPTION get-option', async () => {
    const { encKey, macKey } = authKeyFromPassword('weak');
    const put = {
      id: 0x20,
      label: label('weak'),
      domains: 1,
      algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
      capabilities: Capability.GET_PSEUDO_RANDOM,
      delegatedCapabilities: 0n,
      encKey,
      macKey,
    };
    await admin.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(put));
    const weak = await TestSession.open(sim.url, 0x20, 'weak');
    expect(await deviceCode(weak.send(Command.GET_LOG_ENTRIES))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(weak.send(Command.SET_LOG_INDEX, SetLogIndex.encodeRequest({ index: 2 })))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(setOption(OptionTag.FORCE_AUDIT, Uint8Array.of(1), weak))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(await deviceCode(getOption(OptionTag.FORCE_AUDIT, weak))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    expect(hex(await getOption(OptionTag.FORCE_AUDIT))).toBe('00');
    expect((await logs()).entries).toHaveLength(2);
  });
});

describe('persistence', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'yubihsm-sim-audit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('the log and the options survive a restart, which logs a boot entry chained to the last one', async () => {
    const statePath = join(dir, 'state.json');
    const first = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
    const s1 = await TestSession.open(first.url);
    await s1.send(
      Command.SET_OPTION,
      SetOption.encodeRequest({ tag: OptionTag.COMMAND_AUDIT, value: SetOption.encodePairs(new Map([[Command.GET_PSEUDO_RANDOM, 1]])) }),
    );
    await s1.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1));
    const before = GetLogEntries.decodeResponse(await s1.send(Command.GET_LOG_ENTRIES)).entries;
    await first.close();

    const second = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
    try {
      const s2 = await TestSession.open(second.url);
      const after = GetLogEntries.decodeResponse(await s2.send(Command.GET_LOG_ENTRIES)).entries;
      expect(after.slice(0, before.length).map(entryHex)).toEqual(before.map(entryHex));
      expect(entryHex(after[before.length]!)).toBe('0004' + BOOT_ENTRY.slice(4));
      expectChained(after);
      const audited = SetOption.decodePairs(GetOption.decodeResponse(await s2.send(Command.GET_OPTION, Uint8Array.of(OptionTag.COMMAND_AUDIT))).value);
      expect(audited.get(Command.GET_PSEUDO_RANDOM)).toBe(1);
    } finally {
      await second.close();
    }
  });

  test('a boot that force audit cannot log is counted as an unlogged boot', async () => {
    const statePath = join(dir, 'state.json');
    const first = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
    const s1 = await TestSession.open(first.url);
    await s1.send(
      Command.SET_OPTION,
      SetOption.encodeRequest({ tag: OptionTag.COMMAND_AUDIT, value: SetOption.encodePairs(new Map([[Command.GET_PSEUDO_RANDOM, 1]])) }),
    );
    await s1.send(Command.SET_OPTION, SetOption.encodeRequest({ tag: OptionTag.FORCE_AUDIT, value: Uint8Array.of(AuditMode.ON) }));
    for (let i = 2; i < 62; i++) await s1.send(Command.GET_PSEUDO_RANDOM, Uint8Array.of(0, 1));
    const before = GetLogEntries.decodeResponse(await s1.send(Command.GET_LOG_ENTRIES));
    await first.close();

    const second = await startSimulator({ host: '127.0.0.1', port: 0, statePath });
    try {
      const after = GetLogEntries.decodeResponse(await (await TestSession.open(second.url)).send(Command.GET_LOG_ENTRIES));
      expect(after.unloggedBoots).toBe(before.unloggedBoots + 1);
      // Session setup is not audited here, so the new session is not an unlogged authentication.
      expect(after.unloggedAuths).toBe(before.unloggedAuths);
      expect(after.entries.map(entryHex)).toEqual(before.entries.map(entryHex));
    } finally {
      await second.close();
    }
  });
});
