import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  EnableKeyCommand,
  GetPublicKeyCommand,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdateKeyDescriptionCommand,
  VerifyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * The key lifecycle through the unmodified SDK: Enabled ⇄ Disabled, PendingDeletion and back, and
 * deletion for real once the deletion date passes. Time is the gateway's injected clock, moved
 * forward by the test; the device is the simulator, whose object count shows what was destroyed.
 */
const DAY = 24 * 60 * 60 * 1000;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);

let t: TestGateway;
/** A client whose SigV4 clock matches the gateway's, wherever the test has moved it. */
const kms = (): KMSClient => t.client(t.admin, { systemClockOffset: offsetMs });
const sim = () => t.gateway.backends.simulators.get('yubihsm')!;
const message = new Uint8Array(32).fill(7);

beforeAll(async () => {
  t = await startTestGateway({ now });
});
afterAll(async () => {
  await t.stop();
});
beforeEach(() => {
  offsetMs = 0;
});

async function newKey(description = 'lifecycle'): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await kms().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: description }));
  return { keyId: KeyMetadata!.KeyId!, arn: KeyMetadata!.Arn! };
}
const sign = (KeyId: string) => kms().send(new SignCommand({ KeyId, Message: message, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
const metadata = async (KeyId: string) => (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;

describe('Enabled and Disabled', () => {
  it('disables and enables a key; a disabled key does not sign but still shows its public key', async () => {
    const { keyId, arn } = await newKey();
    await kms().send(new DisableKeyCommand({ KeyId: keyId }));
    expect(await metadata(keyId)).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await kms().send(new DisableKeyCommand({ KeyId: arn })); // idempotent, and a key ARN works too
    const err = await sign(keyId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DisabledException);
    expect((err as Error).message).toBe(`${arn} is disabled.`);
    await expect(
      kms().send(new VerifyCommand({ KeyId: keyId, Message: message, MessageType: 'DIGEST', Signature: new Uint8Array(8), SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toBeInstanceOf(DisabledException);
    expect((await kms().send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!.length).toBeGreaterThan(0);

    await kms().send(new EnableKeyCommand({ KeyId: keyId }));
    expect(await metadata(keyId)).toMatchObject({ KeyState: 'Enabled', Enabled: true });
    expect((await sign(keyId)).Signature!.length).toBeGreaterThan(8);
  });

  it('updates the description', async () => {
    const { keyId } = await newKey('before');
    await kms().send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: 'after' }));
    expect((await metadata(keyId)).Description).toBe('after');
    await kms().send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: '' }));
    expect((await metadata(keyId)).Description).toBe('');
  });
});

describe('ScheduleKeyDeletion and CancelKeyDeletion', () => {
  it("schedules with the default 30-day window and answers AWS's response shape", async () => {
    const { keyId, arn } = await newKey();
    const before = now().getTime();
    const out = await kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId }));
    const after = now().getTime();
    expect(out).toMatchObject({ KeyId: arn, KeyState: 'PendingDeletion', PendingWindowInDays: 30 });
    // 30 days from the moment the gateway handled it (epoch seconds on the wire: ±1 s of rounding),
    // bounded by clock readings on both sides of the call rather than by how long the call took.
    expect(out.DeletionDate!.getTime() - before).toBeGreaterThanOrEqual(30 * DAY - 1000);
    expect(out.DeletionDate!.getTime() - after).toBeLessThanOrEqual(30 * DAY + 1000);
    const md = await metadata(keyId);
    expect(md).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false });
    expect(md.DeletionDate!.getTime()).toBe(out.DeletionDate!.getTime());
  });

  it('refuses to use or change a key pending deletion, and CancelKeyDeletion leaves it Disabled', async () => {
    const { keyId, arn } = await newKey();
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    for (const call of [
      () => sign(keyId),
      () => kms().send(new GetPublicKeyCommand({ KeyId: keyId })),
      () => kms().send(new EnableKeyCommand({ KeyId: keyId })),
      () => kms().send(new DisableKeyCommand({ KeyId: keyId })),
      () => kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId })),
      () => kms().send(new CreateAliasCommand({ AliasName: 'alias/to-pending', TargetKeyId: keyId })),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KMSInvalidStateException);
      expect((err as Error).message).toBe(`${arn} is pending deletion.`);
    }
    const out = await kms().send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect(out.KeyId).toBe(arn);
    const md = await metadata(keyId);
    expect(md).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    expect(md.DeletionDate).toBeUndefined();
    const again = await kms()
      .send(new CancelKeyDeletionCommand({ KeyId: keyId }))
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(KMSInvalidStateException);
    expect((again as Error).message).toBe(`${arn} is not pending deletion.`);
    await kms().send(new EnableKeyCommand({ KeyId: keyId }));
    await sign(keyId);
  });
});

