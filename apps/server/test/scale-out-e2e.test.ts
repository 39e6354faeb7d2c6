import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, GetPublicKeyCommand, KMSServiceException, SignCommand } from '@aws-sdk/client-kms';
import { PublicKey, SystemProgram, Transaction } from '@solana/web3.js';
import pg from 'pg';
import { testServer, type TestServer } from '../../../packages/store-pg/test/helpers/pg-server';
import {
  adminCall,
  closeKmsClients,
  generateApiKey,
  kmsClient,
  kmsgateCli,
  newCredentialKey,
  pollUntil,
  prepareGatewayDir,
  startGatewayProcess,
  type GatewayProcess,
  type GeneratedApiKey,
  untilKnown,
} from './helpers/gateway-processes';
import { sendKeyIdOperation } from './helpers/own-operation';
import { startSimProcess, type SimProcess } from './helpers/sim-process';

/**
 * Issue 14's done-when, as an operator would run it: two `kmsgate serve` processes, each with its
 * own data directory and configuration, the same credential.key and `store.url` naming one
 * PostgreSQL database, both reaching ONE YubiHSM 2 simulator process through its connector URL (so
 * a key created through one gateway signs on the other). Clients are the real @aws-sdk/client-kms;
 * API keys, the audit check and the revocation are the `kmsgate` CLI on the shared store. Nothing
 * here sleeps or times anything: what crosses processes is polled for, and "within a second" is
 * checked against the database's clock (see the revocation case).
 */
const SYSTEM = SystemProgram.programId;
const EXCHANGE = new PublicKey(Uint8Array.from({ length: 32 }, (_, i) => (97 + i * 5) % 256));
/** ChangeFeed's default maxStalenessMs: no view older than this answers a request (docs/scale-out.md). */
const STALENESS_BOUND_MS = 1000;

let server: TestServer;
let db: pg.Client;
let root: string;
let sim: SimProcess;
let envA: NodeJS.ProcessEnv;
let envB: NodeJS.ProcessEnv;
let a: GatewayProcess;
let b: GatewayProcess;
let admin: GeneratedApiKey;
let signer: GeneratedApiKey;

beforeAll(async () => {
  server = await testServer();
  const storeUrl = await server.createDatabase();
  root = mkdtempSync(join(tmpdir(), 'kmsgate-scale-out-'));
  sim = await startSimProcess({ serial: 7_014_001, statePath: join(root, 'yubihsm-sim.json') });
  const setup = { storeUrl, connectorUrl: sim.url, credentialKey: newCredentialKey() };
  envA = prepareGatewayDir(join(root, 'a'), setup);
  envB = prepareGatewayDir(join(root, 'b'), setup);
  // One after the other: the first migrates the empty database.
  a = await startGatewayProcess('a', envA);
  b = await startGatewayProcess('b', envB);
  // Each made through the other gateway's directory: one store behind both.
  [admin, signer] = await Promise.all([generateApiKey(envA, 'operator', 'admin'), generateApiKey(envB, 'trading agent', 'signer')]);
  await Promise.all([untilKnown(admin, a, b), untilKnown(signer, a, b)]);
  db = new pg.Client({ connectionString: storeUrl });
  await db.connect();
}, 300_000);

afterAll(async () => {
  closeKmsClients();
  await Promise.all([a?.stop(), b?.stop()]);
  await sim?.kill();
  await db?.end();
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
}, 120_000);

/** What one Sign came back with: the signature, or the AWS error, with the request id either way. */
type Outcome = { gateway: string; requestId: string | undefined } & (
  { signature: Uint8Array } | { error: string; message: string; status: number | undefined }
);

/** Requests answered DependencyTimeoutException (the shared store did not answer in time; nothing signed or changed) and sent again. */
const retried: { gateway: string; requestId: string | undefined }[] = [];

/**
 * One Sign as an AWS SDK client makes it: a 503 DependencyTimeoutException, which AWS documents as
 * retryable and after which nothing was signed or counted, is sent again (a few times at most);
 * every other answer is the outcome.
 */
async function signOn(
  g: GatewayProcess,
  keyId: string,
  message: Uint8Array,
  messageType: 'RAW' | 'DIGEST',
  algorithm: 'ED25519_SHA_512' | 'ECDSA_SHA_256',
): Promise<Outcome> {
  for (let attempt = 1; ; attempt++) {
    const o = await signOnce(g, keyId, message, messageType, algorithm);
    if (signed(o) || o.error !== 'DependencyTimeoutException' || attempt === 10) return o;
    retried.push({ gateway: g.name, requestId: o.requestId });
  }
}

