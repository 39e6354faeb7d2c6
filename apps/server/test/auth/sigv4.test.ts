import { KmsError, type KmsErrorType } from '@kmsgate/core';
import type { Principal } from '@kmsgate/store';
import { buildCanonicalRequest, buildStringToSign, deriveSigningKey, verifySigV4, type SigV4Request } from '../../src/auth/sigv4';
import { createHash, createHmac } from 'node:crypto';
import { signWithAwsSdk, type SignInput, type SignedRequest } from './sign-with-aws-sdk';

const NOW = new Date('2026-01-01T12:00:00Z');
const AKID = 'KGABCDEFGHIJKLMNOPQR';
const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEy';
const PRINCIPAL: Principal = { apiKeyId: 'ak_0123456789abcdef', label: 'test', role: 'signer' };
const lookup = (id: string) => (id === AKID ? { principal: PRINCIPAL, secretAccessKey: SECRET } : undefined);

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function sign(over: Partial<SignInput> = {}): Promise<SignedRequest> {
  return signWithAwsSdk({ accessKeyId: AKID, secretAccessKey: SECRET, date: NOW, ...over });
}

function signatureOf(req: SignedRequest): string {
  return /Signature=([0-9a-f]+)/.exec(req.headers.authorization!)![1]!;
}

/** Runs the verifier and returns the KmsError it throws, checking that no secret leaked into it. */
function rejection(req: SigV4Request, now = NOW): KmsError {
  try {
    verifySigV4(req, lookup, now);
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    const err = e as KmsError;
    expect(err.message).not.toContain(SECRET);
    const auth = req.headers.authorization ?? req.headers.Authorization;
    const sig = typeof auth === 'string' ? /Signature=(\S+)/.exec(auth)?.[1] : undefined;
    if (sig && sig.length > 8) expect(err.message).not.toContain(sig);
    return err;
  }
  throw new Error('expected the request to be rejected');
}

function expectRejected(req: SigV4Request, type: KmsErrorType, message: string | RegExp, now = NOW): void {
  const err = rejection(req, now);
  expect(err.type).toBe(type);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
}

