import { SignCommand } from '@aws-sdk/client-kms';
import { PgAuditLog, PgAuditReader, migrate } from '@kmsgate/store-pg';
import pg from 'pg';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import { TcpProxy } from '../../../packages/store-pg/test/helpers/tcp-proxy';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { rejection } from './helpers/rejection';
import { createKeyWithAlias } from './helpers/signing';

/**
 * The gateway writing its audit records into the shared chain on a real PostgreSQL, reached through
 * a relay the test can cut: a Sign whose record cannot be written is an AWS-shaped 5xx with no
 * signature; when the database returns, signing resumes and the chain has no gap.
 */
let server: TestServer;
let proxy: TcpProxy;
let pool: pg.Pool;
let direct: pg.Pool;
let t: TestGateway;

beforeAll(async () => {
  server = await testServer();
  const url = new URL(await server.createDatabase());
  direct = new pg.Pool({ connectionString: url.toString() });
  await migrate(direct);
  proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  url.port = String(proxy.port);
  pool = new pg.Pool({ connectionString: url.toString(), connectionTimeoutMillis: 2_000 });
  pool.on('error', () => undefined);
  t = await startTestGateway({ openAudit: (options) => PgAuditLog.open(pool, { ...options, gateway: 'gw-test' }) });
});
afterAll(async () => {
  await t?.stop();
  await pool?.end();
  await direct?.end();
  await proxy?.cut();
  await server?.close();
});

const sign = (n: number) =>
  t.client().send(new SignCommand({ KeyId: 'alias/audited', Message: new Uint8Array([n]), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));

test('records go to the shared chain; the database unreachable: KMSInternalException (500) and no signature; back: signing resumes, no gap', async () => {
  const keyId = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/audited');
  expect((await sign(1)).Signature).toBeDefined();
  const reader = new PgAuditReader(direct);
  const before = await reader.records({ afterSeq: 0 });
  expect(before.map((r) => [r.operation, r.decision, r.gateway])).toEqual([
    ['CreateKey', 'admin', 'gw-test'],
    ['CreateAlias', 'admin', 'gw-test'],
    ['Sign', 'accept', 'gw-test'],
  ]);
  expect(before[2]!.keyId).toBe(keyId);

  await proxy.cut();
  expect(await rejection(sign(2))).toEqual({
    name: 'KMSInternalException',
    message: 'The audit record could not be written, so the request was not completed.',
  });
  const raw = await t.call('Sign', {
    KeyId: 'alias/audited',
    Message: Buffer.from([3]).toString('base64'),
    MessageType: 'RAW',
    SigningAlgorithm: 'ECDSA_SHA_256',
  });
  expect([raw.status, raw.json.__type, raw.json.Signature]).toEqual([500, 'KMSInternalException', undefined]);
  expect(raw.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
  expect(await reader.verify()).toMatchObject({ ok: true, count: 3 });

  await proxy.start();
  // Polling for the condition (the pool reconnects), not timing it.
  for (;;) {
    const r = await sign(4).then(
      () => undefined,
      (e: { name: string }) => e.name,
    );
    if (r === undefined) break;
    expect(r).toBe('KMSInternalException');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const chain = await reader.verify();
  expect(chain).toMatchObject({ ok: true });
  const after = await reader.records({ afterSeq: 3, operation: 'Sign', decision: 'accept' });
  expect(after.length).toBeGreaterThanOrEqual(1);
});
