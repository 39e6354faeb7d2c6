import { SignCommand, CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import { join } from 'node:path';
import { createLogger } from '../src/log';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/** The connector going away is a 5xx the client can retry, and the gateway recovers by itself. */
let t: TestGateway;
let kms: KMSClient;
const logged: { level: string; msg: string; backend?: string }[] = [];
beforeAll(async () => {
  t = await startTestGateway({
    // Every GET /health is a fresh check of the backends.
    limits: { healthCacheMs: 0 },
    logger: createLogger({ level: 'info', sink: (l) => logged.push(JSON.parse(l) as (typeof logged)[number]) }),
  });
  kms = t.client();
});
afterAll(async () => {
  await t.stop();
});

it('answers KeyUnavailableException while the connector is down and signs again when it is back', async () => {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const sign = () => kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: new Uint8Array([1, 2, 3]), SigningAlgorithm: 'ECDSA_SHA_256' }));
  await sign();

  const sim = t.gateway.backends.simulators.get('yubihsm')!;
  const port = sim.port;
  await sim.close();
  await expect(sign()).rejects.toMatchObject({ name: 'KeyUnavailableException', $fault: 'server', $metadata: { httpStatusCode: 500 } });
  // Poll until a check has seen the outage.
  let health = await fetch(`${t.url}/health`);
  while (health.status !== 503) health = await new Promise((r) => setTimeout(r, 20)).then(() => fetch(`${t.url}/health`));
  expect(((await health.json()) as any).backends[0]).toMatchObject({ id: 'yubihsm', connectionState: 'FAILED', simulated: true });
  // Checked again while it is still down: no second line for the same outage.
  for (let i = 0; i < 2; i++) expect((await fetch(`${t.url}/health`)).status).toBe(503);

  const again = await startSimulator({ host: '127.0.0.1', port, statePath: join(t.dataDir, 'yubihsm-sim.json') });
  try {
    const out = await sign();
    expect(out.Signature!.length).toBeGreaterThan(8);
    while ((await fetch(`${t.url}/health`)).status !== 200) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) expect((await fetch(`${t.url}/health`)).status).toBe(200);
    // One line per transition, however many checks saw each state.
    expect(logged.filter((l) => l.msg === 'backend down' || l.msg === 'backend up')).toEqual([
      { time: expect.any(String), level: 'warn', msg: 'backend down', backend: 'yubihsm', state: 'FAILED', failure: 'network' },
      { time: expect.any(String), level: 'info', msg: 'backend up', backend: 'yubihsm' },
    ]);
  } finally {
    await again.close();
  }
});
