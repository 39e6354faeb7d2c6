import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetPublicKeyCommand,
  ListKeysCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { CommitmentPolicy, KMS, KmsKeyringNode, buildClient, getClient } from '@aws-crypto/client-node';
import type { TeeBackend } from '@kmsgate/tee';
import { startHostBridge, type RunningTeeBridge } from '@kmsgate/tee-bridge';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { rejection } from './helpers/rejection';

/**
 * SYMMETRIC_DEFAULT keys on the TEE backend end to end (docs/cryptography.md, "The TEE backend"):
 * the unmodified AWS SDK and the AWS Encryption SDK against the real server and SQLite, with the
 * TEE as the default backend, once with tee-sim and once with our bridge daemon in front of the
 * host build of our TA (tee/ta, the C that runs on a board), each over the bridge socket. The
 * YubiHSM 2 simulator is the second backend, for ciphertexts that cross backends.
 */
type Target = { name: string; backend(dir: string): Promise<{ config: Record<string, unknown>; close(): Promise<void> }> };
const TARGETS: Target[] = [
  { name: 'tee-sim', backend: async () => ({ config: { id: 'tee', type: 'tee', embedded: true }, close: async () => undefined }) },
  {
    name: 'tee-bridge with the host build of the TA',
    backend: async (dir) => {
      const bridge: RunningTeeBridge = await startHostBridge({ socketPath: join(dir, 'bridge.sock'), storageDir: join(dir, 'storage') });
      return { config: { id: 'tee', type: 'tee', socketPath: bridge.socketPath }, close: () => bridge.close() };
    },
  },
];

const enc = new TextEncoder();
const context = { tenant: 'acme', purpose: 'tee-e2e' };
/** version(1) key id(16) material version(4) algorithm(1) sealed length(2) ‖ sealed(92) ‖ IV(12) ‖ … ‖ tag(16). */
const OVERHEAD = 24 + 92 + 12 + 16;

