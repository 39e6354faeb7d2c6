import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Key rotation of SYMMETRIC_DEFAULT keys (docs/cryptography.md, "Key rotation") end to end: the
 * unmodified AWS SDK against the real server, SQLite file and YubiHSM 2 simulator over the connector
 * protocol. The gateway's clock is moved, never waited for.
 */
const DAY = 86_400_000;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);
let t: TestGateway;
/** A client whose SigV4 clock matches the gateway's, wherever the test has moved it. */
const kms = (): KMSClient => t.client(t.admin, { systemClockOffset: offsetMs });
const ACCOUNT = 'arn:aws:kms:us-east-1:111122223333';
const arnOf = (keyId: string) => `${ACCOUNT}:key/${keyId}`;
const enc = new TextEncoder();

beforeAll(async () => {
  t = await startTestGateway({ now });
});
afterAll(async () => {
  await t?.stop();
});
beforeEach(() => {
  offsetMs = 0;
});

async function newKey(input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}): Promise<string> {
  return (await kms().send(new CreateKeyCommand(input))).KeyMetadata!.KeyId!;
}

/** The AWS JSON error body a raw call gets: what every SDK shows as name and message. */
async function refusal(target: string, body: object): Promise<{ __type: string; message: string }> {
  const r = await t.call(target, body);
  expect(r.status).toBe(400);
  return r.json as { __type: string; message: string };
}

const deviceObjects = () => t.gateway.backends.simulators.get('yubihsm')!.device.objectCount();
const rotationsOf = async (KeyId: string) => (await kms().send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;

describe('RotateKeyOnDemand', () => {
  it('makes a new current key material; what either material encrypted decrypts, also after a restart', async () => {
    const offset = 0;
    const clock = () => new Date(Date.now() + offset);
    const first = await startTestGateway({ now: clock });
    const c = first.client();
    const keyId = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const arn = arnOf(keyId);
    const context = { purpose: 'rotation' };
    const before = await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('before'), EncryptionContext: context }));
    const firstMaterial = (await c.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId!;
    expect(firstMaterial).toMatch(/^[0-9a-f]{64}$/);
    const objects = first.gateway.backends.simulators.get('yubihsm')!.device.objectCount();

    expect(await c.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).toMatchObject({ KeyId: arn });
    // One new wrap key in the device: the new material.
    expect(first.gateway.backends.simulators.get('yubihsm')!.device.objectCount()).toBe(objects + 1);
    const after = await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('after'), EncryptionContext: context }));
    // The header names the material version (docs/cryptography.md, "Ciphertext format").
    const versionOf = (blob: Uint8Array) => new DataView(blob.buffer, blob.byteOffset).getUint32(17);
    expect([versionOf(before.CiphertextBlob!), versionOf(after.CiphertextBlob!)]).toEqual([0, 1]);

    const secondMaterial = (await c.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId!;
    expect(secondMaterial).not.toBe(firstMaterial);
    const d0 = await c.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: context }));
    const d1 = await c.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob, EncryptionContext: context }));
    expect([new TextDecoder().decode(d0.Plaintext), d0.KeyMaterialId]).toEqual(['before', firstMaterial]);
    expect([new TextDecoder().decode(d1.Plaintext), d1.KeyMaterialId]).toEqual(['after', secondMaterial]);
    const listed = await c.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    expect(listed.Rotations).toEqual([
      { KeyId: arn, KeyMaterialId: secondMaterial, KeyMaterialState: 'CURRENT', RotationDate: expect.any(Date), RotationType: 'ON_DEMAND' },
    ]);
    expect(listed.Truncated).toBe(false);

    await first.stop({ keepData: true });
    const second = await startTestGateway({ now: clock, dataDir: first.dataDir });
    try {
      const c2 = second.client();
      const again0 = await c2.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: context }));
      const again1 = await c2.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob, EncryptionContext: context, KeyId: keyId }));
      expect(new TextDecoder().decode(again0.Plaintext)).toBe('before');
      expect(new TextDecoder().decode(again1.Plaintext)).toBe('after');
      // New ciphertexts keep using the rotated material.
      const dk = await c2.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
      expect([versionOf(dk.CiphertextBlob!), dk.KeyMaterialId]).toEqual([1, secondMaterial]);
      // ReEncrypt from the old material to the current one names both.
      const re = await c2.send(new ReEncryptCommand({ CiphertextBlob: before.CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: keyId }));
      expect([re.SourceKeyMaterialId, re.DestinationKeyMaterialId, versionOf(re.CiphertextBlob!)]).toEqual([firstMaterial, secondMaterial, 1]);
    } finally {
      await second.stop();
    }
  });

  it('does not change the automatic schedule', async () => {
    const keyId = await newKey();
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    const { NextRotationDate } = await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    await kms().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    expect((await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).NextRotationDate).toEqual(NextRotationDate);
  });

  it('allows 25 rotations per key, then LimitExceededException and nothing changes', async () => {
    const keyId = await newKey();
    for (let i = 0; i < 25; i++) await kms().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const objects = deviceObjects();
    expect(await refusal('RotateKeyOnDemand', { KeyId: keyId })).toEqual({
      __type: 'LimitExceededException',
      message: `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${arnOf(keyId)}`,
    });
    expect(deviceObjects()).toBe(objects);
    expect(await rotationsOf(keyId)).toHaveLength(26);
  });

  it('is ConflictException while another rotation of the key runs, and OnDemandRotationStartDate shows it', async () => {
    const keyId = await newKey();
    // Another gateway on the same store is in the middle of a rotation of this key.
    const startedAt = now().getTime();
    t.db.prepare("INSERT INTO key_rotation (key_id, started_at, started_type) VALUES (?, ?, 'ON_DEMAND')").run(keyId, startedAt);
    const status = await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(status.OnDemandRotationStartDate?.getTime()).toBe(startedAt);
    const objects = deviceObjects();
    expect((await refusal('RotateKeyOnDemand', { KeyId: keyId })).__type).toBe('ConflictException');
    expect(deviceObjects()).toBe(objects);
    expect(await rotationsOf(keyId)).toHaveLength(1);
    // A mark that old belongs to a process that died: it is taken over.
    offsetMs = 11 * 60_000;
    await kms().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    expect(await rotationsOf(keyId)).toHaveLength(2);
    expect((await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).OnDemandRotationStartDate).toBeUndefined();
  });

  it('is ConflictException when the automatic rotation is due within 20 minutes', async () => {
    const keyId = await newKey();
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    offsetMs = 90 * DAY - 10 * 60_000;
    expect((await refusal('RotateKeyOnDemand', { KeyId: keyId })).__type).toBe('ConflictException');
    expect(await rotationsOf(keyId)).toHaveLength(1);
  });

  it('is an admin operation: a signer key gets AccessDeniedException', async () => {
    const keyId = await newKey();
    const signer = t.newKey('signer');
    const r = await t.call('RotateKeyOnDemand', { KeyId: keyId }, { 'x-api-key': signer.apiKey });
    expect(r.json.__type).toBe('AccessDeniedException');
    expect(await rotationsOf(keyId)).toHaveLength(1);
    // Reading the rotations is not.
    const listed = await t.call('ListKeyRotations', { KeyId: keyId }, { 'x-api-key': signer.apiKey });
    expect(listed.json).toEqual({ Rotations: [], Truncated: false });
  });
});

