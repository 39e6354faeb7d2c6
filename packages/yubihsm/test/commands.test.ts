import { Algorithm, AuditMode, Capability, Command, ObjectType, OptionTag } from '../src/codes';
import * as C from '../src/commands';
import { DeviceErrorCode } from '../src/errors';
import { WireError } from '../src/wire';
import { hex, unhex } from './helpers/vectors';

/** Every codec must give back what it was given, in both directions. */
function roundTrip<Req, Res>(
  codec: {
    encodeRequest(r: Req): Uint8Array;
    decodeRequest(b: Uint8Array): Req;
    encodeResponse(r: Res): Uint8Array;
    decodeResponse(b: Uint8Array): Res;
  },
  req: Req,
  res: Res,
): { request: string; response: string } {
  const reqBytes = codec.encodeRequest(req);
  expect(codec.decodeRequest(reqBytes)).toEqual(req);
  const resBytes = codec.encodeResponse(res);
  expect(codec.decodeResponse(resBytes)).toEqual(res);
  return { request: hex(reqBytes), response: hex(resBytes) };
}

const label = new TextEncoder().encode('kms-key');
const header = { id: 0, label, domains: 0x0001, capabilities: Capability.SIGN_ECDSA, algorithm: Algorithm.EC_P256 };

describe('command codecs', () => {
  it('each module carries its command code', () => {
    expect(C.Echo.CODE).toBe(Command.ECHO);
    expect(C.DeviceInfo.CODE).toBe(Command.DEVICE_INFO);
    expect(C.CreateSession.CODE).toBe(Command.CREATE_SESSION);
    expect(C.AuthenticateSession.CODE).toBe(Command.AUTHENTICATE_SESSION);
    expect(C.SessionMessage.CODE).toBe(Command.SESSION_MESSAGE);
    expect(C.CloseSession.CODE).toBe(Command.CLOSE_SESSION);
    expect(C.GenerateAsymmetricKey.CODE).toBe(Command.GENERATE_ASYMMETRIC_KEY);
    expect(C.GetPublicKey.CODE).toBe(Command.GET_PUBLIC_KEY);
    expect(C.SignEcdsa.CODE).toBe(Command.SIGN_ECDSA);
    expect(C.SignEddsa.CODE).toBe(Command.SIGN_EDDSA);
    expect(C.GetObjectInfo.CODE).toBe(Command.GET_OBJECT_INFO);
    expect(C.ListObjects.CODE).toBe(Command.LIST_OBJECTS);
    expect(C.DeleteObject.CODE).toBe(Command.DELETE_OBJECT);
    expect(C.GetPseudoRandom.CODE).toBe(Command.GET_PSEUDO_RANDOM);
    expect(C.ResetDevice.CODE).toBe(Command.RESET_DEVICE);
    expect(C.PutAuthenticationKey.CODE).toBe(Command.PUT_AUTHENTICATION_KEY);
    expect(C.GetLogEntries.CODE).toBe(Command.GET_LOG_ENTRIES);
    expect(C.SetLogIndex.CODE).toBe(Command.SET_LOG_INDEX);
    expect(C.SetOption.CODE).toBe(Command.SET_OPTION);
    expect(C.GetOption.CODE).toBe(Command.GET_OPTION);
  });

  it('echo', () => {
    expect(roundTrip(C.Echo, { data: Uint8Array.of(1, 2, 3) }, { data: Uint8Array.of(1, 2, 3) })).toEqual({ request: '010203', response: '010203' });
  });

  it('empty commands', () => {
    for (const codec of [C.CloseSession, C.ResetDevice]) expect(roundTrip(codec, {}, {})).toEqual({ request: '', response: '' });
    expect(() => C.CloseSession.decodeRequest(Uint8Array.of(0))).toThrow(WireError);
    expect(C.DeviceInfo.encodeRequest({})).toHaveLength(0);
  });

  it('create-session and authenticate-session', () => {
    roundTrip(
      C.CreateSession,
      { authKeyId: 1, hostChallenge: new Uint8Array(8).fill(1) },
      { sessionId: 5, cardChallenge: new Uint8Array(8).fill(2), cardCryptogram: new Uint8Array(8).fill(3) },
    );
    expect(() => C.CreateSession.encodeRequest({ authKeyId: 1, hostChallenge: new Uint8Array(7) })).toThrow('hostChallenge must be 8 bytes, got 7');
    expect(() => C.CreateSession.decodeRequest(new Uint8Array(9))).toThrow(WireError);
    const auth = { sessionId: 1, hostCryptogram: new Uint8Array(8).fill(4), mac: new Uint8Array(8).fill(5) };
    expect(C.AuthenticateSession.decodeRequest(C.AuthenticateSession.encodeRequest(auth))).toEqual(auth);
  });

  it('session-message envelope', () => {
    const msg = { sessionId: 2, ciphertext: new Uint8Array(32).fill(9), mac: new Uint8Array(8).fill(1) };
    roundTrip(C.SessionMessage, msg, msg);
    expect(() => C.SessionMessage.decodeRequest(new Uint8Array(8))).toThrow(WireError);
  });

  it('generate-asymmetric-key: 53-byte header, ID response', () => {
    const { request, response } = roundTrip(C.GenerateAsymmetricKey, header, { id: 0x1234 });
    expect(request).toBe(`0000${hex(label).padEnd(80, '0')}0001${'0000000000000080'}0c`);
    expect(request).toHaveLength(53 * 2);
    expect(response).toBe('1234');
  });

  it('put-authentication-key', () => {
    const req = {
      ...header,
      id: 7,
      algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
      capabilities: Capability.SIGN_ECDSA | Capability.GENERATE_ASYMMETRIC_KEY,
      delegatedCapabilities: Capability.SIGN_ECDSA,
      encKey: new Uint8Array(16).fill(1),
      macKey: new Uint8Array(16).fill(2),
    };
    const { request } = roundTrip(C.PutAuthenticationKey, req, { id: 7 });
    expect(request).toHaveLength((53 + 8 + 32) * 2);
    expect(() => C.PutAuthenticationKey.encodeRequest({ ...req, macKey: new Uint8Array(15) })).toThrow('macKey must be 16 bytes, got 15');
  });

  it('get-public-key, with and without the firmware 2.4 type byte', () => {
    roundTrip(C.GetPublicKey, { keyId: 3 }, { algorithm: Algorithm.EC_P256, publicKey: new Uint8Array(64).fill(7) });
    expect(hex(C.GetPublicKey.encodeRequest({ keyId: 3, objectType: ObjectType.WRAP_KEY }))).toBe('000304');
    expect(C.GetPublicKey.decodeRequest(Uint8Array.of(0, 3, 4))).toEqual({ keyId: 3, objectType: 4 });
  });

  it('sign-ecdsa and sign-eddsa', () => {
    const { request } = roundTrip(C.SignEcdsa, { keyId: 0x10, digest: new Uint8Array(32).fill(0xaa) }, { signature: Uint8Array.of(0x30, 0) });
    expect(request.slice(0, 4)).toBe('0010');
    roundTrip(C.SignEddsa, { keyId: 0x11, message: new Uint8Array(0) }, { signature: new Uint8Array(64).fill(1) });
    expect(() => C.SignEcdsa.decodeRequest(Uint8Array.of(1))).toThrow(WireError);
  });

  it('get-object-info: 66-byte response', () => {
    const info = {
      capabilities: Capability.SIGN_ECDSA,
      id: 0x42,
      length: 96,
      domains: 1,
      type: ObjectType.ASYMMETRIC_KEY,
      algorithm: Algorithm.EC_P256,
      sequence: 0,
      origin: C.GetObjectInfo.Origin.GENERATED,
      label,
      delegatedCapabilities: 0n,
    };
    const { request, response } = roundTrip(C.GetObjectInfo, { id: 0x42, type: ObjectType.ASYMMETRIC_KEY }, info);
    expect(request).toBe('004203');
    expect(response).toHaveLength(66 * 2);
  });

  it('list-objects: filters in any order, no repeats, no unknown tags', () => {
    roundTrip(C.ListObjects, {}, { objects: [] });
    roundTrip(C.ListObjects, { label, type: 3 }, { objects: [{ id: 1, type: 2, sequence: 9 }] });
    expect(C.ListObjects.decodeRequest(Uint8Array.of(0x02, 0x03, 0x01, 0x00, 0x05))).toEqual({ type: 3, id: 5 });
    for (const bad of [Uint8Array.of(0x02, 3, 0x02, 3), Uint8Array.of(0x07, 0)]) {
      let err: unknown;
      try {
        C.ListObjects.decodeRequest(bad);
      } catch (e) {
        err = e;
      }
      expect((err as WireError).deviceCode).toBe(DeviceErrorCode.INVALID_DATA);
    }
    expect(() => C.ListObjects.decodeRequest(Uint8Array.of(0x01, 0))).toThrow(WireError);
  });

  it('delete-object and get-pseudo-random', () => {
    expect(roundTrip(C.DeleteObject, { id: 9, type: ObjectType.ASYMMETRIC_KEY }, {}).request).toBe('000903');
    expect(roundTrip(C.GetPseudoRandom, { length: 256 }, { bytes: new Uint8Array(256).fill(3) }).request).toBe('0100');
    expect(() => C.GetPseudoRandom.encodeRequest({ length: 70000 })).toThrow('length must be between 0 and 65535, got 70000');
  });

  it('set-option and get-option: one TLV option; pairs for command audit and algorithm toggles', () => {
    // Set Option page example: `put option 0 command_audit 53005c00` (SIGN_HMAC and VERIFY_HMAC off).
    const pairs = new Map([
      [Command.SIGN_HMAC, 0],
      [Command.VERIFY_HMAC, 0],
    ]);
    expect(hex(C.SetOption.encodePairs(pairs))).toBe('53005c00');
    expect(roundTrip(C.SetOption, { tag: OptionTag.COMMAND_AUDIT, value: C.SetOption.encodePairs(pairs) }, {}).request).toBe('03000453005c00');
    expect(C.SetOption.decodePairs(unhex('53005c00'))).toEqual(pairs);
    // python-yubihsm set_force_audit(AUDIT.ON)
    expect(hex(C.SetOption.encodeRequest({ tag: OptionTag.FORCE_AUDIT, value: Uint8Array.of(AuditMode.ON) }))).toBe('01000101');
    expect(() => C.SetOption.decodeRequest(unhex('01000201'))).toThrow(WireError);
    expect(() => C.SetOption.decodeRequest(unhex('010001'))).toThrow(WireError);
    expect(() => C.SetOption.decodePairs(unhex('5300' + '5c'))).toThrow(WireError);
    expect(roundTrip(C.GetOption, { tag: OptionTag.FORCE_AUDIT }, { value: Uint8Array.of(0) })).toEqual({ request: '01', response: '00' });
    expect(() => C.GetOption.decodeRequest(Uint8Array.of(1, 0))).toThrow(WireError);
  });

  it('set-log-index: the 2-byte index of the last entry read', () => {
    // Set Log Index page example: `audit set 0 41`.
    expect(roundTrip(C.SetLogIndex, { index: 41 }, {}).request).toBe('0029');
    expect(() => C.SetLogIndex.decodeRequest(Uint8Array.of(0))).toThrow(WireError);
  });

  it('change-authentication-key, put-authentication-key: symmetric and asymmetric key material', () => {
    const encKey = new Uint8Array(16).fill(1);
    const macKey = new Uint8Array(16).fill(2);
    const publicKey = new Uint8Array(64).fill(3);
    const sym = roundTrip(C.ChangeAuthenticationKey, { id: 1, algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION, encKey, macKey }, { id: 1 });
    expect(sym.request).toBe('000126' + '01'.repeat(16) + '02'.repeat(16));
    expect(roundTrip(C.ChangeAuthenticationKey, { id: 7, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey }, { id: 7 }).request).toBe(
      '000731' + '03'.repeat(64),
    );
    expect(() => C.ChangeAuthenticationKey.decodeRequest(unhex('000131' + '03'.repeat(32)))).toThrow(WireError);
    const asym = { ...header, algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, delegatedCapabilities: 0n, publicKey };
    expect(roundTrip(C.PutAuthenticationKey, asym, { id: 9 }).request).toHaveLength(2 * (53 + 8 + 64));
  });

  it('create-session: the asymmetric variant carries 65-byte points and a receipt', () => {
    const point = Uint8Array.of(4, ...new Uint8Array(64).fill(5));
    const req = C.CreateSession.encodeAsymmetricRequest({ authKeyId: 2, hostEphemeralKey: point });
    expect(req).toHaveLength(C.CreateSession.ASYMMETRIC_REQUEST_LENGTH);
    expect(C.CreateSession.decodeAsymmetricRequest(req)).toEqual({ authKeyId: 2, hostEphemeralKey: point });
    const res = { sessionId: 3, cardEphemeralKey: point, receipt: new Uint8Array(16).fill(6) };
    expect(C.CreateSession.decodeAsymmetricResponse(C.CreateSession.encodeAsymmetricResponse(res))).toEqual(res);
    expect(() => C.CreateSession.decodeRequest(req)).toThrow(WireError);
  });

  it('get-device-public-key and get-storage-info', () => {
    const publicKey = new Uint8Array(64).fill(9);
    expect(roundTrip(C.GetDevicePublicKey, {}, { algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey }).response).toBe('31' + '09'.repeat(64));
    // Get Storage Info page example: free records 255/256, free pages 1023/1024, page size 126.
    const info = { totalRecords: 256, freeRecords: 255, totalPages: 1024, freePages: 1023, pageSize: 126 };
    expect(roundTrip(C.GetStorageInfo, {}, info).response).toBe('010000ff040003ff007e');
  });
});
