// Bad input to the asymmetric, opaque and attestation commands: truncated, oversized and malformed
// payloads, wrong object types and algorithms, missing capabilities, objects in other domains and
// full storage each get the device's error code, and change nothing.
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import {
  Algorithm,
  ALL_CAPABILITIES,
  Capability,
  Command,
  DeviceErrorCode,
  ListObjects,
  PutAsymmetricKey,
  PutAuthenticationKey,
  PutOpaque,
  authKeyFromPassword,
} from '@kmsgate/yubihsm';
import { OBJECT_CAPACITY, startSimulator, type RunningSimulator } from '../src';
import { deviceCode, TestSession } from './helpers/client';

const label = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);

const P256_N = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';
const EC = 0x10;
const RSA = 0x11;
const ED = 0x12;
const OPAQUE = 0x13;
const OTHER_DOMAIN = 0x14;
const EC_SIGN_ONLY = 0x15;
const RSA_SIGN_ONLY = 0x16;
const ATTEST_NO_TEMPLATE = 0x17;
const ATTEST_DATA_TEMPLATE = 0x18;
const ATTEST_GARBAGE_TEMPLATE = 0x19;
const ATTEST_ED = 0x1a;

function rsaPrimes(): Uint8Array {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const pad = (b64: string): Buffer => Buffer.concat([Buffer.alloc(128), Buffer.from(b64, 'base64url')]).subarray(-128);
  return new Uint8Array(Buffer.concat([pad(jwk.p!), pad(jwk.q!)]));
}
const RSA_KEY = rsaPrimes();

function putKey(id: number, algorithm: number, key: Uint8Array, capabilities: bigint, domains = 1): Uint8Array {
  return PutAsymmetricKey.encodeRequest({ id, label: label('k'), domains, capabilities, algorithm, key });
}

function putOpaque(id: number, algorithm: number, data: Uint8Array, domains = 1): Uint8Array {
  return PutOpaque.encodeRequest({ id, label: label('o'), domains, capabilities: 0n, algorithm, data });
}

let sim: RunningSimulator;
const internalErrors: string[] = [];
let admin: TestSession;
/** Domain 1 only, every capability. */
let domain1: TestSession;
/** Domain 1, no capability for any command under test. */
let noCaps: TestSession;

beforeAll(async () => {
  sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    log: (line) => {
      if (line.includes('internal error')) internalErrors.push(line);
    },
  });
  admin = await TestSession.open(sim.url);
  const putAuth = async (id: number, password: string, capabilities: bigint): Promise<void> => {
    const { encKey, macKey } = authKeyFromPassword(password);
    const req = {
      id,
      label: label(password),
      domains: 1,
      capabilities,
      delegatedCapabilities: capabilities,
      algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
      encKey,
      macKey,
    };
    await admin.send(Command.PUT_AUTHENTICATION_KEY, PutAuthenticationKey.encodeRequest(req));
  };
  await putAuth(2, 'domain1', ALL_CAPABILITIES);
  await putAuth(3, 'nocaps', Capability.SIGN_ECDSA | Capability.GET_PSEUDO_RANDOM);
  domain1 = await TestSession.open(sim.url, 2, 'domain1');
  noCaps = await TestSession.open(sim.url, 3, 'nocaps');

  const ecKey = hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
  const edSeed = new Uint8Array(32).fill(7);
  const attest = Capability.SIGN_ATTESTATION_CERTIFICATE;
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(EC, Algorithm.EC_P256, ecKey, Capability.DERIVE_ECDH | Capability.SIGN_ECDSA | attest));
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(RSA, Algorithm.RSA_2048, RSA_KEY, Capability.DECRYPT_PKCS | Capability.DECRYPT_OAEP));
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(ED, Algorithm.EC_ED25519, edSeed, ALL_CAPABILITIES));
  await admin.send(Command.PUT_OPAQUE, putOpaque(OPAQUE, Algorithm.OPAQUE_DATA, label('data')));
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(OTHER_DOMAIN, Algorithm.EC_P256, ecKey, ALL_CAPABILITIES, 2));
  await admin.send(Command.PUT_OPAQUE, putOpaque(OTHER_DOMAIN, Algorithm.OPAQUE_DATA, label('elsewhere'), 2));
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(EC_SIGN_ONLY, Algorithm.EC_P256, ecKey, Capability.SIGN_ECDSA));
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(RSA_SIGN_ONLY, Algorithm.RSA_2048, RSA_KEY, Capability.SIGN_PKCS));
  for (const id of [ATTEST_NO_TEMPLATE, ATTEST_DATA_TEMPLATE, ATTEST_GARBAGE_TEMPLATE]) {
    await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(id, Algorithm.EC_P256, ecKey, attest));
  }
  await admin.send(Command.PUT_ASYMMETRIC_KEY, putKey(ATTEST_ED, Algorithm.EC_ED25519, edSeed, attest));
  await admin.send(Command.PUT_OPAQUE, putOpaque(ATTEST_DATA_TEMPLATE, Algorithm.OPAQUE_DATA, label('not a certificate')));
  await admin.send(Command.PUT_OPAQUE, putOpaque(ATTEST_GARBAGE_TEMPLATE, Algorithm.OPAQUE_X509_CERTIFICATE, hex('3082ffff0102')));
  const template = await admin.send(Command.GET_OPAQUE, u16(0));
  await admin.send(Command.PUT_OPAQUE, putOpaque(ATTEST_ED, Algorithm.OPAQUE_X509_CERTIFICATE, template));
});
afterAll(() => sim.close());
// Every refusal came from a check, none from the "simulator bug" fallback.
afterEach(() => expect(internalErrors).toEqual([]));