describe('requests signed by the AWS SDK signer verify', () => {
  test('a KMS Sign request', async () => {
    const req = await sign();
    expect(req.headers['x-amz-content-sha256']).toBeDefined();
    expect(verifySigV4(req, lookup, NOW)).toBe(PRINCIPAL);
  });

  test('without x-amz-content-sha256, any region, an encoded path and a query string', async () => {
    const req = await sign({
      applyChecksum: false,
      region: 'eu-central-1',
      path: '/some%20dir/x/Sign',
      query: { b: 'two words', a: ['2', '1'], ünï: 'ç=d' },
    });
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    expect(req.path).toContain('?');
    expect(verifySigV4(req, lookup, NOW)).toBe(PRINCIPAL);
  });

  test('a path with an empty, "." or ".." segment is refused: the router would not see the path that was signed', async () => {
    for (const path of ['/some/./Sign', '/x/../Sign', '//Sign', '/Sign/', '/a//b']) {
      const req = await sign({ path });
      expect(() => verifySigV4(req, lookup, NOW)).toThrow(
        expect.objectContaining({ type: 'InvalidSignatureException', message: "The request path must not contain empty, '.' or '..' segments." }),
      );
    }
  });

  test('X-Amz-Target and Content-Type must be signed when they are sent (every AWS SDK and the CLI sign them)', async () => {
    for (const [name, shown] of [
      ['x-amz-target', 'X-Amz-Target'],
      ['content-type', 'Content-Type'],
    ]) {
      // Sent, but left out of SignedHeaders: a captured request could be replayed as another operation.
      const unsigned = await sign({ unsignableHeaders: new Set([name!]) });
      expect(unsigned.headers.authorization).not.toContain(name!);
      expect(() => verifySigV4(unsigned, lookup, NOW)).toThrow(
        expect.objectContaining({ type: 'InvalidSignatureException', message: `'${shown}' must be a 'SignedHeader' in the AWS Authorization.` }),
      );
    }
  });

  test('a GET with an empty body, and a host with a port', async () => {
    const req = await sign({ method: 'GET', body: '', host: '127.0.0.1:4000' });
    expect(verifySigV4(req, lookup, NOW)).toBe(PRINCIPAL);
  });

  test('a signed X-Amz-Security-Token is carried along and ignored', async () => {
    const req = await sign({ sessionToken: 'FwoGZXIvYXdzEXAMPLE' });
    expect(req.headers.authorization).toContain('x-amz-security-token');
    expect(verifySigV4(req, lookup, NOW)).toBe(PRINCIPAL);
  });

  test('header names in any case, repeated headers as arrays, unsigned headers changed freely', async () => {
    const req = await sign({ headers: { 'x-custom': 'a   b' } });
    const upper: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) upper[k.toUpperCase()] = v;
    upper['USER-AGENT'] = 'anything/1.0';
    upper['X-CUSTOM'] = ['  a b '];
    expect(verifySigV4({ ...req, headers: upper }, lookup, NOW)).toBe(PRINCIPAL);
  });

  test('a Date header instead of X-Amz-Date (no AWS signer emits one, so signed here with the spec steps)', () => {
    const headers = { host: 'kms.example.test', date: '20260101T120000Z', 'x-amz-target': 'TrentService.ListKeys' };
    const body = new TextEncoder().encode('{}');
    const signed = ['date', 'host', 'x-amz-target'];
    const creq = buildCanonicalRequest({ method: 'POST', path: '/', headers }, signed, createHash('sha256').update(body).digest('hex'));
    const sts = buildStringToSign('20260101T120000Z', '20260101/us-east-1/kms/aws4_request', creq);
    const sig = createHmac('sha256', deriveSigningKey(SECRET, '20260101', 'us-east-1', 'kms'))
      .update(sts)
      .digest('hex');
    const authorization = `AWS4-HMAC-SHA256 Credential=${AKID}/20260101/us-east-1/kms/aws4_request, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
    expect(verifySigV4({ method: 'POST', path: '/', headers: { ...headers, authorization }, body }, lookup, NOW)).toBe(PRINCIPAL);
  });

  test('exactly 5 minutes of skew either way is accepted', async () => {
    const req = await sign();
    expect(verifySigV4(req, lookup, new Date(NOW.getTime() + 5 * 60_000))).toBe(PRINCIPAL);
    expect(verifySigV4(req, lookup, new Date(NOW.getTime() - 5 * 60_000))).toBe(PRINCIPAL);
  });
});

describe('every mutation is rejected with the exception AWS uses', () => {
  test('changed body (no x-amz-content-sha256 signed)', async () => {
    const req = await sign({ applyChecksum: false });
    const body = Buffer.from(req.body);
    body[body.length - 2] = body[body.length - 2]! ^ 1;
    expectRejected({ ...req, body }, 'InvalidSignatureException', MISMATCH);
  });

  test('changed body with x-amz-content-sha256 signed', async () => {
    const req = await sign();
    expectRejected(
      { ...req, body: new Uint8Array([...req.body, 0x20]) },
      'InvalidSignatureException',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  });

  test('x-amz-content-sha256 that is not the body hash, even if signed', async () => {
    const req = await sign({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expectRejected(req, 'InvalidSignatureException', /x-amz-content-sha256/);
  });

  test.each(['x-amz-target', 'host', 'content-type', 'x-amz-date'])('changed signed header %s', async (name) => {
    const req = await sign();
    const value = name === 'x-amz-date' ? '20260101T120001Z' : `${req.headers[name]}x`;
    expectRejected({ ...req, headers: { ...req.headers, [name]: value } }, 'InvalidSignatureException', MISMATCH);
  });

  test('a signed header removed', async () => {
    const req = await sign();
    const headers = { ...req.headers };
    delete headers['x-amz-target'];
    expectRejected({ ...req, headers }, 'InvalidSignatureException', MISMATCH);
  });

  test('changed method, path or query', async () => {
    const req = await sign({ query: { a: '1' } });
    expectRejected({ ...req, method: 'PUT' }, 'InvalidSignatureException', MISMATCH);
    expectRejected({ ...req, path: '/x?a=1' }, 'InvalidSignatureException', MISMATCH);
    expectRejected({ ...req, path: '/?a=2' }, 'InvalidSignatureException', MISMATCH);
    expectRejected({ ...req, path: '/?a=1&b=' }, 'InvalidSignatureException', MISMATCH);
  });

  test('wrong secret', async () => {
    const req = await sign({ secretAccessKey: SECRET.replace('c', 'd') });
    expectRejected(req, 'InvalidSignatureException', MISMATCH);
  });

  test('tampered or truncated signature', async () => {
    const req = await sign();
    const sig = signatureOf(req);
    const flip = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    for (const bad of [flip, sig.slice(0, -2), sig.toUpperCase(), '']) {
      const headers = { ...req.headers, authorization: req.headers.authorization!.replace(sig, bad) };
      expectRejected({ ...req, headers }, 'InvalidSignatureException', MISMATCH);
    }
  });

  test('unknown access key id', async () => {
    const req = await sign({ accessKeyId: 'KGZZZZZZZZZZZZZZZZZZ' });
    expectRejected(req, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  });

  test('wrong service in the credential scope', async () => {
    const req = await sign({ service: 's3' });
    expectRejected(req, 'InvalidSignatureException', "Credential should be scoped to correct service: 'kms'.");
  });

  test('scope date different from the x-amz-date day', async () => {
    const lateNow = new Date('2026-01-01T23:58:00Z');
    const req = await sign({ date: lateNow });
    const headers = { ...req.headers, 'x-amz-date': '20260102T000100Z' };
    expectRejected(
      { ...req, headers },
      'InvalidSignatureException',
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20260102', from '20260102T000100Z'.",
      lateNow,
    );
  });

  test('bad terminator and region, reported together', async () => {
    const req = await sign();
    const headers = {
      ...req.headers,
      authorization: req.headers.authorization!.replace('/us-east-1/kms/aws4_request', '/US_EAST/kms/aws5_request'),
    };
    expectRejected(
      { ...req, headers },
      'InvalidSignatureException',
      "Credential should be scoped to a valid region, not 'US_EAST'. " +
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
    );
  });

  test('expired (more than 5 minutes old)', async () => {
    const req = await sign({ date: new Date(NOW.getTime() - 6 * 60_000) });
    expectRejected(req, 'InvalidSignatureException', 'Signature expired: 20260101T115400Z is now earlier than 20260101T115500Z (20260101T120000Z - 5 min.)');
  });

  test('future-dated (more than 5 minutes ahead)', async () => {
    const req = await sign({ date: new Date(NOW.getTime() + 5 * 60_000 + 1000) });
    expectRejected(
      req,
      'InvalidSignatureException',
      'Signature not yet current: 20260101T120501Z is still later than 20260101T120500Z (20260101T120000Z + 5 min.)',
    );
  });

  test.each([
    ['Signature', "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256"],
    ['Credential', "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256"],
    ['SignedHeaders', "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"],
  ])('missing %s', async (param, message) => {
    const req = await sign();
    const authorization = req.headers
      .authorization!.split(', ')
      .map((p) => p.replace(/^AWS4-HMAC-SHA256 /, ''))
      .filter((p) => !p.startsWith(`${param}=`))
      .join(', ');
    const headers = { ...req.headers, authorization: `AWS4-HMAC-SHA256 ${authorization}` };
    expectRejected({ ...req, headers }, 'IncompleteSignatureException', message);
  });

  test('missing every part and the date', async () => {
    const req = await sign();
    const headers: Record<string, string> = { ...req.headers, authorization: 'AWS4-HMAC-SHA256' };
    delete headers['x-amz-date'];
    expectRejected(
      { ...req, headers },
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
        "Authorization header requires 'SignedHeaders' parameter. " +
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256",
    );
  });

  test('garbage Authorization headers', async () => {
    const req = await sign();
    const sig = signatureOf(req);
    const withAuth = (authorization: string) => ({ ...req, headers: { ...req.headers, authorization } });
    expectRejected(
      withAuth('AWS4-HMAC-SHA256 garbage'),
      'IncompleteSignatureException',
      "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 …'",
    );
    // A stray token that might be part of a signature is not repeated back.
    expectRejected(
      withAuth(`AWS4-HMAC-SHA256 Credential=${AKID}/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature ${sig}`),
      'IncompleteSignatureException',
      "'…' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 …'",
    );
    expectRejected(
      withAuth('AWS4-HMAC-SHA512 Credential=x, SignedHeaders=host, Signature=00'),
      'IncompleteSignatureException',
      "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'.",
    );
    expectRejected(withAuth('\u0000\u00ff\u2028'), 'IncompleteSignatureException', "Unsupported AWS 'algorithm': '…'.");
    expectRejected(
      withAuth(`AWS4-HMAC-SHA256 Credential=${AKID}, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${sig}`),
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${AKID}'`,
    );
    expectRejected(withAuth(''), 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  });

  test('host not signed', async () => {
    const req = await sign({ unsignableHeaders: new Set(['host']) });
    expect(req.headers.authorization).not.toMatch(/SignedHeaders=[^,]*host/);
    expectRejected(req, 'InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  });

  test('x-amz-date not signed', async () => {
    const req = await sign({ unsignableHeaders: new Set(['x-amz-date']) });
    expectRejected(req, 'InvalidSignatureException', "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  });

  test('a date that is not ISO 8601 basic format', async () => {
    const req = await sign();
    for (const bad of ['2026-01-01T12:00:00Z', 'Thu, 01 Jan 2026 12:00:00 GMT', '20260230T120000Z']) {
      expectRejected(
        { ...req, headers: { ...req.headers, 'x-amz-date': bad } },
        'IncompleteSignatureException',
        `Date must be in ISO-8601 'basic format'. Got '${bad}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      );
    }
  });

  test('no x-amz-date but a Date header: it must be signed and well-formed', async () => {
    const req = await sign();
    const headers: Record<string, string> = { ...req.headers, date: '20260101T120000Z' };
    delete headers['x-amz-date'];
    // SignedHeaders still names x-amz-date, not date.
    expectRejected({ ...req, headers }, 'InvalidSignatureException', "'Date' must be a 'SignedHeader' in the AWS Authorization.");
  });
});
