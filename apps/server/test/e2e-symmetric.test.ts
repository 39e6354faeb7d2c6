import { randomBytes } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  UpdateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { CommitmentPolicy, KMS, KmsKeyringNode, buildClient, getClient } from '@aws-crypto/client-node';
import { startTestGateway, type Credentials, type TestGateway } from './helpers/gateway';
import { rejection } from './helpers/rejection';

/**
 * SYMMETRIC_DEFAULT keys end to end (docs/cryptography.md): the unmodified AWS SDK over SigV4 and
 * the AWS Encryption SDK for JavaScript, against the real server, SQLite and the YubiHSM 2
 * simulator over the connector protocol. Nothing of ours is mocked.
 */
let t: TestGateway;
let kms: KMSClient;
let keyId: string;
let arn: string;
let otherArn: string;
beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
  const a = await kms.send(new CreateKeyCommand({}));
  keyId = a.KeyMetadata!.KeyId!;
  arn = a.KeyMetadata!.Arn!;
  otherArn = (await kms.send(new CreateKeyCommand({ Description: 'other' }))).KeyMetadata!.Arn!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/envelope', TargetKeyId: keyId }));
});
afterAll(async () => {
  await t.stop();
});

const enc = new TextEncoder();
const context = { tenant: 'acme', purpose: 'e2e' };

function auditOf(requestId: string): { operation: string; decision: string; reason: string | null; key_id: string | null; summary: string | null }[] {
  return t.db.prepare('SELECT operation, decision, reason, key_id, summary FROM audit_log WHERE request_id = ?').all(requestId) as never;
}

describe('CreateKey with no arguments', () => {
  it('makes a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key, described as AWS describes one', async () => {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(KeyMetadata).toMatchObject({
      KeyId: keyId,
      Arn: arn,
      KeySpec: 'SYMMETRIC_DEFAULT',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      KeyState: 'Enabled',
      Enabled: true,
      Origin: 'AWS_KMS',
      MultiRegion: false,
    });
    expect(KeyMetadata!.SigningAlgorithms).toBeUndefined();
  });

  it('has no public key', async () => {
    expect(await rejection(kms.send(new GetPublicKeyCommand({ KeyId: keyId })))).toEqual({
      name: 'UnsupportedOperationException',
      message: `${arn} is a symmetric key: it has no public key.`,
    });
  });
});

