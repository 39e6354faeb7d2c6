import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { ApiKeyStore, loadOrCreateSealKey } from '@kmsgate/store';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * API keys that expire (`api-key generate --expires-in`), against the real gateway with an
 * injected clock: accepted before the instant, refused from it on with exactly the answer an
 * unknown or revoked key gets, on x-api-key and on SigV4 alike, and evaluated on every request
 * (a key the read cache holds is refused as soon as the clock passes its expiry, with no write).
 */
const ROOT = join(__dirname, '..', '..', '..');
const HOUR = 3_600_000;

let t: TestGateway;
let clock: Date;
beforeAll(async () => {
  clock = new Date();
  t = await startTestGateway({ now: () => clock });
});
afterAll(async () => {
  await t.stop();
});

/** The SDK signs with the gateway's (moved) clock, so SigV4's own skew check is not what answers. */
const sdk = (creds: { accessKeyId: string; secretAccessKey: string; id: string; apiKey: string }) =>
  t.client(creds, { systemClockOffset: clock.getTime() - Date.now() });

async function sigv4Error(creds: Parameters<typeof sdk>[0]): Promise<{ name: string; message: string } | undefined> {
  try {
    await sdk(creds).send(new ListKeysCommand({}));
    return undefined;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}

it('x-api-key and SigV4: accepted until the expiry, refused from it on like an unknown key, decided on each request', async () => {
  const start = new Date(clock);
  const store = new ApiKeyStore(t.db, loadOrCreateSealKey(t.dataDir), { now: () => clock });
  const k = store.generate({ label: 'expiring', role: 'signer', expiresAt: new Date(start.getTime() + HOUR) });
  const creds = { id: k.id, apiKey: k.apiKey, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  const unknown = await t.call('ListKeys', {}, { 'x-api-key': `kmsgate_${'A'.repeat(43)}` });
  expect(unknown.status).toBe(400);

  // Valid: the x-api-key lookup is now in the read cache.
  expect((await t.call('ListKeys', {}, { 'x-api-key': k.apiKey })).status).toBe(200);
  expect(await sigv4Error(creds)).toBeUndefined();

  clock = new Date(start.getTime() + HOUR);
  const expired = await t.call('ListKeys', {}, { 'x-api-key': k.apiKey });
  expect({ status: expired.status, body: expired.json }).toEqual({ status: unknown.status, body: unknown.json });
  expect(expired.json).toEqual({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  expect(await sigv4Error(creds)).toEqual({ name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  // A key without expiry is untouched by the same clock.
  expect((await t.call('ListKeys', {}, {})).status).toBe(200);

  // Per request, not frozen either way: a millisecond before the expiry it is accepted again.
  clock = new Date(start.getTime() + HOUR - 1);
  expect((await t.call('ListKeys', {}, { 'x-api-key': k.apiKey })).status).toBe(200);
  expect(await sigv4Error(creds)).toBeUndefined();
  clock = start;
});

it('a key made by `api-key generate --expires-in 1h` is refused two hours later', async () => {
  const out = await new Promise<string>((res, rej) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'api-key'),
      ['generate', '--label', 'cli-expiring', '--expires-in', '1h', '--json'],
      { cwd: ROOT, env: { ...process.env, KMSGATE_DATA_DIR: t.dataDir, KMS_DB_PATH: '' }, encoding: 'utf8' },
      (err, stdout) => (err ? rej(err) : res(stdout)),
    );
  });
  const k = JSON.parse(out) as { id: string; apiKey: string; accessKeyId: string; secretAccessKey: string; createdAt: string; expiresAt: string };
  // Whole seconds in the output; the stored instant is one hour after creation.
  expect(Date.parse(k.expiresAt) - Date.parse(k.createdAt)).toBeGreaterThanOrEqual(HOUR - 1000);
  expect(Date.parse(k.expiresAt) - Date.parse(k.createdAt)).toBeLessThanOrEqual(HOUR + 1000);

  clock = new Date(Date.parse(k.createdAt) + 2 * HOUR);
  try {
    expect((await t.call('ListKeys', {}, { 'x-api-key': k.apiKey })).json.__type).toBe('UnrecognizedClientException');
    expect((await sigv4Error(k))?.name).toBe('UnrecognizedClientException');
    expect(
      t.apiKeys
        .get(k.id)
        ?.expiresAt?.toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    ).toBe(k.expiresAt);
  } finally {
    clock = new Date();
  }
});
