import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { KmsError, type KmsErrorType } from '@kmsgate/core';
import { openSqliteGatewayStore, type ApiKeyRepository, type GatewayStore, type GeneratedApiKey, type Principal } from '@kmsgate/store';
import { authenticate, authorize, type AuthRequest } from '../../src/auth/authenticate';
import { findOperation } from '../../src/operations';
import { signWithAwsSdk } from './sign-with-aws-sdk';

const NOW = new Date('2026-01-01T12:00:00Z');
const INVALID = 'The security token included in the request is invalid.';

let dir: string;
let opened: GatewayStore;
let store: ApiKeyRepository;
let admin: GeneratedApiKey;
let signer: GeneratedApiKey;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-auth-'));
  opened = openSqliteGatewayStore({ KMSGATE_DATA_DIR: dir }, { create: true });
  store = opened.apiKeys;
  admin = await store.generate({ label: 'ops', role: 'admin' });
  signer = await store.generate({ label: 'hot wallet', role: 'signer' });
});
afterEach(async () => {
  await opened.close();
  rmSync(dir, { recursive: true, force: true });
});

function plain(headers: AuthRequest['headers']): AuthRequest {
  return { method: 'POST', path: '/', headers: { host: 'kms.example.test', ...headers }, body: new Uint8Array() };
}

function expectRejected(f: () => unknown, type: KmsErrorType, message: string): KmsError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KmsError);
  expect((err as KmsError).type).toBe(type);
  expect((err as KmsError).message).toBe(message);
  return err as KmsError;
}

async function expectRefused(p: Promise<unknown>, type: KmsErrorType, message: string): Promise<KmsError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  expect((err as KmsError).type).toBe(type);
  expect((err as KmsError).message).toBe(message);
  return err as KmsError;
}