describe('Encrypt and Decrypt', () => {
  it('round-trip 4,096 bytes with a context; Decrypt needs no KeyId and accepts the ARN, the alias or the id', async () => {
    const plaintext = randomBytes(4096);
    const e = await kms.send(new EncryptCommand({ KeyId: 'alias/envelope', Plaintext: plaintext, EncryptionContext: context }));
    expect(e.KeyId).toBe(arn);
    expect(e.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    // docs/cryptography.md: 146 bytes of overhead, the key id in the clear at bytes 1-16.
    expect(e.CiphertextBlob).toHaveLength(4096 + 146);
    expect(Buffer.from(e.CiphertextBlob!.subarray(1, 17)).toString('hex')).toBe(keyId.replace(/-/g, ''));
    expect(Buffer.from(e.CiphertextBlob!).includes(plaintext.subarray(0, 32))).toBe(false);
    // Reordered context entries are the same context.
    for (const KeyId of [undefined, arn, keyId, 'alias/envelope']) {
      const d = await kms.send(
        new DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: { purpose: 'e2e', tenant: 'acme' }, ...(KeyId ? { KeyId } : {}) }),
      );
      expect(Buffer.from(d.Plaintext!).equals(plaintext)).toBe(true);
      expect(d.KeyId).toBe(arn);
      expect(d.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    }
  });

  it('makes a new ciphertext each time', async () => {
    const a = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('same') }));
    const b = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('same') }));
    expect(Buffer.from(a.CiphertextBlob!).equals(Buffer.from(b.CiphertextBlob!))).toBe(false);
  });

  it('refuses a changed, missing or extra context, and a context on a ciphertext made without one, with an empty InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('secret'), EncryptionContext: context }));
    const plain = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('secret') }))).CiphertextBlob;
    const cases: [Uint8Array, Record<string, string> | undefined][] = [
      [CiphertextBlob!, { tenant: 'acme', purpose: 'E2E' }],
      [CiphertextBlob!, { tenant: 'acme' }],
      [CiphertextBlob!, undefined],
      [CiphertextBlob!, { ...context, extra: '' }],
      // Unambiguous encoding: the same concatenated characters split differently.
      [CiphertextBlob!, { tenan: 'tacme', purpose: 'e2e' }],
      [plain!, { tenant: 'acme' }],
    ];
    for (const [blob, EncryptionContext] of cases) {
      expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob: blob, ...(EncryptionContext ? { EncryptionContext } : {}) })))).toEqual({
        name: 'InvalidCiphertextException',
        message: '',
      });
    }
  });

  it('refuses truncated, bit-flipped and foreign ciphertexts with InvalidCiphertextException and audits each refusal', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('tamper me'), EncryptionContext: context }));
    const blob = CiphertextBlob!;
    const variants: Uint8Array[] = [
      blob.subarray(0, blob.length - 1),
      blob.subarray(0, 30),
      blob.subarray(0, 1),
      Uint8Array.of(2, ...blob.subarray(1)),
      randomBytes(200),
      new Uint8Array(blob.length),
    ];
    // Every field: version, key id, material version, algorithm, sealed length, sealed key, IV, body, tag.
    for (const at of [0, 5, 19, 21, 23, 24, 60, 117, 118, 130, blob.length - 17, blob.length - 1]) {
      const v = blob.slice();
      v[at]! ^= 0x01;
      variants.push(v);
    }
    for (const v of variants) {
      const e = await kms.send(new DecryptCommand({ CiphertextBlob: v, EncryptionContext: context })).then(
        () => undefined,
        (err: unknown) => err as Error & { $metadata: { requestId: string } },
      );
      expect([e?.name, e?.message]).toEqual(['InvalidCiphertextException', 'UnknownError']);
      expect(auditOf(e!.$metadata.requestId)).toEqual([
        expect.objectContaining({ operation: 'Decrypt', decision: 'deny', reason: 'InvalidCiphertextException' }),
      ]);
    }
    // The untouched one still opens.
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }))).Plaintext!).toString()).toBe('tamper me');
  });

  it('answers InvalidCiphertextException on the wire as AWS does: an empty message', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('x'), EncryptionContext: context }));
    const r = await t.call('Decrypt', { CiphertextBlob: Buffer.from(CiphertextBlob!).toString('base64') });
    expect([r.status, r.headers.get('x-amzn-errortype'), r.json]).toEqual([
      400,
      'InvalidCiphertextException',
      { __type: 'InvalidCiphertextException', message: '' },
    ]);
  });

  it('refuses another KeyId with IncorrectKeyException (AWS-recorded text)', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('x') }));
    expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob, KeyId: otherArn })))).toEqual({
      name: 'IncorrectKeyException',
      message: 'The key ID in the request does not identify a CMK that can perform this operation.',
    });
  });

  it('validates input as AWS does', async () => {
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(4097) })))).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    });
    expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(6145) })))).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144",
    });
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: 'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.',
    });
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('x'), DryRun: true })))).toEqual({
      name: 'DryRunOperationException',
      message: 'The request would have succeeded, but the DryRun option is set.',
    });
  });

  it('keeps key usages apart: no Sign with a symmetric key, no Encrypt with a signing key', async () => {
    expect(await rejection(kms.send(new SignCommand({ KeyId: keyId, Message: enc.encode('m'), SigningAlgorithm: 'ECDSA_SHA_256' })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: `${arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`,
    });
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: signing.KeyId, Plaintext: enc.encode('m') })))).toEqual({
      name: 'InvalidKeyUsageException',
      message: `${signing.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    });
  });

  it('follows the key state: disabled is DisabledException both ways, re-enabled works again, pending deletion is KMSInvalidStateException', async () => {
    const k = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode('state') }));
    await kms.send(new DisableKeyCommand({ KeyId: k.KeyId }));
    const disabled = { name: 'DisabledException', message: `${k.Arn} is disabled.` };
    expect(await rejection(kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: enc.encode('state') })))).toEqual(disabled);
    expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob })))).toEqual(disabled);
    await kms.send(new EnableKeyCommand({ KeyId: k.KeyId }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe('state');
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }));
    expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob })))).toEqual({
      name: 'KMSInvalidStateException',
      message: `${k.Arn} is pending deletion.`,
    });
  });

  it('audits every success with the key and the context, never the plaintext', async () => {
    const e = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('audited plaintext'), EncryptionContext: context }));
    const d = await kms.send(new DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: context }));
    for (const [op, id] of [
      ['Encrypt', e.$metadata.requestId!],
      ['Decrypt', d.$metadata.requestId!],
    ] as const) {
      const records = auditOf(id);
      expect(records).toEqual([
        { operation: op, decision: 'accept', reason: null, key_id: keyId, summary: JSON.stringify({ EncryptionContext: context, deviceUses: { [keyId]: 1 } }) },
      ]);
    }
    // A refusal after the device opened the data key (the context is wrong) names that device use:
    // `kmsgate hsm audit` matches it to the device's UNWRAP_DATA. An altered sealed key made none.
    const wrong = await kms.send(new DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: { tenant: 'other' } })).then(
      () => undefined,
      (err: { $metadata: { requestId: string } }) => err,
    );
    expect(auditOf(wrong!.$metadata.requestId)).toEqual([
      expect.objectContaining({ decision: 'deny', reason: 'InvalidCiphertextException', summary: JSON.stringify({ deviceUses: { [keyId]: 1 } }) }),
    ]);
    const altered = e.CiphertextBlob!.slice();
    altered[60]! ^= 1;
    const refused = await kms.send(new DecryptCommand({ CiphertextBlob: altered, EncryptionContext: context })).then(
      () => undefined,
      (err: { $metadata: { requestId: string } }) => err,
    );
    expect(auditOf(refused!.$metadata.requestId)).toEqual([expect.objectContaining({ decision: 'deny', reason: 'InvalidCiphertextException', summary: null })]);
    const all = JSON.stringify(t.db.prepare('SELECT * FROM audit_log').all());
    expect(all).not.toContain(Buffer.from('audited plaintext').toString('hex'));
    expect(all).not.toContain('audited plaintext');
  });

  it('is open to a signer only for the keys in its scope', async () => {
    const k = t.apiKeys.generate({ label: 'scoped', role: 'signer', scope: ['alias/envelope'] });
    const scoped: Credentials = { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
    const client = t.client(scoped);
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('scoped') }));
    expect(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe('scoped');
    const other = (await kms.send(new EncryptCommand({ KeyId: otherArn, Plaintext: enc.encode('not yours') }))).CiphertextBlob;
    const otherId = otherArn.split('/')[1]!;
    const denied = { name: 'AccessDeniedException', message: `Denied by kmsgate (KEY_NOT_IN_SCOPE): key ${otherId} is not in the API key's scope` };
    expect(await rejection(client.send(new EncryptCommand({ KeyId: otherArn, Plaintext: enc.encode('x') })))).toEqual(denied);
    expect(await rejection(client.send(new DecryptCommand({ CiphertextBlob: other })))).toEqual(denied);
    expect(await rejection(client.send(new GenerateDataKeyCommand({ KeyId: otherArn, KeySpec: 'AES_256' })))).toEqual(denied);
  });
});

