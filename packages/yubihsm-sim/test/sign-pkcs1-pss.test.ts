// RSA in the simulator: GENERATE_ASYMMETRIC_KEY for rsa2048/3072/4096, GET_PUBLIC_KEY (modulus
// only), SIGN_PKCS1 and SIGN_PSS. Every signature is checked with node:crypto's own RSASSA
// verifiers (OpenSSL over the whole message), never with the simulator's or kmsgate's code.
import { constants, createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Algorithm,
  Capability,
  Command,
  authKeyFromPassword,
  DeviceErrorCode,
  GenerateAsymmetricKey,
  GetObjectInfo,
  GetPublicKey,
  ObjectType,
  PutAuthenticationKey,
  SignEcdsa,
  SignPkcs1,
  SignPss,
} from '@kmsgate/yubihsm';
import { startSimulator, SUPPORTED_ALGORITHMS, type RunningSimulator } from '../src';
import { deviceCode, TestSession } from './helpers/client';
import { digest, rsaPublicKeyFromDevice } from './helpers/verify';

type Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const HASH_LENGTH: Record<Hash, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const MGF1: Record<Hash, number> = {
  sha1: Algorithm.RSA_MGF1_SHA1,
  sha256: Algorithm.RSA_MGF1_SHA256,
  sha384: Algorithm.RSA_MGF1_SHA384,
  sha512: Algorithm.RSA_MGF1_SHA512,
};
const SIGN_RSA = Capability.SIGN_PKCS | Capability.SIGN_PSS;

const label = (s: string): Uint8Array => new TextEncoder().encode(s);

let sim: RunningSimulator;
let dir: string;
let session: TestSession;
/** One rsa2048 key with both signing capabilities, shared by the tests that only sign. */
let rsa: { id: number; key: KeyObject };

async function generate(s: TestSession, algorithm: number, capabilities = SIGN_RSA, id = 0): Promise<number> {
  const req = { id, label: label('rsa'), domains: 1, capabilities, algorithm };
  return GenerateAsymmetricKey.decodeResponse(await s.send(Command.GENERATE_ASYMMETRIC_KEY, GenerateAsymmetricKey.encodeRequest(req))).id;
}

async function publicKey(s: TestSession, keyId: number): Promise<GetPublicKey.Response> {
  return GetPublicKey.decodeResponse(await s.send(Command.GET_PUBLIC_KEY, GetPublicKey.encodeRequest({ keyId })));
}

function signPkcs1(s: TestSession, keyId: number, hash: Uint8Array): Promise<Uint8Array> {
  return s.send(Command.SIGN_PKCS1, SignPkcs1.encodeRequest({ keyId, digest: hash })).then((r) => SignPkcs1.decodeResponse(r).signature);
}

function signPss(s: TestSession, keyId: number, mgf1Algorithm: number, saltLength: number, hash: Uint8Array): Promise<Uint8Array> {
  return s.send(Command.SIGN_PSS, SignPss.encodeRequest({ keyId, mgf1Algorithm, saltLength, digest: hash })).then((r) => SignPss.decodeResponse(r).signature);
}

function verifyPkcs1(key: KeyObject, hash: Hash, message: Uint8Array, signature: Uint8Array): boolean {
  return verify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
}