describe('authenticate', () => {
  test("x-api-key: the key's principal, and last_used_at is recorded", async () => {
    expect(await authenticate(plain({ 'x-api-key': signer.apiKey }), store, NOW)).toEqual({
      apiKeyId: signer.id,
      label: 'hot wallet',
      role: 'signer',
    });
    expect((await store.get(signer.id))?.lastUsedAt).toEqual(NOW);
    expect((await store.get(admin.id))?.lastUsedAt).toBeNull();
    expect((await authenticate(plain({ 'X-Api-Key': [admin.apiKey] }), store, NOW)).role).toBe('admin');
  });

  test('x-api-key unknown, revoked, empty or repeated: UnrecognizedClientException', async () => {
    await expectRefused(authenticate(plain({ 'x-api-key': 'kmsgate_nope' }), store, NOW), 'UnrecognizedClientException', INVALID);
    await expectRefused(authenticate(plain({ 'x-api-key': '' }), store, NOW), 'UnrecognizedClientException', INVALID);
    await expectRefused(authenticate(plain({ 'x-api-key': [signer.apiKey, signer.apiKey] }), store, NOW), 'UnrecognizedClientException', INVALID);
    await store.revoke(signer.id);
    const err = await expectRefused(authenticate(plain({ 'x-api-key': signer.apiKey }), store, NOW), 'UnrecognizedClientException', INVALID);
    expect(err.message).not.toContain(signer.apiKey);
  });

  test('x-api-key takes precedence over an Authorization header', async () => {
    const p = await authenticate(plain({ 'x-api-key': admin.apiKey, authorization: 'Bearer whatever' }), store, NOW);
    expect(p.apiKeyId).toBe(admin.id);
  });

  test("SigV4 with the key's access key id and secret", async () => {
    const req = await signWithAwsSdk({ accessKeyId: signer.accessKeyId, secretAccessKey: signer.secretAccessKey, date: NOW });
    expect(await authenticate(req, store, NOW)).toEqual({ apiKeyId: signer.id, label: 'hot wallet', role: 'signer' });
    expect((await store.get(signer.id))?.lastUsedAt).toEqual(NOW);
  });

  test('SigV4 of a revoked key: UnrecognizedClientException on the very next request', async () => {
    const req = await signWithAwsSdk({ accessKeyId: signer.accessKeyId, secretAccessKey: signer.secretAccessKey, date: NOW });
    await authenticate(req, store, NOW);
    await store.revoke(signer.id);
    await expectRefused(authenticate(req, store, NOW), 'UnrecognizedClientException', INVALID);
  });

  test("SigV4 signed with another key's secret: InvalidSignatureException", async () => {
    const req = await signWithAwsSdk({ accessKeyId: signer.accessKeyId, secretAccessKey: admin.secretAccessKey, date: NOW });
    const err = await expectRefused(
      authenticate(req, store, NOW),
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
    expect(err.message).not.toContain(admin.secretAccessKey);
  });

  test('another Authorization scheme: IncompleteSignatureException that does not echo the credential', async () => {
    const err = await expectRefused(
      authenticate(plain({ authorization: 'Bearer s3cr3t-t0ken' }), store, NOW),
      'IncompleteSignatureException',
      "Unsupported AWS 'algorithm': 'Bearer'. Sign with AWS4-HMAC-SHA256 (AWS Signature Version 4) or send an x-api-key header.",
    );
    expect(err.message).not.toContain('s3cr3t');
    const bare = await expectRefused(
      authenticate(plain({ authorization: signer.apiKey }), store, NOW),
      'IncompleteSignatureException',
      "Unsupported AWS 'algorithm': '…'. Sign with AWS4-HMAC-SHA256 (AWS Signature Version 4) or send an x-api-key header.",
    );
    expect(bare.message).not.toContain(signer.apiKey);
  });

  test('no credentials at all: MissingAuthenticationTokenException', async () => {
    await expectRefused(authenticate(plain({}), store, NOW), 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    await expectRefused(authenticate(plain({ authorization: '  ' }), store, NOW), 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  });
});

describe('authorize', () => {
  const adminP: Principal = { apiKeyId: 'ak_00000000000000aa', label: 'ops', role: 'admin' };
  const signerP: Principal = { apiKeyId: 'ak_00000000000000bb', label: 'hot wallet', role: 'signer' };
  const briefList = [
    'CreateKey',
    'ScheduleKeyDeletion',
    'CancelKeyDeletion',
    'DisableKey',
    'EnableKey',
    'CreateAlias',
    'UpdateAlias',
    'DeleteAlias',
    'PutKeyPolicy',
    'TagResource',
    'UntagResource',
    'UpdateKeyDescription',
  ];

  test('admin may call everything', () => {
    for (const op of [...briefList, 'Sign', 'Verify', 'GetPublicKey', 'DescribeKey', 'ListKeys']) {
      expect(() => authorize(adminP, findOperation(op)!)).not.toThrow();
    }
  });

  test('signer may sign, verify and read', () => {
    for (const op of ['Sign', 'Verify', 'GetPublicKey', 'DescribeKey', 'ListKeys', 'ListAliases', 'GenerateRandom']) {
      expect(() => authorize(signerP, findOperation(op)!)).not.toThrow();
    }
  });

  test.each(briefList)('signer may not call %s', (op) => {
    expect(findOperation(op)!.access).toBe('admin');
    expectRejected(
      () => authorize(signerP, findOperation(op)!),
      'AccessDeniedException',
      `User: hot wallet (api key ak_00000000000000bb) is not authorized to perform: kms:${op} because its role is signer`,
    );
  });

  test('an unknown role may call nothing', () => {
    const odd = { ...signerP, role: 'auditor' } as unknown as Principal;
    expectRejected(
      () => authorize(odd, findOperation('Sign')!),
      'AccessDeniedException',
      'User: hot wallet (api key ak_00000000000000bb) is not authorized to perform: kms:Sign because its role is auditor',
    );
  });
});

describe('through HTTP with the real @aws-sdk/client-kms', () => {
  let server: Server;
  let endpoint: string;

  // A stand-in for the gateway's request path: Node's own header parsing, then the auth gate.
  beforeEach(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        authenticate({ method: req.method!, path: req.url!, headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) }, store, new Date())
          .then((principal) => {
            authorize(principal, findOperation(String(req.headers['x-amz-target']).replace('TrentService.', ''))!);
            res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
            res.end(JSON.stringify({ Keys: [], Truncated: false }));
          })
          .catch((e: unknown) => {
            const err = e instanceof KmsError ? e : new KmsError('KMSInternalException', 'internal');
            res.writeHead(err.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': err.type });
            res.end(JSON.stringify({ __type: err.type, message: err.message }));
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (accessKeyId: string, secretAccessKey: string) =>
    new KMSClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });

  test('a signer key lists keys, and is refused CreateKey', async () => {
    const kms = client(signer.accessKeyId, signer.secretAccessKey);
    await expect(kms.send(new ListKeysCommand({}))).resolves.toMatchObject({ Keys: [] });
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: `User: hot wallet (api key ${signer.id}) is not authorized to perform: kms:CreateKey because its role is signer`,
    });
    kms.destroy();
  });

  test('a wrong secret, an unknown id and a revoked key are refused the way AWS refuses them', async () => {
    const wrong = client(signer.accessKeyId, admin.secretAccessKey);
    await expect(wrong.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    wrong.destroy();
    const unknown = client('KGAAAAAAAAAAAAAAAAAA', admin.secretAccessKey);
    await expect(unknown.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException', message: INVALID });
    unknown.destroy();
    await store.revoke(admin.id);
    const revoked = client(admin.accessKeyId, admin.secretAccessKey);
    await expect(revoked.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    revoked.destroy();
  });
});