describe('the gates shared with Sign', () => {
  async function killSwitch(body: Record<string, unknown>) {
    const r = await fetch(`${t.url}/admin/kill-switch`, {
      method: 'PUT',
      headers: { 'x-api-key': t.admin.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(200);
  }

  it('the kill switch of a key stops it encrypting and decrypting, and only it', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('kill') }));
    await killSwitch({ engaged: true, key: 'alias/envelope', reason: 'drill' });
    try {
      const stopped = { name: 'AccessDeniedException', message: expect.stringMatching(/^Denied by kmsgate \(KILL_SWITCH_KEY\): /) };
      expect(await rejection(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('kill') })))).toEqual(stopped);
      expect(await rejection(kms.send(new DecryptCommand({ CiphertextBlob })))).toEqual(stopped);
      expect(await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })))).toEqual(stopped);
      await kms.send(new EncryptCommand({ KeyId: otherArn, Plaintext: enc.encode('other key') }));
    } finally {
      await killSwitch({ engaged: false, key: keyId });
    }
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString()).toBe('kill');
  });

  it('an alias of a symmetric key cannot move to a signing key', async () => {
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    expect((await rejection(kms.send(new UpdateAliasCommand({ AliasName: 'alias/envelope', TargetKeyId: signing.KeyId })))).name).toBe('ValidationException');
  });
});

