/**
 * The auth gate: who is calling (authenticate) and whether their role allows the operation
 * (authorize). Deny by default: every path that does not end in a known, unrevoked key throws.
 */
import { KmsError } from '@kmsgate/core';
import type { ApiKeyRepository, Principal } from '@kmsgate/store';
import { checkSigV4Head, collectHeaders, KMS_SIGV4, schemeForMessage, SIGV4_ALGORITHM, verifySigV4, type HeaderMap, type SigV4Request } from './sigv4';

export type AuthRequest = SigV4Request;

const INVALID_TOKEN = 'The security token included in the request is invalid.';

/**
 * `x-api-key` wins over `Authorization` when both are present: a caller that bothered to set our
 * own header means it, and an API key is checked without parsing anything else.
 */
export async function authenticate(req: AuthRequest, store: ApiKeyRepository, now: Date): Promise<Principal> {
  const headers = collectHeaders(req.headers);
  const principal = fromApiKey(headers.get('x-api-key'), store) ?? fromAuthorization(req, headers, store, now);
  await store.touch(principal.apiKeyId, now);
  return principal;
}

/**
 * The part of `authenticate` that needs no body, for the transport edge to run before the body is
 * read: an x-api-key is looked up; otherwise the Authorization header must be SigV4 whose head
 * checks pass and whose access key exists. Throws what `authenticate` would throw; passing it
 * proves nothing yet for SigV4 (the signature covers the body).
 */
export function precheckCredentials(req: { path: string; headers: HeaderMap }, store: ApiKeyRepository, now: Date): void {
  const headers = collectHeaders(req.headers);
  if (fromApiKey(headers.get('x-api-key'), store) !== undefined) return;
  authorizationScheme(headers);
  checkSigV4Head(req.path, headers, (accessKeyId) => store.findSigV4Secret(accessKeyId), now, KMS_SIGV4);
}

function fromApiKey(values: string[] | undefined, store: ApiKeyRepository): Principal | undefined {
  if (values === undefined) return undefined;
  // Two x-api-key headers would leave it unclear which one was meant; refuse rather than pick.
  const principal = values.length === 1 ? store.findByApiKey(values[0]!.trim()) : undefined;
  if (principal === undefined) throw new KmsError('UnrecognizedClientException', INVALID_TOKEN);
  return principal;
}

function fromAuthorization(req: AuthRequest, headers: Map<string, string[]>, store: ApiKeyRepository, now: Date): Principal {
  authorizationScheme(headers);
  return verifySigV4(req, (accessKeyId) => store.findSigV4Secret(accessKeyId), now);
}

/** Refuses a missing Authorization header, and one that is not SigV4. */
function authorizationScheme(headers: Map<string, string[]>): void {
  const value = headers.get('authorization')?.[0]?.trim();
  if (value === undefined || value === '') {
    throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (!value.startsWith(SIGV4_ALGORITHM)) {
    const space = value.search(/\s/);
    const scheme = space < 0 ? value : value.slice(0, space);
    throw new KmsError(
      'IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${schemeForMessage(scheme, space >= 0)}'. ` +
        `Sign with ${SIGV4_ALGORITHM} (AWS Signature Version 4) or send an x-api-key header.`,
    );
  }
}

/** Who may call an operation: 'signer' operations are open to signer and admin keys, 'admin' ones to admin keys only. */
export type Access = 'signer' | 'admin';

/**
 * Throws AccessDeniedException unless the principal's role may call the operation. An allow-list:
 * a signer may call only what declares `access: 'signer'` (operations/operation.ts), so an
 * operation added later is admin-only until someone decides otherwise.
 */
export function authorize(principal: Principal, operation: { readonly name: string; readonly access: Access }): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'signer' && operation.access === 'signer') return;
  throw new KmsError(
    'AccessDeniedException',
    `User: ${principal.label} (api key ${principal.apiKeyId}) is not authorized to perform: kms:${operation.name} ` +
      `because its role is ${String(principal.role)}`,
  );
}
