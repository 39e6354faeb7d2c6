import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSInvalidSignatureException,
  ListAliasesCommand,
  ListKeysCommand,
  SignCommand,
  VerifyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { mkdtempSync, rmSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1';
import { Signature as EthSignature, computeAddress, getBytes, hexlify, keccak256, recoverAddress } from 'ethers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostBridge, type RunningTeeBridge } from '@kmsgate/tee-bridge';
import { DEFAULT_TEST_BACKENDS, startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * The walking skeleton end to end: the unmodified AWS SDK for JavaScript v3 over SigV4, the real
 * server, SQLite, and each backend through its own protocol: the YubiHSM 2 simulator over the
 * connector protocol, tee-sim and our bridge daemon with the host build of our TA (tee/ta) over
 * the bridge socket. Signatures are checked with node:crypto, never with kmsgate code.
 */
let t: TestGateway;
let kms: KMSClient;
let bridgeDir: string;
let bridge: RunningTeeBridge;
beforeAll(async () => {
  bridgeDir = mkdtempSync(join(tmpdir(), 'kmsgate-e2e-tee-host-'));
  bridge = await startHostBridge({ socketPath: join(bridgeDir, 'bridge.sock'), storageDir: join(bridgeDir, 'storage') });
  t = await startTestGateway({ backends: [...DEFAULT_TEST_BACKENDS, { id: 'tee-host', type: 'tee', socketPath: bridge.socketPath }] });
  kms = t.client();
});
afterAll(async () => {
  await t.stop();
  await bridge.close();
  rmSync(bridgeDir, { recursive: true, force: true });
});

const enc = new TextEncoder();

function spkiKey(der: Uint8Array) {
  return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
}

/**
 * The same AWS-level tests once per backend, in one run: keys on the YubiHSM 2 simulator (the
 * default backend, no CustomKeyStoreId), on the TEE simulator (CustomKeyStoreId 'tee', so Origin
 * AWS_CLOUDHSM) and on our TA through the bridge daemon ('tee-host'). A spec a backend cannot hold
 * is skipped for it, by name. (A TEE whose bridge does not announce a key type refuses CreateKey
 * for it: tee-backend.test.ts.)
 */
const BACKENDS: { id: string; createKey: { CustomKeyStoreId?: string }; metadata: Record<string, string>; notApplicable: readonly string[] }[] = [
  { id: 'yubihsm', createKey: {}, metadata: { Origin: 'AWS_KMS' }, notApplicable: [] },
  { id: 'tee', createKey: { CustomKeyStoreId: 'tee' }, metadata: { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'tee' }, notApplicable: ['ECC_NIST_P384'] },
  {
    id: 'tee-host',
    createKey: { CustomKeyStoreId: 'tee-host' },
    metadata: { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'tee-host' },
    notApplicable: ['ECC_NIST_P384'],
  },
];

describe.each(BACKENDS)('backend $id', (backend) => {
  describe.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256', 'prime256v1'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384', 'secp384r1'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'sha256', 'secp256k1'],
  ] as const)('%s', (spec, alg, hash, curve) => {
    if (backend.notApplicable.includes(spec)) {
      it.skip(`does not apply: the ${backend.id} backend cannot hold ${spec} keys`, () => undefined);
      return;
    }
    let keyId: string;
    let arn: string;

    beforeAll(async () => {
      const out = await kms.send(new CreateKeyCommand({ ...backend.createKey, KeySpec: spec, KeyUsage: 'SIGN_VERIFY', Description: `e2e ${spec}` }));
      keyId = out.KeyMetadata!.KeyId!;
      arn = out.KeyMetadata!.Arn!;
      expect(out.KeyMetadata).toMatchObject({
        KeySpec: spec,
        CustomerMasterKeySpec: spec,
        KeyUsage: 'SIGN_VERIFY',
        KeyState: 'Enabled',
        Enabled: true,
        ...backend.metadata,
        KeyManager: 'CUSTOMER',
        SigningAlgorithms: [alg],
        Description: `e2e ${spec}`,
        AWSAccountId: '111122223333',
        MultiRegion: false,
      });
      expect(arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
      expect(out.KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    });

    it('serves an SPKI public key on the right curve', async () => {
      const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      expect(out).toMatchObject({ KeyId: arn, KeySpec: spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: [alg] });
      expect(spkiKey(out.PublicKey!).asymmetricKeyDetails?.namedCurve).toBe(curve);
    });

    it('signs RAW and DIGEST messages that node:crypto verifies, and Verify agrees', async () => {
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      const message = enc.encode(`pay 1 unit with ${spec}`);
      const raw = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: alg }));
      expect(raw).toMatchObject({ KeyId: arn, SigningAlgorithm: alg });
      expect(nodeVerify(hash, message, spkiKey(PublicKey!), raw.Signature!)).toBe(true);

      const digest = createHash(hash).update(message).digest();
      const dig = await kms.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg }));
      expect(nodeVerify(hash, message, spkiKey(PublicKey!), dig.Signature!)).toBe(true);

      const ok = await kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: dig.Signature!, SigningAlgorithm: alg }));
      expect(ok).toMatchObject({ KeyId: arn, SignatureValid: true, SigningAlgorithm: alg });
      const okDigest = await kms.send(
        new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature: raw.Signature!, SigningAlgorithm: alg }),
      );
      expect(okDigest.SignatureValid).toBe(true);

      await expect(
        kms.send(new VerifyCommand({ KeyId: keyId, Message: enc.encode('other'), Signature: raw.Signature!, SigningAlgorithm: alg })),
      ).rejects.toBeInstanceOf(KMSInvalidSignatureException);
    });
  });

  describe('Ethereum-style secp256k1', () => {
    it("signs a keccak-256 digest that @noble/curves verifies; low-S normalised by the client, it recovers the key's address", async () => {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ ...backend.createKey, KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }));
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }));
      const point = PublicKey!.subarray(PublicKey!.length - 65);
      const address = computeAddress(hexlify(point));
      for (let i = 0; i < 4; i++) {
        // What an AWS KMS signer for Ethereum does: Sign the transaction hash as a DIGEST.
        const digest = getBytes(keccak256(enc.encode(`ethereum transaction ${i} via ${backend.id}`)));
        const { Signature: der } = await kms.send(
          new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
        );
        // AWS KMS does not normalise s, and neither does the device: verify as plain ECDSA first.
        expect(secp256k1.verify(der!, digest, point, { prehash: false, lowS: false, format: 'der' })).toBe(true);
        const sig = secp256k1.Signature.fromDER(der!).normalizeS();
        expect(secp256k1.verify(sig.toCompactRawBytes(), digest, point, { prehash: false, lowS: true })).toBe(true);
        const r = hexlify(sig.toCompactRawBytes().subarray(0, 32));
        const s = hexlify(sig.toCompactRawBytes().subarray(32));
        expect([27, 28].map((v) => recoverAddress(digest, EthSignature.from({ r, s, v })))).toContain(address);
      }
    });
  });

  describe('ECC_NIST_EDWARDS25519', () => {
    it('signs a raw message with pure Ed25519 (64-byte signature) and refuses Ed25519ph', async () => {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ ...backend.createKey, KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' }));
      expect(KeyMetadata!.SigningAlgorithms).toEqual(['ED25519_SHA_512']);
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }));
      expect(PublicKey!.length).toBe(44);
      const message = enc.encode('solana message bytes');
      const out = await kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512' }));
      expect(out.Signature!.length).toBe(64);
      expect(nodeVerify(null, message, spkiKey(PublicKey!), out.Signature!)).toBe(true);
      const v = await kms.send(
        new VerifyCommand({ KeyId: KeyMetadata!.KeyId, Message: message, Signature: out.Signature!, SigningAlgorithm: 'ED25519_SHA_512' }),
      );
      expect(v.SignatureValid).toBe(true);

      const digest = createHash('sha512').update(message).digest();
      await expect(
        kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' })),
      ).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    });
  });

  describe('key identifiers', () => {
    it('accepts key id, key ARN, alias name and alias ARN, and the legacy CustomerMasterKeySpec', async () => {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ ...backend.createKey, CustomerMasterKeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }));
      expect(KeyMetadata!.KeySpec).toBe('ECC_SECG_P256K1');
      const alias = `alias/eth-signer-${KeyMetadata!.KeyId!.slice(0, 8)}`;
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId }));
      const forms = [KeyMetadata!.KeyId!, KeyMetadata!.Arn!, alias, `arn:aws:kms:us-east-1:111122223333:${alias}`];
      for (const KeyId of forms) {
        const d = await kms.send(new DescribeKeyCommand({ KeyId }));
        expect(d.KeyMetadata!.KeyId).toBe(KeyMetadata!.KeyId);
        const s = await kms.send(new SignCommand({ KeyId, Message: new Uint8Array(32).fill(9), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
        expect(s.KeyId).toBe(KeyMetadata!.Arn);
      }
      const listed = await kms.send(new ListAliasesCommand({ KeyId: KeyMetadata!.KeyId }));
      expect(listed.Aliases).toEqual([expect.objectContaining({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId })]);
    });
  });

  describe('ListKeys', () => {
    it('pages with Limit and Marker until Truncated is false, each key once', async () => {
      for (let i = 0; i < 5; i++) await kms.send(new CreateKeyCommand({ ...backend.createKey, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
      const all = await kms.send(new ListKeysCommand({}));
      expect(all.Truncated).toBe(false);
      const seen: string[] = [];
      let Marker: string | undefined;
      let pages = 0;
      do {
        const page = await kms.send(new ListKeysCommand({ Limit: 2, Marker }));
        pages++;
        expect(page.Keys!.length).toBeLessThanOrEqual(2);
        seen.push(...page.Keys!.map((k) => k.KeyId!));
        Marker = page.Truncated ? page.NextMarker : undefined;
        if (page.Truncated) expect(page.NextMarker).toBeTruthy();
      } while (Marker);
      expect(pages).toBe(Math.ceil(all.Keys!.length / 2));
      expect(seen).toEqual(all.Keys!.map((k) => k.KeyId));
      expect(new Set(seen).size).toBe(seen.length);
    });
  });

  describe('roles', () => {
    it('lets a signer sign but not create keys, and a revoked key stops working at once', async () => {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ ...backend.createKey, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
      const signerCreds = t.newKey('signer');
      const signer = t.client(signerCreds);
      await signer.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: enc.encode('x'), SigningAlgorithm: 'ECDSA_SHA_256' }));
      await expect(signer.send(new CreateKeyCommand({ ...backend.createKey, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      });
      expect(t.apiKeys.revoke(signerCreds.id)).toBe(true);
      await expect(
        signer.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: enc.encode('x'), SigningAlgorithm: 'ECDSA_SHA_256' })),
      ).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    });
  });
});

describe('regions', () => {
  it('accepts any region in the SigV4 scope (kmsgate has one key namespace per configured region)', async () => {
    const other = t.client(t.admin, { region: 'eu-west-1' });
    const out = await other.send(new ListKeysCommand({ Limit: 1 }));
    expect(out.Keys).toBeDefined();
  });
});