/** OpenSSL's PSS verifier: MGF1 over `hash`, and exactly `saltLength` bytes of salt (or AUTO). */
function verifyPss(key: KeyObject, hash: Hash, message: Uint8Array, signature: Uint8Array, saltLength: number): boolean {
  return verify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yubihsm-sim-rsa-'));
  sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath: join(dir, 'state.json') });
  session = await TestSession.open(sim.url);
  const id = await generate(session, Algorithm.RSA_2048);
  rsa = { id, key: rsaPublicKeyFromDevice((await publicKey(session, id)).publicKey) };
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rsa2048 keys', () => {
  test('GET_PUBLIC_KEY is the 256-byte modulus; e = 65537; GET_OBJECT_INFO reports 896 bytes', async () => {
    const pub = await publicKey(session, rsa.id);
    expect(pub.algorithm).toBe(Algorithm.RSA_2048);
    expect(pub.publicKey).toHaveLength(256);
    expect(pub.publicKey[0]! & 0x80).toBe(0x80);
    expect(rsa.key.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    const info = GetObjectInfo.decodeResponse(
      await session.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id: rsa.id, type: ObjectType.ASYMMETRIC_KEY })),
    );
    expect(info).toMatchObject({ algorithm: Algorithm.RSA_2048, length: 896, capabilities: SIGN_RSA });
  });

  test('DEVICE_INFO lists the RSA key, PKCS#1, PSS and MGF1 algorithms', () => {
    for (let a = Algorithm.RSA_PKCS1_SHA1; a <= Algorithm.RSA_4096; a++) expect(SUPPORTED_ALGORITHMS).toContain(a);
    for (let a = Algorithm.RSA_MGF1_SHA1; a <= Algorithm.RSA_MGF1_SHA512; a++) expect(SUPPORTED_ALGORITHMS).toContain(a);
  });

  test.each(['sha1', 'sha256', 'sha384', 'sha512'] as const)('SIGN_PKCS1 of a bare %s hash is a standard RSASSA-PKCS1-v1_5 signature', async (hash) => {
    const message = new Uint8Array(randomBytes(100));
    const sig = await signPkcs1(session, rsa.id, digest(hash, message));
    expect(sig).toHaveLength(256);
    expect(verifyPkcs1(rsa.key, hash, message, sig)).toBe(true);
    expect(verifyPkcs1(rsa.key, hash, label('another message'), sig)).toBe(false);
    // PKCS#1 v1.5 is deterministic.
    expect(await signPkcs1(session, rsa.id, digest(hash, message))).toEqual(sig);
  });

  test('SIGN_PKCS1 of an already encoded DigestInfo ‖ hash signs it as given', async () => {
    const message = label('pre-encoded');
    const h = digest('sha256', message);
    const encoded = new Uint8Array([...Buffer.from('3031300d060960864801650304020105000420', 'hex'), ...h]);
    const sig = await signPkcs1(session, rsa.id, encoded);
    expect(verifyPkcs1(rsa.key, 'sha256', message, sig)).toBe(true);
    expect(sig).toEqual(await signPkcs1(session, rsa.id, h));
  });

  test.each(['sha256', 'sha384', 'sha512'] as const)('SIGN_PSS with %s, MGF1 over the same hash and salt = hash length (AWS)', async (hash) => {
    const message = new Uint8Array(randomBytes(64));
    const h = digest(hash, message);
    const sig = await signPss(session, rsa.id, MGF1[hash], HASH_LENGTH[hash], h);
    expect(sig).toHaveLength(256);
    expect(verifyPss(rsa.key, hash, message, sig, HASH_LENGTH[hash])).toBe(true);
    // The salt length is part of what verifies.
    expect(verifyPss(rsa.key, hash, message, sig, HASH_LENGTH[hash] + 1)).toBe(false);
    expect(verifyPss(rsa.key, hash, label('another message'), sig, HASH_LENGTH[hash])).toBe(false);
    // The salt is random: the same hash signs differently each time.
    expect(await signPss(session, rsa.id, MGF1[hash], HASH_LENGTH[hash], h)).not.toEqual(sig);
  });

  test('SIGN_PSS with no salt and with the longest salt (python-yubihsm device test cases)', async () => {
    const message = label('salts');
    const h = digest('sha256', message);
    expect(verifyPss(rsa.key, 'sha256', message, await signPss(session, rsa.id, MGF1.sha256, 0, h), 0)).toBe(true);
    const max = 256 - 32 - 2;
    const long = await signPss(session, rsa.id, MGF1.sha256, max, h);
    expect(verifyPss(rsa.key, 'sha256', message, long, constants.RSA_PSS_SALTLEN_AUTO)).toBe(true);
    expect(await deviceCode(signPss(session, rsa.id, MGF1.sha256, max + 1, h))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test('SIGN_PSS with an MGF1 hash other than the message hash uses each where RFC 8017 says', async () => {
    // python-yubihsm signs SHA-256 with MGF1-SHA1. OpenSSL's one-shot verify ties MGF1 to the
    // message hash, so the signature must fail there while a same-hash one passes.
    const message = label('mixed');
    const sig = await signPss(session, rsa.id, MGF1.sha1, 32, digest('sha256', message));
    expect(verifyPss(rsa.key, 'sha256', message, sig, 32)).toBe(false);
  });

  test('bad input: lengths, MGF1 codes, salts', async () => {
    const h = digest('sha256', label('x'));
    expect(await deviceCode(signPkcs1(session, rsa.id, new Uint8Array(0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(signPkcs1(session, rsa.id, new Uint8Array(256 - 10)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(signPss(session, rsa.id, MGF1.sha256, 32, new Uint8Array(31)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(signPss(session, rsa.id, Algorithm.RSA_PSS_SHA256, 32, h))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(signPss(session, rsa.id, 36, 32, h))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(session.send(Command.SIGN_PSS, Uint8Array.of(0, 1, 33, 0)))).toBe(DeviceErrorCode.WRONG_LENGTH);
    expect(await deviceCode(signPkcs1(session, 0x4321, h))).toBe(DeviceErrorCode.OBJECT_NOT_FOUND);
  });

  test('RSA and EC keys answer only their own sign commands: INVALID_DATA', async () => {
    const ec = await generate(session, Algorithm.EC_P256, SIGN_RSA | Capability.SIGN_ECDSA);
    const h = digest('sha256', label('x'));
    expect(await deviceCode(signPkcs1(session, ec, h))).toBe(DeviceErrorCode.INVALID_DATA);
    expect(await deviceCode(signPss(session, ec, MGF1.sha256, 32, h))).toBe(DeviceErrorCode.INVALID_DATA);
    const both = await generate(session, Algorithm.RSA_2048, SIGN_RSA | Capability.SIGN_ECDSA);
    expect(await deviceCode(session.send(Command.SIGN_ECDSA, SignEcdsa.encodeRequest({ keyId: both, digest: h })))).toBe(DeviceErrorCode.INVALID_DATA);
  });

  test('sign-pkcs and sign-pss are separate capabilities, on the key and on the session', async () => {
    const h = digest('sha256', label('x'));
    const pkcsOnly = await generate(session, Algorithm.RSA_2048, Capability.SIGN_PKCS);
    expect(await signPkcs1(session, pkcsOnly, h)).toHaveLength(256);
    expect(await deviceCode(signPss(session, pkcsOnly, MGF1.sha256, 32, h))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    const pssOnly = await generate(session, Algorithm.RSA_2048, Capability.SIGN_PSS);
    expect(await signPss(session, pssOnly, MGF1.sha256, 32, h)).toHaveLength(256);
    expect(await deviceCode(signPkcs1(session, pssOnly, h))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
    // An auth key with sign-pkcs only may not use the key's sign-pss.
    const { encKey, macKey } = authKeyFromPassword('pkcs-signer');
    await session.send(
      Command.PUT_AUTHENTICATION_KEY,
      PutAuthenticationKey.encodeRequest({
        id: 0x40,
        label: label('pkcs-signer'),
        domains: 1,
        capabilities: Capability.SIGN_PKCS,
        algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
        delegatedCapabilities: 0n,
        encKey,
        macKey,
      }),
    );
    const signer = await TestSession.open(sim.url, 0x40, 'pkcs-signer');
    expect(await signPkcs1(signer, rsa.id, h)).toHaveLength(256);
    expect(await deviceCode(signPss(signer, rsa.id, MGF1.sha256, 32, h))).toBe(DeviceErrorCode.INSUFFICIENT_PERMISSIONS);
  });

  test('an RSA key survives a restart and signs for the same modulus', async () => {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { objects: Array<{ id: number; secret: string }> };
    // PKCS#8 DER: SEQUENCE, version 0, rsaEncryption.
    expect(state.objects.find((o) => o.id === rsa.id)?.secret).toMatch(/^308204..020100300d06092a864886f70d0101010500/);
    const before = (await publicKey(session, rsa.id)).publicKey;
    await sim.close();
    sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath: join(dir, 'state.json') });
    session = await TestSession.open(sim.url);
    expect((await publicKey(session, rsa.id)).publicKey).toEqual(before);
    const message = label('after restart');
    expect(verifyPkcs1(rsa.key, 'sha256', message, await signPkcs1(session, rsa.id, digest('sha256', message)))).toBe(true);
  });
});

describe.each([
  { name: 'rsa3072', algorithm: Algorithm.RSA_3072, bytes: 384, hash: 'sha384' as const },
  { name: 'rsa4096', algorithm: Algorithm.RSA_4096, bytes: 512, hash: 'sha512' as const },
])('$name (one key: generation is slow)', ({ algorithm, bytes, hash }) => {
  test('modulus, stored length, PKCS#1 v1.5 and PSS signatures', async () => {
    const id = await generate(session, algorithm);
    const pub = await publicKey(session, id);
    expect(pub.algorithm).toBe(algorithm);
    expect(pub.publicKey).toHaveLength(bytes);
    const key = rsaPublicKeyFromDevice(pub.publicKey);
    const info = GetObjectInfo.decodeResponse(
      await session.send(Command.GET_OBJECT_INFO, GetObjectInfo.encodeRequest({ id, type: ObjectType.ASYMMETRIC_KEY })),
    );
    expect(info.length).toBe((7 * bytes) / 2);
    const message = new Uint8Array(randomBytes(200));
    const h = new Uint8Array(createHash(hash).update(message).digest());
    const pkcs = await signPkcs1(session, id, h);
    expect(pkcs).toHaveLength(bytes);
    expect(verifyPkcs1(key, hash, message, pkcs)).toBe(true);
    const pss = await signPss(session, id, MGF1[hash], HASH_LENGTH[hash], h);
    expect(pss).toHaveLength(bytes);
    expect(verifyPss(key, hash, message, pss, HASH_LENGTH[hash])).toBe(true);
  }, 60_000);
});
