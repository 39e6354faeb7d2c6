// Random payloads for the wrap, HMAC, AES and OTP commands: always a well-formed answer, never the
// simulator's internal-error path, and never a change to storage unless the command succeeded.
import { randomBytes, randomInt } from 'node:crypto';
import { ALL_CAPABILITIES, Algorithm, Command, frame, parseFrame, PutWrapKey, RESPONSE_ERROR, responseCode } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { TestSession } from './helpers/client';

const COMMANDS = [
  Command.PUT_WRAP_KEY,
  Command.GENERATE_WRAP_KEY,
  Command.EXPORT_WRAPPED,
  Command.IMPORT_WRAPPED,
  Command.WRAP_DATA,
  Command.UNWRAP_DATA,
  Command.PUT_HMAC_KEY,
  Command.GENERATE_HMAC_KEY,
  Command.SIGN_HMAC,
  Command.VERIFY_HMAC,
  Command.PUT_SYMMETRIC_KEY,
  Command.GENERATE_SYMMETRIC_KEY,
  Command.ENCRYPT_ECB,
  Command.DECRYPT_ECB,
  Command.ENCRYPT_CBC,
  Command.DECRYPT_CBC,
];

let sim: RunningSimulator;
const internalErrors: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0, log: (line) => line.includes('internal error') && internalErrors.push(line) });
});
afterAll(() => sim.close());

test('random payloads get a well-formed answer and no internal error', async () => {
  const session = await TestSession.open(sim.url);
  // A wrap key at ID 1 so that payloads naming it get past the lookup.
  const wrap = {
    id: 1,
    label: new Uint8Array(0),
    domains: 0xffff,
    capabilities: ALL_CAPABILITIES,
    algorithm: Algorithm.AES128_CCM_WRAP,
    delegatedCapabilities: ALL_CAPABILITIES,
    key: new Uint8Array(16),
  };
  await session.send(Command.PUT_WRAP_KEY, PutWrapKey.encodeRequest(wrap));
  for (let i = 0; i < 400; i++) {
    const code = COMMANDS[i % COMMANDS.length]!;
    const payload = new Uint8Array(randomBytes(randomInt(0, 200)));
    // Point most requests at the wrap key so the checks past the lookup see the garbage too.
    if (i % 4 !== 0 && payload.length >= 2) payload.set([0, 1]);
    const before = sim.device.objectCount();
    const response = parseFrame(await session.raw(frame(code, payload)));
    if (response.code === RESPONSE_ERROR) {
      expect(response.payload).toHaveLength(1);
      expect(sim.device.objectCount()).toBe(before);
    } else {
      expect(response.code).toBe(responseCode(code));
    }
  }
  expect(internalErrors).toEqual([]);
});