describe('GenerateDataKey and GenerateDataKeyWithoutPlaintext', () => {
  it('returns a data key of the size asked for and its ciphertext, which Decrypt opens under the same context', async () => {
    for (const [input, length] of [
      [{ KeySpec: 'AES_256' as const }, 32],
      [{ KeySpec: 'AES_128' as const }, 16],
      [{ NumberOfBytes: 1 }, 1],
      [{ NumberOfBytes: 1024 }, 1024],
    ] as const) {
      const g = await kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/envelope', EncryptionContext: context, GrantTokens: ['ignored'], ...input }));
      expect(g.KeyId).toBe(arn);
      expect(g.Plaintext).toHaveLength(length);
      const d = await kms.send(new DecryptCommand({ CiphertextBlob: g.CiphertextBlob, EncryptionContext: context }));
      expect(Buffer.from(d.Plaintext!).equals(Buffer.from(g.Plaintext!))).toBe(true);
    }
    const w = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    expect(w).not.toHaveProperty('Plaintext');
    expect(w.KeyId).toBe(arn);
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: w.CiphertextBlob }))).Plaintext).toHaveLength(32);
  });

  it("wants exactly one of KeySpec and NumberOfBytes, within AWS's limits", async () => {
    const either = { name: 'ValidationException', message: 'Specify either KeySpec or NumberOfBytes, but not both.' };
    expect(await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: keyId })))).toEqual(either);
    expect(await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', NumberOfBytes: 32 })))).toEqual(either);
    expect(await rejection(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId })))).toEqual(either);
    expect(await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 0 })))).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    });
    expect(await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 1025 })))).toEqual({
      name: 'ValidationException',
      message: "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    });
  });
});

describe('ReEncrypt', () => {
  it('moves a ciphertext to another key and context without returning the plaintext', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('moving'), EncryptionContext: context }));
    const r = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob,
        SourceEncryptionContext: context,
        DestinationKeyId: otherArn,
        DestinationEncryptionContext: { moved: 'yes' },
      }),
    );
    expect(r).toMatchObject({
      SourceKeyId: arn,
      KeyId: otherArn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
    expect(r).not.toHaveProperty('Plaintext');
    const d = await kms.send(new DecryptCommand({ CiphertextBlob: r.CiphertextBlob, EncryptionContext: { moved: 'yes' } }));
    expect([d.KeyId, Buffer.from(d.Plaintext!).toString()]).toEqual([otherArn, 'moving']);
    expect(
      await rejection(kms.send(new ReEncryptCommand({ CiphertextBlob, SourceEncryptionContext: context, SourceKeyId: otherArn, DestinationKeyId: keyId }))),
    ).toEqual({ name: 'IncorrectKeyException', message: 'The key ID in the request does not identify a CMK that can perform this operation.' });
    expect(await rejection(kms.send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: keyId })))).toEqual({
      name: 'InvalidCiphertextException',
      message: '',
    });
  });
});

describe('the AWS Encryption SDK for JavaScript through kmsgate', () => {
  function keyring(generatorKeyId: string) {
    const clientProvider = getClient(KMS, {
      endpoint: t.url,
      credentials: { accessKeyId: t.admin.accessKeyId, secretAccessKey: t.admin.secretAccessKey },
    });
    return new KmsKeyringNode({ generatorKeyId, clientProvider });
  }

  it.each([
    ['4 KiB', 4096],
    ['1 MiB', 1 << 20],
  ])(
    'encrypts and decrypts %s with a context, and refuses a tampered message',
    async (_name, size) => {
      const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const ring = keyring(arn);
      const plaintext = randomBytes(size);
      const { result } = await encrypt(ring, plaintext, { encryptionContext: { app: 'kmsgate-e2e' } });
      const { plaintext: out, messageHeader } = await decrypt(ring, result);
      expect(Buffer.from(out).equals(plaintext)).toBe(true);
      expect(messageHeader.encryptionContext).toMatchObject({ app: 'kmsgate-e2e' });
      expect(messageHeader.encryptedDataKeys.map((k) => [k.providerId, k.providerInfo])).toEqual([['aws-kms', arn]]);
      const tampered = Buffer.from(result);
      tampered[tampered.length - 200]! ^= 1;
      await expect(decrypt(ring, tampered)).rejects.toThrow();
    },
    120_000,
  );
});

describe('across a restart', () => {
  it('a ciphertext made before a restart decrypts after it', async () => {
    const dataDir = t.dataDir;
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('durable'), EncryptionContext: context }));
    await t.stop({ keepData: true });
    t = await startTestGateway({ dataDir });
    kms = t.client();
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }))).Plaintext!).toString()).toBe('durable');
  });
});
