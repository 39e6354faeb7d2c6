import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import { readAuditTail, verifyAuditChain, verifyAuditJsonl, type AuditRecord } from '@kmsgate/store';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * The audit log in the request path, against a real gateway: every Sign outcome, auth-gate
 * refusals and admin changes are recorded, and no signature leaves without its record.
 */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t.stop();
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const jsonlPath = () => join(t.dataDir, 'audit.jsonl');

/** The records written for one request (by the x-amzn-RequestId it answered with). */
function recordsOf(requestId: string | null): AuditRecord[] {
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  return readAuditTail(t.db, 1000).filter((r) => r.requestId === requestId);
}

async function createKey(keySpec = 'ECC_NIST_P256'): Promise<string> {
  const r = await t.call('CreateKey', { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' });
  expect(r.status).toBe(200);
  return r.json.KeyMetadata.KeyId as string;
}

function sign(
  keyId: string,
  message: Uint8Array,
  algorithm = 'ECDSA_SHA_256',
  extra: Record<string, unknown> = {},
  headers: Record<string, string | null> = {},
) {
  return t.call('Sign', { KeyId: keyId, Message: Buffer.from(message).toString('base64'), SigningAlgorithm: algorithm, ...extra }, headers);
}

it('records an accepted Sign with the key, the API key id and SHA-256 of what the device signed', async () => {
  const signer = t.newKey('signer');
  const keyId = await createKey();
  const message = new TextEncoder().encode('pay 1 to bob');
  const r = await sign(keyId, message, 'ECDSA_SHA_256', {}, { 'x-api-key': signer.apiKey });
  expect(r.status).toBe(200);
  // ECDSA_SHA_256 over a RAW message: the device signs SHA-256(message).
  expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([
    expect.objectContaining({
      operation: 'Sign',
      decision: 'accept',
      keyId,
      apiKeyId: signer.id,
      gate: null,
      reason: null,
      signedDigest: sha256(sha256(message)).toString('hex'),
    }),
  ]);

  // Ed25519 signs the message itself.
  const ed = await createKey('ECC_NIST_EDWARDS25519');
  const r2 = await sign(ed, message, 'ED25519_SHA_512');
  expect(r2.status).toBe(200);
  expect(recordsOf(r2.headers.get('x-amzn-requestid'))[0]).toMatchObject({ decision: 'accept', signedDigest: sha256(message).toString('hex') });
});

it('records every refused Sign with the error type and the KeyId as sent', async () => {
  const keyId = await createKey();
  const cases: [string, Promise<Awaited<ReturnType<typeof sign>>>, string][] = [
    ['NotFoundException', sign('alias/nope', new Uint8Array([1])), 'alias/nope'],
    ['DryRunOperationException', sign(keyId, new Uint8Array([1]), 'ECDSA_SHA_256', { DryRun: true }), keyId],
    ['ValidationException', sign(keyId, new Uint8Array([1]), 'NOT_AN_ALGORITHM'), keyId],
    ['InvalidKeyUsageException', sign(keyId, new Uint8Array([1]), 'ED25519_SHA_512'), keyId],
  ];
  for (const [type, pending, sentKeyId] of cases) {
    const r = await pending;
    expect(r.json.__type).toBe(type);
    expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([
      expect.objectContaining({
        operation: 'Sign',
        decision: 'deny',
        reason: type,
        keyId: sentKeyId,
        apiKeyId: t.admin.id,
        gate: null,
        signedDigest: null,
      }),
    ]);
  }
  expect((await t.call('DisableKey', { KeyId: keyId })).status).toBe(200);
  const disabled = await sign(keyId, new Uint8Array([1]));
  expect(recordsOf(disabled.headers.get('x-amzn-requestid'))[0]).toMatchObject({ decision: 'deny', reason: 'DisabledException' });
});

it('records auth-gate refusals (gate auth): a known key one by one, the unknown in aggregate; never the credential', async () => {
  const keyId = await createKey();
  const bogus = 'kmsgate_' + 'A'.repeat(43);
  await t.gateway.authRefusals.flush();
  const before = readAuditTail(t.db, 1)[0]!.seq;
  const unknown = await sign(keyId, new Uint8Array([1]), 'ECDSA_SHA_256', {}, { 'x-api-key': bogus });
  expect(unknown.json.__type).toBe('UnrecognizedClientException');
  const none = await t.call('Sign', {}, { 'x-api-key': null });
  expect(none.json.__type).toBe('MissingAuthenticationTokenException');
  const odd = await t.call('NoSuchOperation', {}, { 'x-api-key': bogus });
  expect(odd.json.__type).toBe('UnrecognizedClientException');
  // Nothing per request for a caller nobody knows: the refusals are tallied and written together.
  expect(readAuditTail(t.db, 1)[0]!.seq).toBe(before);
  await t.gateway.authRefusals.flush();
  const aggregated = readAuditTail(t.db, 10).filter((r) => r.seq > before);
  expect(aggregated.map((r) => ({ ...r, summary: JSON.parse(r.summary!) as unknown }))).toEqual([
    expect.objectContaining({
      operation: '*',
      decision: 'deny',
      gate: 'auth',
      reason: 'UnrecognizedClientException',
      apiKeyId: null,
      keyId: null,
      summary: expect.objectContaining({ source: '127.0.0.1', count: 2, operations: { Sign: 1, unknown: 1 } }),
    }),
    expect.objectContaining({
      operation: '*',
      reason: 'MissingAuthenticationTokenException',
      summary: expect.objectContaining({ count: 1, operations: { Sign: 1 } }),
    }),
  ]);

  const signer = t.newKey('signer');
  const denied = await t.call('CreateKey', {}, { 'x-api-key': signer.apiKey });
  expect(denied.json.__type).toBe('AccessDeniedException');
  expect(recordsOf(denied.headers.get('x-amzn-requestid'))).toEqual([
    expect.objectContaining({
      operation: 'CreateKey',
      decision: 'deny',
      gate: 'auth',
      reason: 'AccessDeniedException',
      apiKeyId: signer.id,
    }),
  ]);

  const everything = readFileSync(jsonlPath(), 'utf8') + JSON.stringify(readAuditTail(t.db, 100_000));
  for (const secret of [bogus, signer.apiKey, signer.secretAccessKey, t.admin.apiKey, t.admin.secretAccessKey]) expect(everything).not.toContain(secret);
});

it('records state-changing admin operations as decision admin', async () => {
  const created = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'treasury' });
  const keyId = created.json.KeyMetadata.KeyId as string;
  expect(recordsOf(created.headers.get('x-amzn-requestid'))).toEqual([
    expect.objectContaining({
      operation: 'CreateKey',
      decision: 'admin',
      keyId,
      apiKeyId: t.admin.id,
      summary: JSON.stringify({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'treasury' }),
    }),
  ]);
  const calls: [string, Record<string, unknown>][] = [
    ['CreateAlias', { AliasName: 'alias/treasury', TargetKeyId: keyId }],
    ['TagResource', { KeyId: keyId, Tags: [{ TagKey: 'team', TagValue: 'ops' }] }],
    ['UntagResource', { KeyId: keyId, TagKeys: ['team'] }],
    ['UpdateKeyDescription', { KeyId: keyId, Description: 'hot wallet' }],
    ['DisableKey', { KeyId: keyId }],
    ['EnableKey', { KeyId: keyId }],
    ['DeleteAlias', { AliasName: 'alias/treasury' }],
    ['ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }],
    ['CancelKeyDeletion', { KeyId: keyId }],
  ];
  for (const [op, body] of calls) {
    const r = await t.call(op, body);
    expect(r.status).toBe(200);
    expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([expect.objectContaining({ operation: op, decision: 'admin', apiKeyId: t.admin.id })]);
  }
  // Reads are not recorded.
  const read = await t.call('DescribeKey', { KeyId: keyId });
  expect(recordsOf(read.headers.get('x-amzn-requestid'))).toEqual([]);
});

it('records a failed device call as a denial at the backend gate', async () => {
  const keyId = await createKey();
  const sim = t.gateway.backends.simulators.get('yubihsm')!;
  const port = sim.port;
  await sim.close();
  try {
    const r = await sign(keyId, new Uint8Array([1]));
    expect(r.json.__type).toBe('KeyUnavailableException');
    expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([
      expect.objectContaining({
        decision: 'deny',
        gate: 'backend',
        reason: 'KeyUnavailableException',
        keyId,
      }),
    ]);
  } finally {
    const again = await startSimulator({ host: '127.0.0.1', port, statePath: join(t.dataDir, 'yubihsm-sim.json') });
    t.gateway.backends.simulators.set('yubihsm', again);
  }
});

it('returns no signature when the audit record cannot be written, and signs again once it can', async () => {
  const keyId = await createKey();
  const before = verifyAuditChain(t.db);
  rmSync(jsonlPath());
  mkdirSync(jsonlPath()); // the mirror cannot be opened for writing any more
  try {
    const r = await sign(keyId, new Uint8Array([1, 2, 3]));
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ __type: 'KMSInternalException', message: expect.any(String) });
    expect(r.text).not.toContain('Signature');
    expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([]);
    expect(verifyAuditChain(t.db)).toEqual(before);
  } finally {
    rmSync(jsonlPath(), { recursive: true });
  }
  const ok = await sign(keyId, new Uint8Array([1, 2, 3]));
  expect(ok.status).toBe(200);
  expect(recordsOf(ok.headers.get('x-amzn-requestid'))[0]).toMatchObject({ decision: 'accept' });
});

it('returns no signature from any of many concurrent Signs (group commits) while records cannot be written', async () => {
  const keyId = await createKey();
  const before = verifyAuditChain(t.db);
  rmSync(jsonlPath());
  mkdirSync(jsonlPath());
  try {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => sign(keyId, new Uint8Array([9, i]))));
    for (const r of replies) {
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ __type: 'KMSInternalException', message: expect.any(String) });
      expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([]);
    }
    expect(verifyAuditChain(t.db)).toEqual(before);
  } finally {
    rmSync(jsonlPath(), { recursive: true });
  }
  const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => sign(keyId, new Uint8Array([9, i]))));
  for (const r of replies) expect(recordsOf(r.headers.get('x-amzn-requestid'))).toEqual([expect.objectContaining({ decision: 'accept' })]);
});

it('leaves a chain that verifies, and a mirror (restarted after the failure) that matches it', () => {
  expect(verifyAuditChain(t.db)).toMatchObject({ ok: true });
  expect(verifyAuditJsonl(t.db, jsonlPath())).toMatchObject({ ok: true });
});
