/**
 * Signs requests with the AWS SDK's own SigV4 signer (the one @aws-sdk/client-kms uses), so the
 * verifier is tested against AWS's implementation rather than against itself.
 */
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SigV4Request } from '../../src/auth/sigv4';

export interface SignInput {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  date: Date;
  region?: string;
  service?: string;
  method?: string;
  host?: string;
  /** Already percent-encoded, as the SDK's serializers produce it. */
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
  /** The SDK adds x-amz-content-sha256 unless told not to. */
  applyChecksum?: boolean;
  unsignableHeaders?: Set<string>;
}

export interface SignedRequest extends SigV4Request {
  headers: Record<string, string>;
}

export async function signWithAwsSdk(input: SignInput): Promise<SignedRequest> {
  const host = input.host ?? 'kms.example.test';
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
      ...(input.sessionToken ? { sessionToken: input.sessionToken } : {}),
    },
    region: input.region ?? 'us-east-1',
    service: input.service ?? 'kms',
    sha256: Sha256,
    applyChecksum: input.applyChecksum ?? true,
  });
  const body = input.body ?? '{"KeyId":"alias/test","Message":"aGVsbG8=","SigningAlgorithm":"ECDSA_SHA_256"}';
  const request = new HttpRequest({
    method: input.method ?? 'POST',
    protocol: 'https:',
    hostname: host,
    path: input.path ?? '/',
    query: input.query ?? {},
    headers: {
      host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.Sign',
      'content-length': String(Buffer.byteLength(body)),
      ...input.headers,
    },
    body,
  });
  const signed = (await signer.sign(request, {
    signingDate: input.date,
    ...(input.unsignableHeaders ? { unsignableHeaders: input.unsignableHeaders } : {}),
  })) as HttpRequest;
  return {
    method: signed.method,
    path: signed.path + queryString(signed.query as Record<string, string | string[] | null>),
    headers: { ...signed.headers },
    body: new Uint8Array(Buffer.from(body, 'utf8')),
  };
}

/** The query string as the SDK's HTTP handler puts it on the wire (RFC 3986 escaping). */
function queryString(query: Record<string, string | string[] | null>): string {
  const esc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === null) parts.push(esc(k));
    else for (const one of Array.isArray(v) ? v : [v]) parts.push(`${esc(k)}=${esc(one)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