async function objects(): Promise<ListObjects.ListedObject[]> {
  return ListObjects.decodeResponse(await admin.send(Command.LIST_OBJECTS)).objects;
}

type Who = 'admin' | 'domain1' | 'noCaps';
const session = (who: Who): TestSession => ({ admin, domain1, noCaps })[who];

const P256_POINT =
  '04' + '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' + '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';
const OAEP = (id: number, mgf: number, ct: number, h: number): Uint8Array => concat(u16(id), Uint8Array.of(mgf), new Uint8Array(ct).fill(1), new Uint8Array(h));

const CASES: Array<[string, Who, number, () => Uint8Array, number]> = [
  // PUT_ASYMMETRIC_KEY
  ['PUT_ASYMMETRIC_KEY empty', 'admin', Command.PUT_ASYMMETRIC_KEY, () => new Uint8Array(0), DeviceErrorCode.WRONG_LENGTH],
  [
    'PUT_ASYMMETRIC_KEY header cut short',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(0), 0n).subarray(0, 40),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  [
    'PUT_ASYMMETRIC_KEY P-256 scalar of 31 bytes',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(31).fill(1), 0n),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  [
    'PUT_ASYMMETRIC_KEY P-256 scalar of 33 bytes',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(33).fill(1), 0n),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  [
    'PUT_ASYMMETRIC_KEY P-256 d = 0',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(32), 0n),
    DeviceErrorCode.INVALID_DATA,
  ],
  ['PUT_ASYMMETRIC_KEY P-256 d = n', 'admin', Command.PUT_ASYMMETRIC_KEY, () => putKey(0, Algorithm.EC_P256, hex(P256_N), 0n), DeviceErrorCode.INVALID_DATA],
  [
    'PUT_ASYMMETRIC_KEY Ed25519 seed of 64 bytes',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_ED25519, new Uint8Array(64), 0n),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  [
    'PUT_ASYMMETRIC_KEY RSA-2048 with p = q',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.RSA_2048, concat(RSA_KEY.subarray(0, 128), RSA_KEY.subarray(0, 128)), 0n),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'PUT_ASYMMETRIC_KEY RSA-2048 with composite "primes"',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.RSA_2048, new Uint8Array(256).fill(0xff), 0n),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'PUT_ASYMMETRIC_KEY RSA-3072 given 2048-bit primes',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.RSA_3072, RSA_KEY, 0n),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  [
    'PUT_ASYMMETRIC_KEY unknown algorithm',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, 0x99, new Uint8Array(32).fill(1), 0n),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'PUT_ASYMMETRIC_KEY an HMAC algorithm',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.HMAC_SHA256, new Uint8Array(32).fill(1), 0n),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'PUT_ASYMMETRIC_KEY id 0xffff',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0xffff, Algorithm.EC_P256, new Uint8Array(32).fill(1), 0n),
    DeviceErrorCode.INVALID_ID,
  ],
  [
    'PUT_ASYMMETRIC_KEY in no domain',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(32).fill(1), 0n, 0),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'PUT_ASYMMETRIC_KEY over an existing key',
    'admin',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(EC, Algorithm.EC_P256, new Uint8Array(32).fill(1), 0n),
    DeviceErrorCode.OBJECT_EXISTS,
  ],
  [
    'PUT_ASYMMETRIC_KEY without put-asymmetric-key',
    'noCaps',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(32).fill(1), 0n),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  [
    'PUT_ASYMMETRIC_KEY into a domain the session lacks',
    'domain1',
    Command.PUT_ASYMMETRIC_KEY,
    () => putKey(0, Algorithm.EC_P256, new Uint8Array(32).fill(1), 0n, 2),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  // DERIVE_ECDH
  ['DERIVE_ECDH one byte', 'admin', Command.DERIVE_ECDH, () => Uint8Array.of(0), DeviceErrorCode.WRONG_LENGTH],
  ['DERIVE_ECDH point one byte short', 'admin', Command.DERIVE_ECDH, () => concat(u16(EC), hex(P256_POINT).subarray(0, 64)), DeviceErrorCode.INVALID_DATA],
  ['DERIVE_ECDH compressed point', 'admin', Command.DERIVE_ECDH, () => concat(u16(EC), hex('03' + P256_POINT.slice(2, 66))), DeviceErrorCode.INVALID_DATA],
  ['DERIVE_ECDH point off the curve', 'admin', Command.DERIVE_ECDH, () => concat(u16(EC), hex(P256_POINT.slice(0, -2) + '00')), DeviceErrorCode.INVALID_DATA],
  ['DERIVE_ECDH with an RSA key', 'admin', Command.DERIVE_ECDH, () => concat(u16(RSA), hex(P256_POINT)), DeviceErrorCode.INVALID_DATA],
  ['DERIVE_ECDH with an Ed25519 key', 'admin', Command.DERIVE_ECDH, () => concat(u16(ED), hex(P256_POINT)), DeviceErrorCode.INVALID_DATA],
  ['DERIVE_ECDH with no such key', 'admin', Command.DERIVE_ECDH, () => concat(u16(0x777), hex(P256_POINT)), DeviceErrorCode.OBJECT_NOT_FOUND],
  [
    'DERIVE_ECDH with a key in another domain',
    'domain1',
    Command.DERIVE_ECDH,
    () => concat(u16(OTHER_DOMAIN), hex(P256_POINT)),
    DeviceErrorCode.OBJECT_NOT_FOUND,
  ],
  [
    'DERIVE_ECDH with a key lacking derive-ecdh',
    'admin',
    Command.DERIVE_ECDH,
    () => concat(u16(EC_SIGN_ONLY), hex(P256_POINT)),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  [
    'DERIVE_ECDH without derive-ecdh on the session',
    'noCaps',
    Command.DERIVE_ECDH,
    () => concat(u16(EC), hex(P256_POINT)),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  // DECRYPT_PKCS1
  ['DECRYPT_PKCS1 one byte', 'admin', Command.DECRYPT_PKCS1, () => Uint8Array.of(0), DeviceErrorCode.WRONG_LENGTH],
  ['DECRYPT_PKCS1 ciphertext of 255 bytes', 'admin', Command.DECRYPT_PKCS1, () => concat(u16(RSA), new Uint8Array(255).fill(1)), DeviceErrorCode.WRONG_LENGTH],
  ['DECRYPT_PKCS1 ciphertext of 257 bytes', 'admin', Command.DECRYPT_PKCS1, () => concat(u16(RSA), new Uint8Array(257).fill(1)), DeviceErrorCode.WRONG_LENGTH],
  ['DECRYPT_PKCS1 ciphertext ≥ n', 'admin', Command.DECRYPT_PKCS1, () => concat(u16(RSA), new Uint8Array(256).fill(0xff)), DeviceErrorCode.INVALID_DATA],
  ['DECRYPT_PKCS1 with an EC key', 'admin', Command.DECRYPT_PKCS1, () => concat(u16(EC), new Uint8Array(256).fill(1)), DeviceErrorCode.INVALID_DATA],
  [
    'DECRYPT_PKCS1 with a key lacking decrypt-pkcs',
    'admin',
    Command.DECRYPT_PKCS1,
    () => concat(u16(RSA_SIGN_ONLY), new Uint8Array(256).fill(1)),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  [
    'DECRYPT_PKCS1 without decrypt-pkcs on the session',
    'noCaps',
    Command.DECRYPT_PKCS1,
    () => concat(u16(RSA), new Uint8Array(256).fill(1)),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  // DECRYPT_OAEP
  ['DECRYPT_OAEP two bytes', 'admin', Command.DECRYPT_OAEP, () => u16(RSA), DeviceErrorCode.WRONG_LENGTH],
  ['DECRYPT_OAEP unsplittable length', 'admin', Command.DECRYPT_OAEP, () => OAEP(RSA, Algorithm.RSA_MGF1_SHA256, 256, 33), DeviceErrorCode.WRONG_LENGTH],
  [
    'DECRYPT_OAEP 3072-bit ciphertext for a 2048-bit key',
    'admin',
    Command.DECRYPT_OAEP,
    () => OAEP(RSA, Algorithm.RSA_MGF1_SHA256, 384, 32),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  ['DECRYPT_OAEP MGF1 code that is no MGF1', 'admin', Command.DECRYPT_OAEP, () => OAEP(RSA, Algorithm.RSA_OAEP_SHA256, 256, 32), DeviceErrorCode.INVALID_DATA],
  ['DECRYPT_OAEP garbage ciphertext', 'admin', Command.DECRYPT_OAEP, () => OAEP(RSA, Algorithm.RSA_MGF1_SHA256, 256, 32), DeviceErrorCode.INVALID_DATA],
  ['DECRYPT_OAEP with an Ed25519 key', 'admin', Command.DECRYPT_OAEP, () => OAEP(ED, Algorithm.RSA_MGF1_SHA256, 256, 32), DeviceErrorCode.INVALID_DATA],
  [
    'DECRYPT_OAEP with a key lacking decrypt-oaep',
    'admin',
    Command.DECRYPT_OAEP,
    () => OAEP(RSA_SIGN_ONLY, Algorithm.RSA_MGF1_SHA256, 256, 32),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  [
    'DECRYPT_OAEP without decrypt-oaep on the session',
    'noCaps',
    Command.DECRYPT_OAEP,
    () => OAEP(RSA, Algorithm.RSA_MGF1_SHA256, 256, 32),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  // PUT_OPAQUE / GET_OPAQUE
  [
    'PUT_OPAQUE header cut short',
    'admin',
    Command.PUT_OPAQUE,
    () => putOpaque(0, Algorithm.OPAQUE_DATA, new Uint8Array(0)).subarray(0, 52),
    DeviceErrorCode.WRONG_LENGTH,
  ],
  ['PUT_OPAQUE with no data', 'admin', Command.PUT_OPAQUE, () => putOpaque(0, Algorithm.OPAQUE_DATA, new Uint8Array(0)), DeviceErrorCode.WRONG_LENGTH],
  ['PUT_OPAQUE with a key algorithm', 'admin', Command.PUT_OPAQUE, () => putOpaque(0, Algorithm.EC_P256, label('x')), DeviceErrorCode.INVALID_DATA],
  [
    'PUT_OPAQUE over an existing object',
    'admin',
    Command.PUT_OPAQUE,
    () => putOpaque(OPAQUE, Algorithm.OPAQUE_DATA, label('x')),
    DeviceErrorCode.OBJECT_EXISTS,
  ],
  [
    'PUT_OPAQUE without put-opaque',
    'noCaps',
    Command.PUT_OPAQUE,
    () => putOpaque(0, Algorithm.OPAQUE_DATA, label('x')),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  ['GET_OPAQUE three bytes', 'admin', Command.GET_OPAQUE, () => Uint8Array.of(0, OPAQUE, 0), DeviceErrorCode.WRONG_LENGTH],
  ['GET_OPAQUE of an asymmetric key id', 'admin', Command.GET_OPAQUE, () => u16(EC), DeviceErrorCode.OBJECT_NOT_FOUND],
  ['GET_OPAQUE in another domain', 'domain1', Command.GET_OPAQUE, () => u16(OTHER_DOMAIN), DeviceErrorCode.OBJECT_NOT_FOUND],
  ['GET_OPAQUE without get-opaque', 'noCaps', Command.GET_OPAQUE, () => u16(OPAQUE), DeviceErrorCode.INSUFFICIENT_PERMISSIONS],
  // SIGN_ATTESTATION_CERTIFICATE
  ['SIGN_ATTESTATION_CERTIFICATE three bytes', 'admin', Command.SIGN_ATTESTATION_CERTIFICATE, () => Uint8Array.of(0, EC, 0), DeviceErrorCode.WRONG_LENGTH],
  [
    'SIGN_ATTESTATION_CERTIFICATE of no such key',
    'admin',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(0x777), u16(0)),
    DeviceErrorCode.OBJECT_NOT_FOUND,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE of a key in another domain',
    'domain1',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(OTHER_DOMAIN), u16(0)),
    DeviceErrorCode.OBJECT_NOT_FOUND,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE by a key with no certificate',
    'admin',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(EC), u16(ATTEST_NO_TEMPLATE)),
    DeviceErrorCode.OBJECT_NOT_FOUND,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE whose template is opaque data',
    'admin',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(EC), u16(ATTEST_DATA_TEMPLATE)),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE whose template is not DER',
    'admin',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(EC), u16(ATTEST_GARBAGE_TEMPLATE)),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE by an Ed25519 key',
    'admin',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(EC), u16(ATTEST_ED)),
    DeviceErrorCode.INVALID_DATA,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE by a key lacking the capability',
    'admin',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(ED), u16(RSA)),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
  [
    'SIGN_ATTESTATION_CERTIFICATE without the capability on the session',
    'noCaps',
    Command.SIGN_ATTESTATION_CERTIFICATE,
    () => concat(u16(EC), u16(0)),
    DeviceErrorCode.INSUFFICIENT_PERMISSIONS,
  ],
];

describe('bad input: the device error code, and no change', () => {
  it.each(CASES)('%s', async (_name, who, command, payload, code) => {
    const before = await objects();
    expect(await deviceCode(session(who).send(command, payload()))).toBe(code);
    expect(await objects()).toEqual(before);
  });
});

describe('random payloads', () => {
  const COMMANDS = [
    Command.PUT_ASYMMETRIC_KEY,
    Command.DERIVE_ECDH,
    Command.DECRYPT_PKCS1,
    Command.DECRYPT_OAEP,
    Command.PUT_OPAQUE,
    Command.GET_OPAQUE,
    Command.SIGN_ATTESTATION_CERTIFICATE,
  ];

  it('aimed at existing keys get an answer, never a crash, and create nothing', async () => {
    const before = (await objects()).length;
    const ids = [EC, RSA, ED, OPAQUE, OTHER_DOMAIN, ATTEST_ED, 0];
    for (let i = 0; i < 300; i++) {
      const command = COMMANDS[i % COMMANDS.length]!;
      const body = concat(u16(ids[randomInt(ids.length)]!), randomBytes(randomInt(0, 600)));
      // A stored random object would be a legitimate success; only PUT_* could make one, and the
      // random header's domains and algorithm make that vanishingly unlikely.
      await session('domain1')
        .send(command, body)
        .catch(() => undefined);
    }
    expect((await objects()).length).toBe(before);
  });
});

describe('full storage', () => {
  it('PUT_ASYMMETRIC_KEY and PUT_OPAQUE answer STORAGE_FAILED and store nothing', async () => {
    const fresh = await startSimulator({ host: '127.0.0.1', port: 0 });
    try {
      const s = await TestSession.open(fresh.url);
      for (let i = 1; i < OBJECT_CAPACITY; i++) await s.send(Command.PUT_OPAQUE, putOpaque(0, Algorithm.OPAQUE_DATA, Uint8Array.of(i & 0xff)));
      expect(fresh.device.objectCount()).toBe(OBJECT_CAPACITY);
      expect(await deviceCode(s.send(Command.PUT_ASYMMETRIC_KEY, putKey(0, Algorithm.EC_P256, new Uint8Array(32).fill(1), 0n)))).toBe(
        DeviceErrorCode.STORAGE_FAILED,
      );
      expect(await deviceCode(s.send(Command.PUT_OPAQUE, putOpaque(0, Algorithm.OPAQUE_DATA, label('one more'))))).toBe(DeviceErrorCode.STORAGE_FAILED);
      expect(fresh.device.objectCount()).toBe(OBJECT_CAPACITY);
    } finally {
      await fresh.close();
    }
  });
});
