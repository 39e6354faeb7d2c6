/**
 * AWS's published SigV4 test suite (see the `source` and `url` in the vector file). Each case must
 * verify with the verifier configured for its service, and our canonical request and string to sign
 * must equal AWS's byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KmsError } from '@kmsgate/core';
import { buildCanonicalRequest, buildStringToSign, verifySigV4Request, type SigV4Request } from '../../src/auth/sigv4';

interface VectorCase {
  name: string;
  result: string;
  normalize: boolean;
  region: string;
  service: string;
  timestamp: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  request: { method: string; target: string; headers: [string, string][]; body: string };
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

const file = JSON.parse(readFileSync(join(__dirname, '..', 'vectors', 'aws-sig-v4-test-suite.json'), 'utf8')) as {
  source: string;
  url: string;
  cases: VectorCase[];
};

for (const c of file.cases) {
  if (c.result !== 'valid' && c.result !== 'invalid') throw new Error(`${c.name}: unknown result label '${c.result}'`);
}

function toRequest(c: VectorCase): SigV4Request {
  const headers: Record<string, string[]> = {};
  for (const [name, value] of c.request.headers) (headers[name.toLowerCase()] ??= []).push(value);
  return { method: c.request.method, path: c.request.target, headers, body: new TextEncoder().encode(c.request.body) };
}

function authorizationOf(req: SigV4Request): string {
  return (req.headers.authorization as string[])[0]!;
}

const principal = { who: 'AKIDEXAMPLE' };

function verify(c: VectorCase, req: SigV4Request): unknown {
  const lookup = (id: string) => (id === c.credentials.accessKeyId ? { principal, secretAccessKey: c.credentials.secretAccessKey } : undefined);
  return verifySigV4Request(req, lookup, new Date(c.timestamp), { service: c.service, normalizePath: c.normalize });
}

test('the vector file records its source and holds the whole v4 suite', () => {
  expect(file.url).toMatch(/^https:\/\/github\.com\/awslabs\/aws-c-auth\/tree\/[0-9a-f]{40}\//);
  expect(file.cases.length).toBeGreaterThanOrEqual(30);
  expect(file.cases.map((c) => c.name)).toEqual(expect.arrayContaining(['get-vanilla', 'post-x-www-form-urlencoded']));
});

describe.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  const req = toRequest(c);

  test('canonical request and string to sign match AWS', () => {
    const signedHeaders = /SignedHeaders=([^,\s]+)/.exec(authorizationOf(req))![1]!.split(';');
    const payloadHash = c.canonicalRequest.slice(c.canonicalRequest.lastIndexOf('\n') + 1);
    const creq = buildCanonicalRequest(req, signedHeaders, payloadHash, c.normalize);
    expect(creq).toBe(c.canonicalRequest);
    const [, amzDate, scope] = c.stringToSign.split('\n');
    expect(buildStringToSign(amzDate!, scope!, creq)).toBe(c.stringToSign);
  });

  if (c.result === 'valid') {
    test('verifies', () => {
      expect(verify(c, req)).toBe(principal);
    });
  }

  test('a one-digit change of the signature is rejected', () => {
    const auth = authorizationOf(req);
    const last = auth.slice(-1);
    const bad = auth.slice(0, -1) + (last === '0' ? '1' : '0');
    const err = (() => {
      try {
        verify(c, { ...req, headers: { ...req.headers, authorization: [bad] } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KmsError);
    expect((err as KmsError).type).toBe('InvalidSignatureException');
  });
});