describe.each(TARGETS)('$name', (target) => {
  let dir: string;
  let closeBackend: () => Promise<void>;
  let t: TestGateway;
  let kms: KMSClient;
  let keyId: string;
  let arn: string;
  let otherArn: string;
  let hsmArn: string;

  /** The gateway (on `dataDir`, or a new one) and the TEE, which keeps its storage in `dir`. */
  async function start(dataDir?: string): Promise<void> {
    const b = await target.backend(dir);
    closeBackend = b.close;
    // The TEE first: it is the default backend, so CreateKey with no arguments lands there.
    t = await startTestGateway({ dataDir, backends: [b.config, { id: 'yubihsm', type: 'yubihsm', embedded: true }] });
    kms = t.client();
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmsgate-e2e-sym-tee-'));
    await start();
    const k = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    keyId = k.KeyId!;
    arn = k.Arn!;
    otherArn = (await kms.send(new CreateKeyCommand({ Description: 'other TEE key' }))).KeyMetadata!.Arn!;
    hsmArn = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: 'yubihsm' }))).KeyMetadata!.Arn!;
  });
  afterAll(async () => {
    await t.stop();
    await closeBackend();
    rmSync(dir, { recursive: true, force: true });
  });

  const tee = () => t.gateway.backends.registry.find('tee') as TeeBackend;
  /** What a refused request must leave as it was: the TA's sealed state (its rollback counter) and the key list. */
  async function state(): Promise<[number, number]> {
    return [await tee().rollbackCounter(), (await kms.send(new ListKeysCommand({}))).Keys!.length];
  }

  it('CreateKey with no arguments makes a SYMMETRIC_DEFAULT key in the TEE', async () => {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(KeyMetadata).toMatchObject({
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      Origin: 'AWS_KMS',
      KeyState: 'Enabled',
    });
    // The key went to the TA: its sealed state was written once more.
    const counter = await tee().rollbackCounter();
    await kms.send(new CreateKeyCommand({ Description: 'one more' }));
    expect(await tee().rollbackCounter()).toBe(counter + 1);
    expect(await rejection(kms.send(new GetPublicKeyCommand({ KeyId: keyId })))).toMatchObject({ name: 'UnsupportedOperationException' });
    expect(await rejection(kms.send(new SignCommand({ KeyId: keyId, Message: enc.encode('m'), SigningAlgorithm: 'ECDSA_SHA_256' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: `${arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`,
    });
  });

  it('Encrypt and Decrypt round-trip 4,096 bytes under a context; Decrypt needs no KeyId', async () => {
    const plaintext = randomBytes(4096);
    const e = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }));
    expect([e.KeyId, e.EncryptionAlgorithm]).toEqual([arn, 'SYMMETRIC_DEFAULT']);
    // docs/cryptography.md: the TEE's sealed data key is 92 bytes, so 144 bytes of overhead.
    expect(e.CiphertextBlob).toHaveLength(4096 + OVERHEAD);
    expect(Buffer.from(e.CiphertextBlob!.subarray(22, 24)).readUInt16BE()).toBe(92);
    for (const KeyId of [undefined, arn]) {
      const d = await kms.send(new DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: { purpose: 'tee-e2e', tenant: 'acme' }, KeyId }));
      expect([d.KeyId, Buffer.from(d.Plaintext!).equals(plaintext)]).toEqual([arn, true]);
    }
    expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: context, KeyId: otherArn })))).toEqual({
      name: 'IncorrectKeyException',
      message: 'The key ID in the request does not identify a CMK that can perform this operation.',
    });
  });

  it('refuses truncated, bit-flipped, spliced, foreign and wrong-context ciphertexts with an empty InvalidCiphertextException, changing nothing', async () => {
    const blob = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('tamper me'), EncryptionContext: context }))).CiphertextBlob!;
    const other = (await kms.send(new EncryptCommand({ KeyId: otherArn, Plaintext: enc.encode('tamper me'), EncryptionContext: context }))).CiphertextBlob!;
    const onHsm = (await kms.send(new EncryptCommand({ KeyId: hsmArn, Plaintext: enc.encode('tamper me'), EncryptionContext: context }))).CiphertextBlob!;
    const before = await state();
    const cases: [Uint8Array, Record<string, string> | undefined][] = [
      [blob.subarray(0, blob.length - 1), context],
      [blob.subarray(0, 60), context],
      [randomBytes(300), context],
      [blob, { ...context, tenant: 'other' }],
      [blob, undefined],
      // The other key's sealed data key under this key's header: the TA's GCM tag refuses it.
      [Uint8Array.of(...blob.subarray(0, 24), ...other.subarray(24)), context],
      // A YubiHSM 2 ciphertext relabelled with this key's id: another backend's sealing.
      [Uint8Array.of(...blob.subarray(0, 22), ...onHsm.subarray(22)), context],
    ];
    // version, key id, material version, algorithm, sealed length, the sealed nonce, its body and tag, IV, body, tag.
    for (const at of [0, 5, 19, 21, 23, 24, 36, 110, 116, 120, blob.length - 17, blob.length - 1]) {
      const v = blob.slice();
      v[at]! ^= 0x01;
      cases.push([v, context]);
    }
    for (const [CiphertextBlob, EncryptionContext] of cases)
      expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })))).toEqual({ name: 'InvalidCiphertextException', message: '' });
    expect(await state()).toEqual(before);
    // The untouched one still opens.
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }))).Plaintext!).toString()).toBe('tamper me');
  });

  it('GenerateDataKey and GenerateDataKeyWithoutPlaintext make data keys that Decrypt opens', async () => {
    const g = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }));
    expect([g.KeyId, g.Plaintext!.length, g.CiphertextBlob!.length]).toEqual([arn, 32, 32 + OVERHEAD]);
    const d = await kms.send(new DecryptCommand({ CiphertextBlob: g.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(d.Plaintext!).equals(Buffer.from(g.Plaintext!))).toBe(true);
    const w = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 1024 }));
    expect(w).not.toHaveProperty('Plaintext');
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: w.CiphertextBlob }))).Plaintext).toHaveLength(1024);
  });

  it('ReEncrypt moves a ciphertext from the TEE to the YubiHSM 2 and back', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('moving'), EncryptionContext: context }));
    const toHsm = await kms.send(new ReEncryptCommand({ CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: hsmArn }));
    expect([toHsm.SourceKeyId, toHsm.KeyId]).toEqual([arn, hsmArn]);
    // The YubiHSM 2 seals into 94 bytes (WRAP_DATA), the TEE into 92: same format, another device layer.
    expect(Buffer.from(toHsm.CiphertextBlob!.subarray(22, 24)).readUInt16BE()).toBe(94);
    const back = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: toHsm.CiphertextBlob, DestinationKeyId: otherArn, DestinationEncryptionContext: { back: 'yes' } }),
    );
    const d = await kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob, EncryptionContext: { back: 'yes' } }));
    expect([d.KeyId, Buffer.from(d.Plaintext!).toString()]).toEqual([otherArn, 'moving']);
  });

  it('the AWS Encryption SDK round-trips through kmsgate with a context and refuses a tampered message', async () => {
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const clientProvider = getClient(KMS, { endpoint: t.url, credentials: { accessKeyId: t.admin.accessKeyId, secretAccessKey: t.admin.secretAccessKey } });
    const ring = new KmsKeyringNode({ generatorKeyId: arn, clientProvider });
    const plaintext = randomBytes(64 * 1024);
    const { result } = await encrypt(ring, plaintext, { encryptionContext: { app: 'kmsgate-tee-e2e' } });
    const { plaintext: out, messageHeader } = await decrypt(ring, result);
    expect(Buffer.from(out).equals(plaintext)).toBe(true);
    expect(messageHeader.encryptionContext).toMatchObject({ app: 'kmsgate-tee-e2e' });
    expect(messageHeader.encryptedDataKeys.map((k) => [k.providerId, k.providerInfo])).toEqual([['aws-kms', arn]]);
    const tampered = Buffer.from(result);
    tampered[tampered.length - 100]! ^= 1;
    await expect(decrypt(ring, tampered)).rejects.toThrow();
  }, 120_000);

  it('a key rotated on demand makes a new AES key in the TEE and still decrypts what it encrypted before', async () => {
    const k = (await kms.send(new CreateKeyCommand({ Description: 'rotated in the TEE' }))).KeyMetadata!;
    const before = (await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode('before'), EncryptionContext: context }))).CiphertextBlob!;
    const counter = await tee().rollbackCounter();
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
    // The new key material is a new AES key in the TA's sealed state.
    expect(await tee().rollbackCounter()).toBe(counter + 1);
    const after = (await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode('after'), EncryptionContext: context }))).CiphertextBlob!;
    // Material version 0, then 1 (bytes 17-20 of the header).
    expect([Buffer.from(before.subarray(17, 21)).readUInt32BE(), Buffer.from(after.subarray(17, 21)).readUInt32BE()]).toEqual([0, 1]);
    for (const [blob, text] of [
      [before, 'before'],
      [after, 'after'],
    ] as const)
      expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }))).Plaintext!).toString()).toBe(text);
  });

  it('a ciphertext made before a restart of the gateway and the TEE decrypts after it', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('durable'), EncryptionContext: context }));
    const dataDir = t.dataDir;
    await t.stop({ keepData: true });
    await closeBackend();
    await start(dataDir);
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).Plaintext!).toString()).toBe('durable');
  });
});