describe('deletion for real', () => {
  it('destroys the device object once the deletion date passes; the key and its aliases are gone', async () => {
    const { keyId, arn } = await newKey();
    const alias = 'alias/doomed';
    await kms().send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const objects = sim().device.objectCount();

    offsetMs = 7 * DAY - 60_000; // one minute early: nothing happens
    expect((await t.gateway.sweepDeletions()).deleted).not.toContain(keyId);
    expect(sim().device.objectCount()).toBe(objects);
    expect((await metadata(keyId)).KeyState).toBe('PendingDeletion');

    offsetMs = 7 * DAY + 1000;
    // Past the date the key no longer exists for clients, even before the sweeper has run.
    const gone = await kms()
      .send(new DescribeKeyCommand({ KeyId: keyId }))
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundException);
    expect((gone as Error).message).toBe(`Key '${arn}' does not exist`);
    await expect(kms().send(new CancelKeyDeletionCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(NotFoundException);

    const swept = await t.gateway.sweepDeletions();
    expect(swept.deleted).toContain(keyId);
    expect(sim().device.objectCount()).toBe(objects - 1);
    await expect(kms().send(new DescribeKeyCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(NotFoundException);
    const aliasGone = await kms()
      .send(new DescribeKeyCommand({ KeyId: alias }))
      .catch((e: unknown) => e);
    expect((aliasGone as Error).message).toBe(`Alias arn:aws:kms:us-east-1:111122223333:${alias} is not found.`);
    const listed = await kms().send(new ListKeysCommand({ Limit: 1000 }));
    expect(listed.Keys!.map((k) => k.KeyId)).not.toContain(keyId);
    const aliases = await kms().send(new ListAliasesCommand({}));
    expect(aliases.Aliases!.map((a) => a.AliasName)).not.toContain(alias);
    // The alias name is free again.
    const other = await newKey();
    await kms().send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: other.keyId }));
    expect((await metadata(alias)).KeyId).toBe(other.keyId);
    // No row is left behind.
    expect(t.db.prepare('SELECT count(*) AS n FROM keys WHERE key_id = ?').get(keyId)).toEqual({ n: 0 });
  });

  it('destroys the device objects of symmetric and HMAC keys too', async () => {
    const keys = [
      (await kms().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!,
      (await kms().send(new CreateKeyCommand({ KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!,
    ];
    for (const KeyId of keys) await kms().send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    const objects = sim().device.objectCount();
    offsetMs = 7 * DAY + 1000;
    const swept = await t.gateway.sweepDeletions();
    expect(swept.deleted).toEqual(expect.arrayContaining(keys));
    expect(sim().device.objectCount()).toBe(objects - 2);
  });

  it('keeps a key whose device object cannot be destroyed, and retries on the next sweep', async () => {
    const { keyId } = await newKey();
    await kms().send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const { port, device } = sim();
    const objects = device.objectCount();
    offsetMs = 8 * DAY;
    await sim().close();
    try {
      const failed = await t.gateway.sweepDeletions();
      expect(failed.failed).toContain(keyId);
      expect(t.db.prepare('SELECT key_state AS s FROM keys WHERE key_id = ?').get(keyId)).toEqual({ s: 'PendingDeletion' });
    } finally {
      const again = await startSimulator({ host: '127.0.0.1', port, statePath: join(t.dataDir, 'yubihsm-sim.json') });
      try {
        const swept = await t.gateway.sweepDeletions();
        expect(swept.deleted).toContain(keyId);
        expect(again.device.objectCount()).toBe(objects - 1);
      } finally {
        await again.close();
      }
    }
  });
});

describe('deletion at start-up', () => {
  it('deletes a key that fell due while the gateway was stopped', async () => {
    let offset = 0;
    const clock = () => new Date(Date.now() + offset);
    const first = await startTestGateway({ now: clock });
    const c1 = first.client();
    const { KeyMetadata } = await c1.send(new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' }));
    const keyId = KeyMetadata!.KeyId!;
    await c1.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const objects = first.gateway.backends.simulators.get('yubihsm')!.device.objectCount();
    await first.stop({ keepData: true });

    offset = 10 * DAY;
    const second = await startTestGateway({ now: clock, dataDir: first.dataDir });
    try {
      expect((await second.gateway.startupSweep).deleted).toEqual([keyId]);
      expect(second.gateway.backends.simulators.get('yubihsm')!.device.objectCount()).toBe(objects - 1);
      const r = await second.call('DescribeKey', { KeyId: keyId });
      expect(r.json).toEqual({ __type: 'NotFoundException', message: `Key 'arn:aws:kms:us-east-1:111122223333:key/${keyId}' does not exist` });
    } finally {
      await second.stop();
    }
  });
});

describe('deletion on the timer', () => {
  it('destroys a due key without anyone asking', async () => {
    let offset = 0;
    const timed = await startTestGateway({ now: () => new Date(Date.now() + offset), deletionSweepIntervalMs: 25 });
    try {
      const { KeyMetadata } = await timed.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
      await timed.call('ScheduleKeyDeletion', { KeyId: KeyMetadata!.KeyId, PendingWindowInDays: 7 });
      const device = timed.gateway.backends.simulators.get('yubihsm')!.device;
      const objects = device.objectCount();
      offset = 7 * DAY + 1000;
      // The sweep runs on its own timer: wait for the event, however busy the machine (jest's timeout bounds it).
      while (device.objectCount() === objects) await new Promise((ok) => setTimeout(ok, 10));
      expect(device.objectCount()).toBe(objects - 1);
    } finally {
      await timed.stop();
    }
  });
});
