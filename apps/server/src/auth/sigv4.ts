/**
 * AWS Signature Version 4 verification, server side, written from AWS's description of the
 * signer: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * Checks run in the order AWS reports them (header shape, signed headers, date format, clock skew,
 * credential scope, access key, signature), with AWS's wording, except that nothing the client sent
 * as a secret or a signature is ever echoed back.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { KmsError } from '@kmsgate/core';
import type { Principal } from '@kmsgate/store';

/** The only algorithm of SigV4 (SigV4a's `AWS4-ECDSA-P256-SHA256` is not supported). */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** Signing name of AWS KMS in the credential scope (the `kms` in `…/us-east-1/kms/aws4_request`). */
export const KMS_SIGNING_SERVICE = 'kms';
/** How far the request date may be from the server clock, either way. AWS allows 15 minutes; we are stricter. */
export const SIGV4_MAX_SKEW_MS = 5 * 60 * 1000;
const SCOPE_TERMINATOR = 'aws4_request';

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface SigV4Request {
  method: string;
  /** The request target exactly as received: path plus `?query`, still percent-encoded. */
  path: string;
  /** Names in any case. Pass repeated headers as arrays (Node's `req.headersDistinct`) to keep their order. */
  headers: HeaderMap;
  body: Uint8Array;
}

export interface SigV4Secret<P> {
  principal: P;
  secretAccessKey: string;
}

export type SigV4SecretLookup<P> = (accessKeyId: string) => SigV4Secret<P> | undefined;

export interface SigV4Options {
  /** The service name the credential scope must carry. */
  service: string;
  /**
   * Remove `.`/`..` and empty segments from the path before encoding it, as every AWS service
   * except S3 does. Default true; false only exists for AWS's S3-style test vectors.
   */
  normalizePath?: boolean;
  maxSkewMs?: number;
  /**
   * Refuse a path with an empty, `.` or `..` segment: the signature covers the normalised path, so
   * only for a path that is already normal is the path that was signed the path that is routed.
   */
  requireNormalPath?: boolean;
  /** Headers (lowercase name, name as shown in the error) that must be signed whenever the request has them. */
  signedIfPresent?: readonly (readonly [string, string])[];
}

/** Verifies a request signed for service `kms` in any region; returns its principal or throws a KmsError. */
export function verifySigV4(req: SigV4Request, lookupSecret: SigV4SecretLookup<Principal>, now: Date): Principal {
  return verifySigV4Request(req, lookupSecret, now, KMS_SIGV4);
}

/**
 * kmsgate's SigV4 rules. X-Amz-Target names the operation and Content-Type the protocol: unsigned,
 * a captured request could be replayed as another operation. Every AWS SDK and the AWS CLI sign
 * both (@smithy/signature-v4 and botocore sign every header but a short list of hop-by-hop and
 * tracing ones).
 */
export const KMS_SIGV4: SigV4Options = {
  service: KMS_SIGNING_SERVICE,
  requireNormalPath: true,
  signedIfPresent: [
    ['x-amz-target', 'X-Amz-Target'],
    ['content-type', 'Content-Type'],
  ],
};