async function signOnce(
  g: GatewayProcess,
  keyId: string,
  message: Uint8Array,
  messageType: 'RAW' | 'DIGEST',
  algorithm: 'ED25519_SHA_512' | 'ECDSA_SHA_256',
): Promise<Outcome> {
  try {
    const out = await kmsClient(g, signer).send(new SignCommand({ KeyId: keyId, Message: message, MessageType: messageType, SigningAlgorithm: algorithm }));
    return { gateway: g.name, requestId: out.$metadata.requestId, signature: out.Signature! };
  } catch (e) {
    if (e instanceof KMSServiceException)
      return { gateway: g.name, requestId: e.$metadata.requestId, error: e.name, message: e.message, status: e.$metadata.httpStatusCode };
    // No answer at all (a gateway killed under the request): no signature reached the client.
    return { gateway: g.name, requestId: undefined, error: 'NoAnswer', message: String(e), status: undefined };
  }
}

const signed = (o: Outcome): o is Outcome & { signature: Uint8Array } => 'signature' in o;

/** Every audit record in the shared store, through the CLI. */
async function auditRecords(): Promise<{ requestId: string; operation: string; keyId: string | null; decision: string; reason: string | null }[]> {
  const r = await kmsgateCli(envA, 'audit', 'tail', '-n', '1000000', '--json');
  if (r.code !== 0) throw new Error(`audit tail exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

async function auditVerify(env: NodeJS.ProcessEnv): Promise<{ code: number; result: { ok: boolean; chain: { ok: boolean; count: number } } }> {
  const r = await kmsgateCli(env, 'audit', 'verify', '--json');
  return { code: r.code, result: JSON.parse(r.stdout) };
}

async function publicKeyOf(g: GatewayProcess, keyId: string): Promise<KeyObject> {
  const out = await kmsClient(g, admin).send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' });
}

/** The database's clock, epoch ms: the clock the store's windows and this file's "within a second" are on. */
async function dbNow(): Promise<number> {
  const { rows } = await db.query<{ now: string }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS now');
  return Number(rows[0]!.now);
}

/** A key created through `on`, with an alias; resolves once `other` serves it too (polled: another process). */
async function createSharedKey(on: GatewayProcess, other: GatewayProcess, keySpec: 'ECC_NIST_EDWARDS25519' | 'ECC_NIST_P256', alias: string): Promise<string> {
  const created = await kmsClient(on, admin).send(new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' }));
  const keyId = created.KeyMetadata!.KeyId!;
  await kmsClient(on, admin).send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  await pollUntil(
    () =>
      kmsClient(other, admin)
        .send(new DescribeKeyCommand({ KeyId: alias }))
        .then(
          (d) => d.KeyMetadata?.KeyId,
          () => undefined,
        ),
    (id) => id === keyId,
  );
  return keyId;
}

test('1,000 concurrent Sign requests split across both gateways, each within a rolling cap but not together: exactly the cap is signed, the rest get the AWS-shaped denial; the PostgreSQL ledger and the audit chain agree', async () => {
  const CAP = 100;
  const REQUESTS = 1000;
  const keyId = await createSharedKey(a, b, 'ECC_NIST_EDWARDS25519', 'alias/shared-cap');
  const publicKey = await publicKeyOf(b, keyId);
  const payer = new PublicKey(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  // The policy is set at runtime through gateway A's admin API: B must pick it up from the store.
  const put = await adminCall(a, admin, 'PUT', '/admin/policies/alias/shared-cap', {
    chain: 'solana',
    programs: [SYSTEM.toBase58()],
    recipients: [EXCHANGE.toBase58()],
    caps: { native: { rolling24h: String(CAP) } },
  });
  expect(put.status).toBe(200);
  await pollUntil(
    () => sendKeyIdOperation(kmsClient(b, signer), 'GetSigningBudget', 'alias/shared-cap').catch(() => undefined),
    (budget) => (budget?.Caps as { Rolling24h?: string }[] | undefined)?.[0]?.Rolling24h === String(CAP),
  );

  // 1 lamport each, every message different (its blockhash), so none is a replay of another.
  const transfer = (i: number) =>
    new Transaction({ feePayer: payer, recentBlockhash: new PublicKey(createHash('sha256').update(`blockhash ${i}`).digest()).toBase58() })
      .add(SystemProgram.transfer({ fromPubkey: payer, toPubkey: EXCHANGE, lamports: 1 }))
      .serializeMessage();
  const messages = Array.from({ length: REQUESTS }, (_, i) => new Uint8Array(transfer(i)));
  const outcomes = await Promise.all(messages.map((m, i) => signOn(i % 2 === 0 ? a : b, 'alias/shared-cap', m, 'RAW', 'ED25519_SHA_512')));

  const accepted = outcomes.filter(signed);
  const refused = outcomes.filter((o) => !signed(o)) as (Outcome & { error: string; message: string; status: number })[];
  expect(accepted).toHaveLength(CAP);
  expect(refused).toHaveLength(REQUESTS - CAP);
  for (const o of refused)
    expect({ error: o.error, status: o.status, reason: /\(([A-Z_0-9]+)\)/.exec(o.message)?.[1] }).toEqual({
      error: 'AccessDeniedException',
      status: 400,
      reason: 'ROLLING_CAP_EXCEEDED',
    });
  // Every signature is a real one over its own message.
  for (const o of accepted) expect(verify(null, messages[outcomes.indexOf(o)]!, publicKey, o.signature)).toBe(true);

  // The ledger: exactly the cap, every reservation committed.
  const ledger = await db.query<{ entries: string; committed: string; moved: string }>(
    `SELECT COUNT(*)::text AS entries, COUNT(*) FILTER (WHERE state = 'committed')::text AS committed,
       (SELECT COALESCE(SUM(amount), 0)::text FROM signing_ledger_amounts WHERE key_id = $1 AND asset = 'native') AS moved
     FROM signing_ledger WHERE key_id = $1`,
    [keyId],
  );
  expect(ledger.rows[0]).toEqual({ entries: String(CAP), committed: String(CAP), moved: String(CAP) });
  // Each entry is one of the signatures the clients got: the reservation keeps the request's id.
  const reserved = await db.query<{ request_id: string }>('SELECT request_id FROM signing_ledger WHERE key_id = $1', [keyId]);
  expect(new Set(reserved.rows.map((r) => r.request_id))).toEqual(new Set(accepted.map((o) => o.requestId)));

  // The audit chain: one accept per signature and one policy denial per refusal, under the requests' own ids.
  const signs = (await auditRecords()).filter((r) => r.operation === 'Sign' && r.keyId === keyId);
  expect(new Set(signs.filter((r) => r.decision === 'accept').map((r) => r.requestId))).toEqual(new Set(accepted.map((o) => o.requestId)));
  const capDenials = signs.filter((r) => r.decision === 'deny' && r.reason === 'ROLLING_CAP_EXCEEDED');
  expect(new Set(capDenials.map((r) => r.requestId))).toEqual(new Set(refused.map((o) => o.requestId)));
  // Anything else recorded for the key is a store timeout a client retried.
  const retriedIds = new Set(retried.map((r) => r.requestId));
  expect(signs.filter((r) => r.decision !== 'accept' && r.reason !== 'ROLLING_CAP_EXCEEDED').filter((r) => !retriedIds.has(r.requestId))).toEqual([]);
  expect(signs.filter((r) => !retriedIds.has(r.requestId))).toHaveLength(REQUESTS);
  const verified = await auditVerify(envB);
  expect([verified.code, verified.result.ok]).toEqual([0, true]);
  // No request was refused for a view gone stale while it ran: each is served from the views its
  // refresh confirmed (docs/scale-out.md). A 503 of a database that did not answer in time can
  // still happen under load; how many were retried is printed, not asserted.
  const staleRefusals = [...a.log, ...b.log].filter((l) => l.includes('"requestId"') && l.includes('could not be confirmed current'));
  expect(staleRefusals).toEqual([]);
  console.log(
    `rolling cap across two gateways: signed ${accepted.filter((o) => o.gateway === 'a').length} on a and ${accepted.filter((o) => o.gateway === 'b').length} on b; ${verified.result.chain.count} audit records verified; ${retried.length} 503s retried (none for a stale view)`,
  );
}, 600_000);

test('a kill switch engaged on one gateway and an API key revoked with the CLI on the shared store: the other gateway refuses, within the staleness bound on the database clock', async () => {
  const keyId = await createSharedKey(b, a, 'ECC_NIST_P256', 'alias/shared-switch');
  const digest = createHash('sha256').update('switch').digest();
  expect(signed(await signOn(b, keyId, digest, 'DIGEST', 'ECDSA_SHA_256'))).toBe(true);
  expect((await adminCall(a, admin, 'PUT', '/admin/kill-switch', { engaged: true, key: keyId, reason: 'drill' })).status).toBe(200);
  const stopped = await pollUntil(
    () => signOn(b, keyId, digest, 'DIGEST', 'ECDSA_SHA_256'),
    (o) => !signed(o),
  );
  expect(stopped.value).toMatchObject({ error: 'AccessDeniedException', message: expect.stringContaining('(KILL_SWITCH_KEY)') });
  expect((await adminCall(a, admin, 'PUT', '/admin/kill-switch', { engaged: false, key: keyId })).status).toBe(200);
  await pollUntil(
    () => signOn(b, keyId, digest, 'DIGEST', 'ECDSA_SHA_256'),
    (o) => signed(o),
  );

  // A key made through A's directory works on B (once B has seen it: polled).
  const victim = await generateApiKey(envA, 'to be revoked', 'signer');
  const listKeys = async () => {
    const before = await dbNow();
    const res = await fetch(b.url, {
      method: 'POST',
      headers: { 'x-api-key': victim.apiKey, 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    return { sentAt: before, status: res.status, type: res.headers.get('x-amzn-errortype') };
  };
  await pollUntil(listKeys, (r) => r.status === 200);

  const revoked = await kmsgateCli(envA, 'api-key', 'revoke', victim.id);
  expect(revoked.code).toBe(0);
  // Later than the revocation's commit, on the clock the bound is measured against.
  const revokedAt = await dbNow();
  const seen: { sentAt: number; status: number; type: string | null }[] = [];
  await pollUntil(
    async () => {
      const r = await listKeys();
      seen.push(r);
      return r;
    },
    (r) => r.status !== 200,
  );
  expect(seen.at(-1)).toMatchObject({ status: 400, type: 'UnrecognizedClientException' });
  // No request sent a staleness bound or more after the revocation was still served: B's views are
  // never older than the bound when it answers (ChangeFeed.confirm), whatever the machine's load.
  expect(seen.filter((r) => r.status === 200 && r.sentAt >= revokedAt + STALENESS_BOUND_MS)).toEqual([]);
  // And it stays refused, through SigV4 as well.
  expect((await listKeys()).type).toBe('UnrecognizedClientException');
  await expect(kmsClient(b, victim).send(new DescribeKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
}, 300_000);

test('a gateway killed (SIGKILL) under load: every signature a client received has its accept record, the chain verifies, and the gateway restarts on the same store', async () => {
  const keyId = await createSharedKey(b, a, 'ECC_NIST_P256', 'alias/shared-crash');
  const publicKey = await publicKeyOf(a, keyId);
  const REQUESTS = 300;
  const messages = Array.from({ length: REQUESTS }, (_, i) => new TextEncoder().encode(`crash ${i}`));
  let signedOnA = 0;
  let killed: Promise<void> | undefined;
  const outcomes = await Promise.all(
    messages.map(async (m, i) => {
      const o = await signOn(i % 2 === 0 ? a : b, keyId, m, 'RAW', 'ECDSA_SHA_256');
      // A dies once it has answered some, with most of its share still in flight.
      if (o.gateway === 'a' && signed(o) && ++signedOnA === 10) killed = a.kill();
      return o;
    }),
  );
  await killed;
  expect(a.child.signalCode).toBe('SIGKILL');

  const received = outcomes.filter(signed);
  const lost = outcomes.filter((o) => !signed(o));
  // B answered all of its share; some of A's were cut off with it.
  expect(outcomes.filter((o) => o.gateway === 'b').every(signed)).toBe(true);
  expect(lost.length).toBeGreaterThan(0);
  expect(lost.every((o) => o.gateway === 'a' && 'error' in o && o.error === 'NoAnswer')).toBe(true);
  for (const o of received) expect(verify('sha256', messages[outcomes.indexOf(o)]!, { key: publicKey, dsaEncoding: 'der' }, o.signature)).toBe(true);

  const accepts = new Set((await auditRecords()).filter((r) => r.operation === 'Sign' && r.keyId === keyId && r.decision === 'accept').map((r) => r.requestId));
  const unrecorded = received.filter((o) => !accepts.has(o.requestId!));
  expect(unrecorded).toEqual([]);
  const verified = await auditVerify(envB);
  expect([verified.code, verified.result.ok]).toEqual([0, true]);

  // The killed gateway comes back on the same store and signs; the chain still verifies.
  a = await startGatewayProcess('a', envA);
  expect(signed(await signOn(a, keyId, messages[0]!, 'RAW', 'ECDSA_SHA_256'))).toBe(true);
  const again = await auditVerify(envA);
  expect([again.code, again.result.ok]).toEqual([0, true]);
  console.log(
    `SIGKILL under load: ${received.length} of ${REQUESTS} signatures received (${received.filter((o) => o.gateway === 'a').length} from a), ${lost.length} cut off, all received recorded; ${again.result.chain.count} records verified`,
  );
}, 600_000);
