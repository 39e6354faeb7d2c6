/**
 * The client's audit log, option and identity methods over real sockets against yubihsm-sim.
 * Digests are recomputed with node:crypto here; the simulator's identity check is what a gateway
 * in production mode relies on.
 */
import { createHash } from 'node:crypto';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import {
  AuditMode,
  Command,
  DeviceError,
  DeviceErrorCode,
  GetLogEntries,
  OptionTag,
  ProtocolError,
  YubiHsmClient,
  isSimulatedConnector,
  isSimulatedDevice,
  parseConnectorStatus,
} from '../src';

let sim: RunningSimulator;
let client: YubiHsmClient;

beforeEach(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  client = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
});

afterEach(async () => {
  await client.close();
  await sim.close();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('simulator identity', () => {
  it('DEVICE_INFO page 1 and /connector/status name the simulator', async () => {
    const info = await client.deviceInfo();
    expect(info.partNumber).toBe('KMSGATE-YUBIHSM-SIM');
    expect(isSimulatedDevice(info)).toBe(true);
    expect(isSimulatedConnector(await client.status())).toBe(true);
  });

  it('a real device and connector are not taken for the simulator', () => {
    // yubihsm-connector 3.0.7 api.go status body; DEVICE_INFO of firmware 2.0 has no page 1.
    expect(isSimulatedConnector(parseConnectorStatus('status=OK\nserial=*\nversion=3.0.7\npid=42\naddress=localhost\nport=12345\n'))).toBe(false);
    expect(isSimulatedDevice({})).toBe(false);
    expect(isSimulatedDevice({ partNumber: 'YubiHSM 2' })).toBe(false);
    expect(() => isSimulatedDevice(null as never)).toThrow(TypeError);
  });
});

describe('audit log', () => {
  it('reads a fresh log, audits commands, releases entries and checks the chain against the previous read', async () => {
    const fresh = await client.getLogEntries();
    expect(fresh.entries.map((e) => e.number)).toEqual([1, 2]);
    await client.setCommandAudit(
      new Map([
        [Command.GET_PSEUDO_RANDOM, AuditMode.ON],
        [Command.SET_LOG_INDEX, AuditMode.ON],
      ]),
    );
    expect((await client.getCommandAudit()).get(Command.GET_PSEUDO_RANDOM)).toBe(AuditMode.ON);
    await client.getPseudoRandom(4);
    const first = await client.getLogEntries();
    const last = first.entries[first.entries.length - 1]!;
    expect(last).toMatchObject({ number: 3, command: Command.GET_PSEUDO_RANDOM, sessionKey: 1, result: Command.GET_PSEUDO_RANDOM | 0x80 });
    const data = GetLogEntries.encodeLogEntryData(last);
    expect(createHash('sha256').update(data).update(first.entries[1]!.digest).digest().subarray(0, 16)).toEqual(Buffer.from(last.digest));

    await client.setLogIndex(last.number);
    await client.getPseudoRandom(4);
    const next = await client.getLogEntries(last);
    expect(next.entries.map((e) => e.command)).toEqual([Command.SET_LOG_INDEX, Command.GET_PSEUDO_RANDOM]);

    // Entries that do not follow the one given as previous are refused.
    const wrong = await rejection(client.getLogEntries(first.entries[1]!));
    expect(wrong).toBeInstanceOf(ProtocolError);
    expect((wrong as ProtocolError).kind).toBe('log-chain');
    const forged = await rejection(client.getLogEntries({ ...last, digest: new Uint8Array(16) }));
    expect((forged as ProtocolError).message).toMatch(/does not chain/);
  });

  it('force audit: LOG_FULL once the log is full, until entries are released', async () => {
    await client.setCommandAudit(new Map([[Command.GET_PSEUDO_RANDOM, AuditMode.ON]]));
    await client.setForceAudit(AuditMode.ON);
    expect(await client.getForceAudit()).toBe(AuditMode.ON);
    for (let i = 2; i < 62; i++) await client.getPseudoRandom(1);
    const error = await rejection(client.getPseudoRandom(1));
    expect(error).toBeInstanceOf(DeviceError);
    expect((error as DeviceError).code).toBe(DeviceErrorCode.LOG_FULL);
    const info = await client.deviceInfo();
    expect(info.logUsed).toBe(info.logTotal);
    const { entries } = await client.getLogEntries();
    await client.setLogIndex(entries[entries.length - 1]!.number);
    await client.setForceAudit(AuditMode.OFF);
    expect(await client.getPseudoRandom(1)).toHaveLength(1);
  });

  it('checks arguments before sending', async () => {
    await expect(client.setLogIndex(0x10000)).rejects.toThrow(RangeError);
    await expect(client.setForceAudit(3 as never)).rejects.toThrow(RangeError);
    await expect(client.setCommandAudit(new Map([[0x02, AuditMode.ON]]) as never)).rejects.toThrow(/not a YubiHSM 2 command/);
    await expect(client.setCommandAudit({} as never)).rejects.toThrow(TypeError);
    await expect(client.getOption(0x100)).rejects.toThrow(RangeError);
    await expect(client.setOption(OptionTag.FORCE_AUDIT, 'x' as never)).rejects.toThrow(TypeError);
    expect(client.stats().sessionsOpened).toBe(0);
  });

  it('device errors come back as DeviceError: FIPS mode on a non-FIPS device', async () => {
    const error = await rejection(client.getOption(OptionTag.FIPS_MODE));
    expect((error as DeviceError).code).toBe(DeviceErrorCode.INVALID_DATA);
  });
});