describe('on a TEE backend', () => {
  it('a rotation makes a new AES key in the trusted application; both materials decrypt', async () => {
    // The TEE first: it is the default backend, so CreateKey with no arguments lands there (Origin AWS_KMS).
    const tee = await startTestGateway({ backends: [{ id: 'tee', type: 'tee', embedded: true }] });
    try {
      const c = tee.client();
      const keyId = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const before = await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('tee before') }));
      await c.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const after = await c.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('tee after') }));
      const handles = tee.db
        .prepare('SELECT handle FROM keys WHERE key_id = ? UNION ALL SELECT handle FROM key_materials WHERE key_id = ?')
        .all(keyId, keyId) as { handle: string }[];
      expect(new Set(handles.map((h) => h.handle)).size).toBe(2);
      for (const [blob, text] of [
        [before.CiphertextBlob!, 'tee before'],
        [after.CiphertextBlob!, 'tee after'],
      ] as const)
        expect(new TextDecoder().decode((await c.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe(text);
    } finally {
      await tee.stop();
    }
  });
});

describe('automatic rotation', () => {
  it('GetKeyRotationStatus reports what Enable/DisableKeyRotation set', async () => {
    const keyId = await newKey();
    const arn = arnOf(keyId);
    expect(await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).toMatchObject({ KeyId: arn, KeyRotationEnabled: false });
    const t0 = now().getTime();
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId }));
    const t1 = now().getTime();
    const on = await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(on).toMatchObject({ KeyId: arn, KeyRotationEnabled: true, RotationPeriodInDays: 365 });
    // Epoch seconds on the wire: the date is within the call's clock readings, to the second.
    expect(on.NextRotationDate!.getTime()).toBeGreaterThanOrEqual(Math.floor((t0 + 365 * DAY) / 1000) * 1000);
    expect(on.NextRotationDate!.getTime()).toBeLessThanOrEqual(t1 + 365 * DAY);
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 2560 }));
    const longer = await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(longer.RotationPeriodInDays).toBe(2560);
    expect(longer.NextRotationDate!.getTime() - on.NextRotationDate!.getTime()).toBe((2560 - 365) * DAY);
    await kms().send(new DisableKeyRotationCommand({ KeyId: keyId }));
    const off = await t.call('GetKeyRotationStatus', { KeyId: keyId });
    expect(off.json).toEqual({ KeyId: arn, KeyRotationEnabled: false });
  });

  it('the sweep rotates a key whose date has passed, and the next date is one period later; old ciphertexts decrypt', async () => {
    const keyId = await newKey();
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    const old = await kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('old') }));
    offsetMs = 89 * DAY;
    expect((await t.gateway.sweepRotations()).rotated).not.toContain(keyId);
    offsetMs = 90 * DAY + 60_000;
    const sweepAt = now().getTime();
    expect((await t.gateway.sweepRotations()).rotated).toContain(keyId);
    const [rotation] = (await kms().send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations!;
    expect(rotation).toMatchObject({ RotationType: 'AUTOMATIC', KeyMaterialState: 'CURRENT' });
    const status = await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(status.NextRotationDate!.getTime()).toBeGreaterThanOrEqual(Math.floor((sweepAt + 90 * DAY) / 1000) * 1000);
    expect((await t.gateway.sweepRotations()).rotated).not.toContain(keyId);
    expect(new TextDecoder().decode((await kms().send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }))).Plaintext)).toBe('old');
  });

  it('skips a disabled key, and rotates it once it is enabled again', async () => {
    const keyId = await newKey();
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    await kms().send(new DisableKeyCommand({ KeyId: keyId }));
    offsetMs = 91 * DAY;
    expect((await t.gateway.sweepRotations()).rotated).not.toContain(keyId);
    // The status does not change while the key is disabled.
    expect((await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(true);
    await kms().send(new EnableKeyCommand({ KeyId: keyId }));
    expect((await t.gateway.sweepRotations()).rotated).toContain(keyId);
  });

  it('a key pending deletion reports false and is not rotated; cancelling brings the status back', async () => {
    const keyId = await newKey();
    await kms().send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    offsetMs = 89 * DAY;
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(await t.call('GetKeyRotationStatus', { KeyId: keyId }).then((r) => r.json)).toEqual({ KeyId: arnOf(keyId), KeyRotationEnabled: false });
    offsetMs = 91 * DAY;
    expect((await t.gateway.sweepRotations()).rotated).not.toContain(keyId);
    await kms().send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).RotationPeriodInDays).toBe(90);
    await kms().send(new EnableKeyCommand({ KeyId: keyId }));
    expect((await t.gateway.sweepRotations()).rotated).toContain(keyId);
  });
});

