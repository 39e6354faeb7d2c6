// Bad bytes of every kind get a device error code, never a crash: truncated and mis-sized frames,
// garbage inside a session, and random fuzz in the clear and inside a session.
import { randomBytes, randomInt } from 'node:crypto';
import { Command, DeviceErrorCode, frame, parseFrame, RESPONSE_ERROR, responseCode } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { errorCodeOf, plain, post, TestSession } from './helpers/client';

let sim: RunningSimulator;
const internalErrors: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    log: (line) => {
      if (line.includes('internal error')) internalErrors.push(line);
    },
  });
});
afterAll(() => sim.close());
afterEach(async () => {
  // The device still answers, and nothing reached the "simulator bug" path.
  expect([...(await plain(sim.url, Command.ECHO, Uint8Array.of(0x42)))]).toEqual([0x42]);
  expect(internalErrors).toEqual([]);
});

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** A response is one well-formed frame: success for `cmd`, or `7f 00 01 XX`. */
function expectWellFormed(cmd: number, response: Uint8Array): void {
  const { code, payload } = parseFrame(response);
  if (code === RESPONSE_ERROR) expect(payload.length).toBe(1);
  else expect(code).toBe(responseCode(cmd));
}

describe('in the clear', () => {
  test.each([
    ['length field larger than the body', bytes(0x01, 0x00, 0x05, 1, 2), DeviceErrorCode.WRONG_LENGTH],
    ['length field smaller than the body', bytes(0x01, 0x00, 0x01, 1, 2, 3), DeviceErrorCode.WRONG_LENGTH],
    ['header only, length 0xffff', bytes(0x06, 0xff, 0xff), DeviceErrorCode.WRONG_LENGTH],
    ['DEVICE_INFO with two page bytes', bytes(0x06, 0x00, 0x02, 1, 1), DeviceErrorCode.WRONG_LENGTH],
    ['DEVICE_INFO page 2', bytes(0x06, 0x00, 0x01, 2), DeviceErrorCode.INVALID_DATA],
    ['CREATE_SESSION truncated', bytes(0x03, 0x00, 0x03, 0, 1, 0), DeviceErrorCode.WRONG_LENGTH],
    ['CREATE_SESSION too long', frame(0x03, new Uint8Array(11)), DeviceErrorCode.WRONG_LENGTH],
    ['AUTHENTICATE_SESSION empty', bytes(0x04, 0x00, 0x00), DeviceErrorCode.WRONG_LENGTH],
    ['AUTHENTICATE_SESSION for a free slot', frame(0x04, new Uint8Array(17)), DeviceErrorCode.INVALID_SESSION],
    ['SESSION_MESSAGE empty', bytes(0x05, 0x00, 0x00), DeviceErrorCode.WRONG_LENGTH],
    ['SESSION_MESSAGE shorter than SID + MAC', frame(0x05, new Uint8Array(8)), DeviceErrorCode.WRONG_LENGTH],
    ['SESSION_MESSAGE for a free slot', frame(0x05, new Uint8Array(25)), DeviceErrorCode.INVALID_SESSION],
    ['error code as a command', bytes(0x7f, 0x00, 0x01, 0x00), DeviceErrorCode.INVALID_COMMAND],
    ['response code as a command', bytes(0x81, 0x00, 0x00), DeviceErrorCode.INVALID_COMMAND],
  ])('%s', async (_name, body, code) => {
    expect(errorCodeOf(await post(sim.url, body))).toBe(code);
  });

  test('random bytes always get a well-formed answer', async () => {
    const codes = [0x01, 0x03, 0x04, 0x05, 0x06, 0x08, 0x0a, 0x40, 0x46, 0x48, 0x56, 0x6a, 0xff];
    for (let i = 0; i < 300; i++) {
      const body = new Uint8Array(randomBytes(randomInt(3, 120)));
      body[0] = codes[i % codes.length]!;
      // Half the time keep the length field honest so the command decoders, not just the
      // framing check, see the garbage.
      if (i % 2 === 0) {
        body[1] = (body.length - 3) >> 8;
        body[2] = (body.length - 3) & 0xff;
      }
      const response = await post(sim.url, body);
      expectWellFormed(body[0]!, response);
    }
  });
});

