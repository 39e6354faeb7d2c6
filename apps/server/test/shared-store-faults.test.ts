import { SignCommand } from '@aws-sdk/client-kms';
import { openPgGateState, type PgGateState } from '@kmsgate/store-pg';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { TcpProxy } from '../../../packages/store-pg/test/helpers/tcp-proxy';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { rejection } from './helpers/rejection';
import { auditFor, createKeyWithAlias, deviceRequests } from './helpers/signing';

/**
 * The gateway with its signing gates' state on a real PostgreSQL, reached through a relay the test
 * can cut: the database unreachable mid-request is an AWS-shaped 503 (DependencyTimeoutException)
 * with no device call and no signature, audited; when it returns, signing resumes.
 */
let server: TestServer;
let proxy: TcpProxy;
let pg: PgGateState;
let t: TestGateway;
let keyId: string;

beforeAll(async () => {
  server = await testServer();
  const url = new URL(await server.createDatabase());
  proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  url.port = String(proxy.port);
  pg = await openPgGateState({ url: url.toString(), connectTimeoutMs: 2_000, feed: { pollMs: 50 } });
  t = await startTestGateway({ gateState: pg.state, policies: { 'alias/shared': { chain: 'generic', rateLimits: { perMinute: 100 } } } });
  keyId = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/shared');
});
afterAll(async () => {
  await t?.stop();
  await pg?.close();
  await proxy?.cut();
  await server?.close();
});

const sign = (n: number) =>
  t.client().send(new SignCommand({ KeyId: 'alias/shared', Message: new Uint8Array([n]), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));

test('signed with the ledger on PostgreSQL; unreachable: 503 DependencyTimeoutException, no device call, a deny record; back: signing resumes', async () => {
  expect((await sign(1)).Signature).toBeDefined();
  const entries = await pg.pool.query<{ state: string }>('SELECT state FROM signing_ledger WHERE key_id = $1', [keyId]);
  expect(entries.rows).toEqual([{ state: 'committed' }]);

  await proxy.cut();
  const before = deviceRequests(t);
  const refused = await rejection(sign(2));
  expect(refused.name).toBe('DependencyTimeoutException');
  const raw = await t.call('Sign', {
    KeyId: 'alias/shared',
    Message: Buffer.from([3]).toString('base64'),
    MessageType: 'RAW',
    SigningAlgorithm: 'ECDSA_SHA_256',
  });
  expect([raw.status, raw.json.__type]).toEqual([503, 'DependencyTimeoutException']);
  expect(raw.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
  expect(deviceRequests(t)).toBe(before);
  // Refused before the signature, each with its record (under the KeyId as sent, like every AWS-level refusal).
  expect(auditFor(t, 'alias/shared')).toEqual([
    { decision: 'deny', gate: null, reason: 'DependencyTimeoutException' },
    { decision: 'deny', gate: null, reason: 'DependencyTimeoutException' },
  ]);
  expect(auditFor(t, keyId)).toEqual([{ decision: 'accept', gate: null, reason: null }]);

  await proxy.start();
  // Polling for the condition (the pool reconnects, the views are confirmed again), not timing it.
  for (;;) {
    const r = await sign(4).then(
      () => undefined,
      (e: { name: string }) => e.name,
    );
    if (r === undefined) break;
    expect(r).toBe('DependencyTimeoutException');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const after = await pg.pool.query<{ n: string }>("SELECT COUNT(*)::text AS n FROM signing_ledger WHERE key_id = $1 AND state = 'committed'", [keyId]);
  expect(after.rows[0]!.n).toBe('2');
});