describe('ListKeyRotations', () => {
  it('pages through the rotations in order; a marker of another listing is InvalidMarkerException', async () => {
    const keyId = await newKey();
    await kms().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    await kms().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const all = await rotationsOf(keyId);
    expect(all.map((r) => r.KeyMaterialState)).toEqual(['NON_CURRENT', 'NON_CURRENT', 'CURRENT']);
    expect(all[0]!.RotationDate).toBeUndefined();
    const p1 = await kms().send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 1 }));
    expect([p1.Rotations!.length, p1.Truncated]).toEqual([1, true]);
    const p2 = await kms().send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 1, Marker: p1.NextMarker }));
    expect([p2.Rotations![0]!.KeyMaterialId, p2.Truncated]).toEqual([all[2]!.KeyMaterialId, false]);
    expect(p1.Rotations![0]!.KeyMaterialId).toBe(all[1]!.KeyMaterialId);
    const other = await newKey();
    expect((await refusal('ListKeyRotations', { KeyId: other, Marker: p1.NextMarker })).__type).toBe('InvalidMarkerException');
  });
});

describe('bad input: AWS exception, nothing changes', () => {
  it.each([
    [89, 'greater than or equal to 90'],
    [2561, 'less than or equal to 2560'],
  ])('RotationPeriodInDays %i is ValidationException', async (days, bound) => {
    const keyId = await newKey();
    expect(await refusal('EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: days })).toEqual({
      __type: 'ValidationException',
      message: `1 validation error detected: Value '${days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value ${bound}`,
    });
    expect((await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(false);
  });

  it.each([
    ['an asymmetric key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }],
    ['an HMAC key', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }],
    ['a key agreement key', { KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' }],
  ] as const)('%s cannot rotate: UnsupportedOperationException with an empty message; its status is false', async (_what, input) => {
    const keyId = await newKey(input);
    const objects = deviceObjects();
    for (const op of ['EnableKeyRotation', 'DisableKeyRotation', 'RotateKeyOnDemand', 'ListKeyRotations'])
      expect([op, await refusal(op, { KeyId: keyId })]).toEqual([op, { __type: 'UnsupportedOperationException', message: '' }]);
    expect(deviceObjects()).toBe(objects);
    expect(await t.call('GetKeyRotationStatus', { KeyId: keyId }).then((r) => r.json)).toEqual({ KeyId: arnOf(keyId), KeyRotationEnabled: false });
  });

  it('a key in a custom key store cannot rotate (AWS), with the origin sentence', async () => {
    const keyId = await newKey({ CustomKeyStoreId: 'yubihsm', Origin: 'AWS_CLOUDHSM' });
    for (const op of ['EnableKeyRotation', 'RotateKeyOnDemand'])
      expect(await refusal(op, { KeyId: keyId })).toEqual({
        __type: 'UnsupportedOperationException',
        message: `${arnOf(keyId)} origin is AWS_CLOUDHSM which is not valid for this operation.`,
      });
    expect((await kms().send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId).toBeUndefined();
  });

  it('a disabled key: DisabledException', async () => {
    const keyId = await newKey();
    await kms().send(new DisableKeyCommand({ KeyId: keyId }));
    for (const op of ['EnableKeyRotation', 'DisableKeyRotation', 'RotateKeyOnDemand'])
      expect(await refusal(op, { KeyId: keyId })).toEqual({ __type: 'DisabledException', message: `${arnOf(keyId)} is disabled.` });
    expect(await rotationsOf(keyId)).toHaveLength(1);
    expect((await kms().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(false);
  });

  it('a key pending deletion: KMSInvalidStateException', async () => {
    const keyId = await newKey();
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    for (const op of ['EnableKeyRotation', 'DisableKeyRotation', 'RotateKeyOnDemand'])
      expect(await refusal(op, { KeyId: keyId })).toEqual({ __type: 'KMSInvalidStateException', message: `${arnOf(keyId)} is pending deletion.` });
    expect(await rotationsOf(keyId)).toHaveLength(1);
  });

  it('an alias, or a key that does not exist: NotFoundException', async () => {
    const keyId = await newKey();
    await kms().send(new CreateAliasCommand({ AliasName: 'alias/rotate-me', TargetKeyId: keyId }));
    for (const op of ['EnableKeyRotation', 'RotateKeyOnDemand', 'ListKeyRotations'])
      expect(await refusal(op, { KeyId: 'alias/rotate-me' })).toEqual({ __type: 'NotFoundException', message: "Invalid keyId 'alias/rotate-me'" });
    const missing = '0b6f7f07-6a53-4b1c-9c4b-3a3d6f2a9e10';
    expect(await refusal('RotateKeyOnDemand', { KeyId: missing })).toEqual({ __type: 'NotFoundException', message: `Key '${arnOf(missing)}' does not exist` });
    expect(await rotationsOf(keyId)).toHaveLength(1);
  });

  it('a ciphertext naming a key material version the key does not have is InvalidCiphertextException', async () => {
    const keyId = await newKey();
    const { CiphertextBlob } = await kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode('x') }));
    const forged = Uint8Array.from(CiphertextBlob!);
    new DataView(forged.buffer).setUint32(17, 1);
    expect(await refusal('Decrypt', { CiphertextBlob: Buffer.from(forged).toString('base64') })).toEqual({ __type: 'InvalidCiphertextException', message: '' });
    // Once the key has version 1, the forged header still does not open: the sealed data key is bound to its header.
    await kms().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    expect(await refusal('Decrypt', { CiphertextBlob: Buffer.from(forged).toString('base64') })).toEqual({ __type: 'InvalidCiphertextException', message: '' });
  });
});

describe('deletion', () => {
  it('destroys the device object of every key material', async () => {
    // A gateway of its own: no other test's key falls due with this one.
    let offset = 0;
    const own = await startTestGateway({ now: () => new Date(Date.now() + offset) });
    try {
      const c = () => own.client(own.admin, { systemClockOffset: offset });
      const keyId = (await c().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await c().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      await c().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      await c().send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      const device = own.gateway.backends.simulators.get('yubihsm')!.device;
      const objects = device.objectCount();
      offset = 7 * DAY + 1000;
      expect((await own.gateway.sweepDeletions()).deleted).toEqual([keyId]);
      expect(device.objectCount()).toBe(objects - 3);
      expect(own.db.prepare('SELECT count(*) AS n FROM key_materials WHERE key_id = ?').get(keyId)).toEqual({ n: 0 });
    } finally {
      await own.stop();
    }
  });
});