export function verifySigV4Request<P>(req: SigV4Request, lookupSecret: SigV4SecretLookup<P>, now: Date, options: SigV4Options): P {
  const headers = collectHeaders(req.headers);
  const head = checkSigV4Head(req.path, headers, lookupSecret, now, options);
  const { auth, found, amzDate, scopeDate, region, service } = head;

  const payloadHash = sha256Hex(req.body);
  // The header is S3's; other services ignore it. We accept it only as a restatement of the body hash
  // so a client that signs it (the AWS SDK signer adds it by default) cannot have it mean anything else.
  const declared = headers.get('x-amz-content-sha256');
  if (declared !== undefined && (declared.length !== 1 || declared[0]!.trim().toLowerCase() !== payloadHash)) {
    throw invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const creq = canonicalRequest(req.method, req.path, headers, auth.signedHeaders, payloadHash, options.normalizePath ?? true);
  const scope = [scopeDate, region, service, SCOPE_TERMINATOR].join('/');
  const sts = buildStringToSign(amzDate, scope, creq);
  const expected = hmac(deriveSigningKey(found.secretAccessKey, scopeDate, region, service), sts).toString('hex');
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(auth.signature, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw invalidSignature(
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return found.principal;
}

interface SigV4Head<P> {
  auth: ParsedAuthorization;
  found: SigV4Secret<P>;
  amzDate: string;
  scopeDate: string;
  region: string;
  service: string;
}

/**
 * Everything SigV4 lets a server check without the body: the Authorization header's shape, the
 * headers that must be signed, the date and clock skew, the credential scope and that the access
 * key exists. The server runs it before reading the body (an unknown key costs no body), and
 * again as the first half of `verifySigV4Request`.
 */
export function checkSigV4Head<P>(
  path: string,
  headers: Map<string, string[]>,
  lookupSecret: SigV4SecretLookup<P>,
  now: Date,
  options: SigV4Options,
): SigV4Head<P> {
  const auth = parseAuthorization(headers);

  // AWS rejects an unsigned host outright: without it a signature could be replayed to another endpoint.
  if (!auth.signedHeaders.includes('host')) {
    throw invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!auth.signedHeaders.includes(auth.dateHeader)) {
    const name = auth.dateHeader === 'date' ? 'Date' : 'X-Amz-Date';
    throw invalidSignature(`'${name}' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  for (const [name, shown] of options.signedIfPresent ?? []) {
    if (headers.has(name) && !auth.signedHeaders.includes(name)) {
      throw invalidSignature(`'${shown}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  if (options.requireNormalPath && !isNormalPath(path)) {
    throw invalidSignature("The request path must not contain empty, '.' or '..' segments.");
  }

  const requestTime = parseAmzDate(auth.date);
  if (requestTime === undefined) {
    throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${quote(auth.date)}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  checkClockSkew(requestTime, now, options.maxSkewMs ?? SIGV4_MAX_SKEW_MS);

  const credential = auth.credential.split('/');
  if (credential.length !== 5) {
    throw incomplete('Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, ' + `got '${quote(auth.credential)}'`);
  }
  const [accessKeyId, scopeDate, region, service, terminator] = credential as [string, string, string, string, string];
  const amzDate = formatAmzDate(requestTime);
  const scopeErrors: string[] = [];
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    scopeErrors.push(`Credential should be scoped to a valid region, not '${quote(region)}'.`);
  }
  if (service !== options.service) {
    scopeErrors.push(`Credential should be scoped to correct service: '${options.service}'.`);
  }
  if (terminator !== SCOPE_TERMINATOR) {
    scopeErrors.push(`Credential should be scoped with a valid terminator: '${SCOPE_TERMINATOR}', not '${quote(terminator)}'.`);
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    scopeErrors.push(
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
        `'${quote(scopeDate)}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (scopeErrors.length > 0) throw invalidSignature(scopeErrors.join(' '));

  const found = lookupSecret(accessKeyId);
  if (found === undefined) {
    throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  return { auth, found, amzDate, scopeDate, region, service };
}

/** True when the path part of a request target has no empty, `.` or `..` segment (a lone `/` is normal). */
function isNormalPath(target: string): boolean {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path === '/' || path === '') return true;
  return path
    .slice(1)
    .split('/')
    .every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

interface ParsedAuthorization {
  credential: string;
  signedHeaders: string[];
  signature: string;
  dateHeader: 'x-amz-date' | 'date';
  date: string;
}

function parseAuthorization(headers: Map<string, string[]>): ParsedAuthorization {
  const value = headers.get('authorization')?.[0]?.trim();
  if (value === undefined || value === '') {
    throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const space = value.search(/\s/);
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    throw incomplete(`Unsupported AWS 'algorithm': '${schemeForMessage(algorithm, space >= 0)}'.`);
  }
  const params = new Map<string, string>();
  for (const raw of (space < 0 ? '' : value.slice(space + 1)).split(',')) {
    const p = raw.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) {
      // The stray token may be part of a signature, so it is named only when it is clearly a bare word.
      const shown = /^[A-Za-z]{1,20}$/.test(p) ? p : '…';
      throw incomplete(`'${shown}' not a valid key=value pair (missing equal-sign) in Authorization header: '${SIGV4_ALGORITHM} …'`);
    }
    // Like AWS, a repeated parameter takes its last value.
    params.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }

  const missing: string[] = [];
  const credential = params.get('Credential');
  const signature = params.get('Signature');
  const signedHeaders = params.get('SignedHeaders');
  if (credential === undefined) missing.push("Authorization header requires 'Credential' parameter.");
  if (signature === undefined) missing.push("Authorization header requires 'Signature' parameter.");
  if (signedHeaders === undefined) missing.push("Authorization header requires 'SignedHeaders' parameter.");
  const amzDate = headers.get('x-amz-date')?.[0];
  const httpDate = headers.get('date')?.[0];
  if (amzDate === undefined && httpDate === undefined) {
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (missing.length > 0) throw incomplete(`${missing.join(' ')} Authorization=${SIGV4_ALGORITHM}`);

  return {
    credential: credential!,
    signature: signature!,
    signedHeaders: signedHeaders!
      .split(';')
      .map((h) => h.trim().toLowerCase())
      .sort(),
    dateHeader: amzDate !== undefined ? 'x-amz-date' : 'date',
    date: (amzDate ?? httpDate!).trim(),
  };
}

function checkClockSkew(requestTime: Date, now: Date, maxSkewMs: number): void {
  const minutes = `${Math.round(maxSkewMs / 60_000)} min.`;
  const t = requestTime.getTime();
  const nowMs = now.getTime();
  if (t < nowMs - maxSkewMs) {
    throw invalidSignature(
      `Signature expired: ${formatAmzDate(requestTime)} is now earlier than ` +
        `${formatAmzDate(new Date(nowMs - maxSkewMs))} (${formatAmzDate(now)} - ${minutes})`,
    );
  }
  if (t > nowMs + maxSkewMs) {
    throw invalidSignature(
      `Signature not yet current: ${formatAmzDate(requestTime)} is still later than ` +
        `${formatAmzDate(new Date(nowMs + maxSkewMs))} (${formatAmzDate(now)} + ${minutes})`,
    );
  }
}

/**
 * The canonical request of SigV4 task 1:
 * method \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash.
 * `signedHeaders` must be lowercase and sorted.
 */
export function buildCanonicalRequest(
  req: Pick<SigV4Request, 'method' | 'path' | 'headers'>,
  signedHeaders: readonly string[],
  payloadHashHex: string,
  normalizePath = true,
): string {
  return canonicalRequest(req.method, req.path, collectHeaders(req.headers), signedHeaders, payloadHashHex, normalizePath);
}

function canonicalRequest(
  method: string,
  target: string,
  headers: Map<string, string[]>,
  signedHeaders: readonly string[],
  payloadHashHex: string,
  normalizePath: boolean,
): string {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const values = headers.get(name) ?? [];
    canonicalHeaders += `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  return [method, canonicalUri(rawPath, normalizePath), canonicalQuery(rawQuery), canonicalHeaders, signedHeaders.join(';'), payloadHashHex].join('\n');
}

/** SigV4 task 2. */
export function buildStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(Buffer.from(canonicalRequest, 'utf8'))].join('\n');
}

/** SigV4 task 3: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(Buffer.from(`AWS4${secretAccessKey}`, 'utf8'), date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, SCOPE_TERMINATOR);
}

/**
 * The path as received is already percent-encoded once by the client; the signer encoded that
 * string once more before signing (AWS's "double encoding" for every service but S3). Encoding the
 * received path once therefore reproduces what the client signed.
 */
function canonicalUri(rawPath: string, normalize: boolean): string {
  let path = rawPath;
  if (normalize) {
    const out: string[] = [];
    for (const seg of rawPath.split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg === '..') out.pop();
      else out.push(seg);
    }
    const lead = rawPath.startsWith('/') ? '/' : '';
    const trail = out.length > 0 && rawPath.endsWith('/') ? '/' : '';
    path = lead + out.join('/') + trail;
  }
  if (path === '') return '/';
  return path
    .split('/')
    .map((seg) => uriEncode(Buffer.from(seg, 'utf8')))
    .join('/');
}

/**
 * Each name and value is percent-decoded and then re-encoded with RFC 3986's unreserved set, so two
 * spellings of the same parameter canonicalise alike; pairs are sorted by name, then value.
 */
function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(percentDecode(name)), uriEncode(percentDecode(value))]);
  }
  pairs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** UriEncode of the SigV4 spec: every byte outside A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex). */
function uriEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    const unreserved = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    s += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** Decodes %XX to bytes; a malformed escape stays literal (and is then encoded as %25…), never an exception. */
function percentDecode(s: string): Uint8Array {
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length && isHex(src[i + 1]!) && isHex(src[i + 2]!)) {
      out[n++] = parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Lowercased names; repeated headers (or the same name in two cases) keep every value in order. */
export function collectHeaders(headers: HeaderMap): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const list = map.get(key) ?? [];
    if (typeof value === 'string') list.push(value);
    else list.push(...value);
    map.set(key, list);
  }
  return map;
}

/** `YYYYMMDD'T'HHMMSS'Z'`, the only date form SigV4 signs with. */
function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const date = new Date(t);
  // Date.UTC rolls 20150230 over to March; a date that does not round-trip is not a date.
  return formatAmzDate(date) === s ? date : undefined;
}

function formatAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Client-supplied text in a message: printable ASCII only and bounded, so it cannot forge log lines. */
function quote(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}…` : clean;
}

/** Names a rejected scheme only when it looks like one (a word followed by credentials), never a bare token. */
export function schemeForMessage(scheme: string, followedByCredentials: boolean): string {
  return followedByCredentials && /^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(scheme) ? scheme : '…';
}

function incomplete(message: string): KmsError {
  return new KmsError('IncompleteSignatureException', message);
}

function invalidSignature(message: string): KmsError {
  return new KmsError('InvalidSignatureException', message);
}
