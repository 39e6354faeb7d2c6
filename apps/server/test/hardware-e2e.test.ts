/**
 * The AWS-level suite of the hardware lane: the real gateway on a YubiHSM 2 connector, called with
 * @aws-sdk/client-kms, signatures checked with node:crypto. With KMSGATE_HARDWARE_TESTS=1 the
 * connector is a real device's (docs/testing.md); otherwise a simulator serves it over HTTP. The keys
 * it creates are scheduled for deletion and swept from the device before it ends.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DescribeCustomKeyStoresCommand,
  GetPublicKeyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  type KMSClient,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { type RunningSimulator, startSimulator } from '@kmsgate/yubihsm-sim';
import { announceSkippedLane, hardwareLane } from '../../../packages/yubihsm/test/helpers/hardware-lane';
import { startTestGateway, type TestGateway } from './helpers/gateway';

const lane = hardwareLane();
const target = lane ? `a real YubiHSM 2 at ${lane.connectorUrl}` : 'the YubiHSM 2 simulator over HTTP';
if (!lane) announceSkippedLane('AWS-level e2e');

const DAY_MS = 86_400_000;
let work: string;
let sim: RunningSimulator | undefined;
let t: TestGateway;
let kms: KMSClient;
let clockOffset = 0;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kmsgate-hw-e2e-'));
  const passwordFile = join(work, 'hsm.password');
  writeFileSync(passwordFile, lane?.password ?? 'password', { mode: 0o600 });
  if (!lane) sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  t = await startTestGateway({
    now: () => new Date(Date.now() + clockOffset),
    backends: [
      {
        id: 'hsm',
        type: 'yubihsm',
        connectorUrl: lane?.connectorUrl ?? sim!.url,
        authKeyId: lane?.authKeyId ?? 1,
        passwordFile,
        domains: [lane?.domain ?? 1],
        requestTimeoutMs: 30_000,
        ...(lane?.serial !== undefined ? { serial: lane.serial } : {}),
      },
    ],
  });
  kms = t.client();
});

afterAll(async () => {
  await t?.stop();
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

function verifies(spki: Uint8Array, algorithm: string, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  if (algorithm === 'ED25519_SHA_512') return cryptoVerify(null, message, key, signature);
  return cryptoVerify('sha256', message, { key, dsaEncoding: 'der' }, signature);
}

describe(`AWS-level e2e against ${target}`, () => {
  it('the key store is connected', async () => {
    const { CustomKeyStores } = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'hsm' }));
    expect(CustomKeyStores![0]).toMatchObject({ CustomKeyStoreId: 'hsm', ConnectionState: 'CONNECTED' });
  });

  const cases = [
    { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256' },
    { spec: 'ECC_SECG_P256K1', algorithm: 'ECDSA_SHA_256' },
    { spec: 'ECC_NIST_EDWARDS25519', algorithm: 'ED25519_SHA_512' },
  ] as const;

  it('creates keys, signs with them through the SDK, verifies, and sweeps them from the device', async () => {
    const keyIds: string[] = [];
    for (const c of cases) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: c.spec, KeyUsage: 'SIGN_VERIFY', Description: 'kmsgate hardware lane' }));
      const keyId = KeyMetadata!.KeyId!;
      keyIds.push(keyId);
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      const message = new TextEncoder().encode(`hardware lane ${c.spec}`);
      const raw = await kms.send(
        new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: c.algorithm as SigningAlgorithmSpec }),
      );
      expect(verifies(PublicKey!, c.algorithm, message, raw.Signature!)).toBe(true);
      const verified = await kms.send(
        new VerifyCommand({
          KeyId: keyId,
          Message: message,
          MessageType: 'RAW',
          Signature: raw.Signature!,
          SigningAlgorithm: c.algorithm as SigningAlgorithmSpec,
        }),
      );
      expect(verified.SignatureValid).toBe(true);
      if (c.algorithm === 'ECDSA_SHA_256') {
        const digest = new Uint8Array(createHash('sha256').update(message).digest());
        const d = await kms.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: c.algorithm }));
        expect(verifies(PublicKey!, c.algorithm, message, d.Signature!)).toBe(true);
      }
    }

    for (const keyId of keyIds) await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    clockOffset = 8 * DAY_MS;
    const swept = await t.gateway.sweepDeletions();
    expect(swept.deleted.sort()).toEqual([...keyIds].sort());
    expect(swept.failed).toEqual([]);
  }, 300_000);
});