test('Device.handle itself never throws on bytes; only a non-Uint8Array argument is a TypeError', () => {
  expect([...sim.device.handle(new Uint8Array(0))]).toEqual([0x7f, 0, 1, DeviceErrorCode.WRONG_LENGTH]);
  expect([...sim.device.handle(bytes(0x01))]).toEqual([0x7f, 0, 1, DeviceErrorCode.WRONG_LENGTH]);
  expect(() => sim.device.handle('0100' as unknown as Uint8Array)).toThrow(TypeError);
});

describe('inside a session', () => {
  let session: TestSession;
  beforeEach(async () => {
    session = await TestSession.open(sim.url);
  });
  afterEach(async () => {
    // Inner errors do not cost the session.
    expect([...(await session.send(Command.ECHO, bytes(7)))]).toEqual([7]);
    await session.close();
  });

  test.each([
    ['inner length field too large', bytes(Command.ECHO, 0x00, 0x09, 1, 2), DeviceErrorCode.WRONG_LENGTH],
    ['inner length field too small', bytes(Command.GET_PUBLIC_KEY, 0x00, 0x00, 0, 1), DeviceErrorCode.WRONG_LENGTH],
    ['three bytes of garbage', bytes(0xaa, 0xbb, 0xcc), DeviceErrorCode.WRONG_LENGTH],
    ['unknown inner command', bytes(0xee, 0x00, 0x00), DeviceErrorCode.INVALID_COMMAND],
    ['GENERATE_ASYMMETRIC_KEY truncated header', frame(Command.GENERATE_ASYMMETRIC_KEY, new Uint8Array(52)), DeviceErrorCode.WRONG_LENGTH],
    ['GENERATE_ASYMMETRIC_KEY with trailing bytes', frame(Command.GENERATE_ASYMMETRIC_KEY, new Uint8Array(54)), DeviceErrorCode.WRONG_LENGTH],
    ['SIGN_ECDSA without a key id', frame(Command.SIGN_ECDSA, bytes(1)), DeviceErrorCode.WRONG_LENGTH],
    ['SIGN_EDDSA without a key id', frame(Command.SIGN_EDDSA, new Uint8Array(0)), DeviceErrorCode.WRONG_LENGTH],
    ['DELETE_OBJECT too long', frame(Command.DELETE_OBJECT, new Uint8Array(4)), DeviceErrorCode.WRONG_LENGTH],
    ['CLOSE_SESSION with a payload', frame(Command.CLOSE_SESSION, bytes(0)), DeviceErrorCode.WRONG_LENGTH],
    ['RESET_DEVICE with a payload', frame(Command.RESET_DEVICE, bytes(0)), DeviceErrorCode.WRONG_LENGTH],
    ['LIST_OBJECTS label filter cut short', frame(Command.LIST_OBJECTS, bytes(0x06, 1, 2, 3)), DeviceErrorCode.WRONG_LENGTH],
  ])('%s is an encrypted error, the session survives', async (_name, inner, code) => {
    const response = await session.raw(inner);
    expect([...response]).toEqual([0x7f, 0x00, 0x01, code]);
  });

  test('random inner frames always get a well-formed encrypted answer', async () => {
    const codes = [
      Command.ECHO,
      Command.DEVICE_INFO,
      Command.GENERATE_ASYMMETRIC_KEY,
      Command.GET_PUBLIC_KEY,
      Command.SIGN_ECDSA,
      Command.SIGN_EDDSA,
      Command.GET_OBJECT_INFO,
      Command.LIST_OBJECTS,
      Command.DELETE_OBJECT,
      Command.GET_PSEUDO_RANDOM,
      Command.PUT_AUTHENTICATION_KEY,
      0x00,
      0x99,
    ];
    for (let i = 0; i < 300; i++) {
      const code = codes[i % codes.length]!;
      const payload = new Uint8Array(randomBytes(randomInt(0, 150)));
      const response = await session.raw(frame(code, payload));
      expectWellFormed(code, response);
    }
  });
});
