/**
 * The closed set of AWS exceptions kmsgate sends. Handlers throw only `KmsError`s built from this
 * catalog; the HTTP layer renders `__type`, `X-Amzn-ErrorType` and the status from it.
 * Status codes follow what AWS's awsJson1_1 endpoint actually sends (400 for every client error,
 * 5xx for service faults), not the Smithy model's awsQuery-compat `httpError` traits.
 */
export const KMS_ERRORS = {
  AccessDeniedException: {
    status: 400,
    fault: 'client',
    doc: 'The credential is valid but its role may not call this operation, or a signing gate (kill switch, scope, policy) refused it.',
  },
  AlreadyExistsException: { status: 400, fault: 'client', doc: 'A resource with that name already exists.' },
  ConflictException: {
    status: 400,
    fault: 'client',
    doc: 'RotateKeyOnDemand: a rotation of the key is running, or its automatic rotation is due within 20 minutes.',
  },
  CustomKeyStoreNotFoundException: { status: 400, fault: 'client', doc: 'No configured backend has that CustomKeyStoreId.' },
  DisabledException: { status: 400, fault: 'client', doc: 'The key is disabled.' },
  DryRunOperationException: { status: 400, fault: 'client', doc: 'The request would have succeeded, but DryRun was set.' },
  ExpiredImportTokenException: {
    status: 400,
    fault: 'client',
    doc: 'ImportKeyMaterial: the import token is past its ParametersValidTo (24 hours after GetParametersForImport).',
  },
  IncompleteSignatureException: { status: 400, fault: 'client', doc: 'The SigV4 Authorization header or its date is missing parts.' },
  IncorrectKeyException: {
    status: 400,
    fault: 'client',
    doc: 'Decrypt or ReEncrypt: the KeyId (SourceKeyId) given is not the key the ciphertext was encrypted under.',
  },
  IncorrectKeyMaterialException: {
    status: 400,
    fault: 'client',
    doc: "ImportKeyMaterial: the unwrapped key material is not a private key of the key's key spec, or not the key material imported before.",
  },
  InvalidAliasNameException: { status: 400, fault: 'client', doc: 'The alias name is reserved or not allowed.' },
  InvalidCiphertextException: {
    status: 400,
    fault: 'client',
    doc: "Decrypt or ReEncrypt: the ciphertext is truncated, altered, of another format or for no kmsgate key, or the EncryptionContext differs from the one it was encrypted with (the message is then empty, as AWS's). ImportKeyMaterial: the wrapped key material does not decrypt under the wrapping key of the import token.",
  },
  InvalidImportTokenException: {
    status: 400,
    fault: 'client',
    doc: 'ImportKeyMaterial: the import token is not one GetParametersForImport issued for this key, or it was used or superseded.',
  },
  InvalidMarkerException: { status: 400, fault: 'client', doc: 'The pagination marker is not one kmsgate issued.' },
  InvalidKeyUsageException: { status: 400, fault: 'client', doc: 'The key usage or key spec does not allow this operation or algorithm.' },
  InvalidSignatureException: { status: 400, fault: 'client', doc: 'The SigV4 signature does not match, or its date is outside the allowed clock skew.' },
  KMSInvalidMacException: {
    status: 400,
    fault: 'client',
    doc: "VerifyMac: the MAC is not the key's HMAC of the message (or not of its length). The message is empty, as AWS's.",
  },
  KMSInvalidSignatureException: { status: 400, fault: 'client', doc: 'Verify: the signature is not valid for the message and key.' },
  KMSInvalidStateException: { status: 400, fault: 'client', doc: 'The key is not in a state that allows this operation.' },
  LimitExceededException: { status: 400, fault: 'client', doc: 'A limit (for example the backend object capacity) was reached.' },
  MalformedPolicyDocumentException: { status: 400, fault: 'client', doc: 'The key policy is not a JSON object.' },
  MissingAuthenticationTokenException: { status: 400, fault: 'client', doc: 'The request carries neither an x-api-key nor a SigV4 Authorization header.' },
  NotFoundException: { status: 400, fault: 'client', doc: 'The key or alias does not exist, or the key id is malformed.' },
  RequestEntityTooLargeException: { status: 413, fault: 'client', doc: 'The request body exceeds the size limit.' },
  SerializationException: { status: 400, fault: 'client', doc: 'The body is not JSON, or a field has the wrong JSON type.' },
  TagException: { status: 400, fault: 'client', doc: 'A tag is duplicated, reserved or malformed.' },
  ThrottlingException: {
    status: 400,
    fault: 'client',
    doc: 'Too many requests are in progress for the backend, or a policy rate limit was reached; retry with backoff.',
  },
  UnknownOperationException: { status: 400, fault: 'client', doc: 'The X-Amz-Target names no TrentService operation.' },
  UnrecognizedClientException: { status: 400, fault: 'client', doc: 'The API key or access key id is unknown or revoked.' },
  UnsupportedOperationException: { status: 400, fault: 'client', doc: "kmsgate (or the key's backend) does not support this operation or parameter." },
  ValidationException: { status: 400, fault: 'client', doc: 'A field fails a constraint; the message lists every failure the way AWS does.' },
  KeyUnavailableException: { status: 500, fault: 'server', doc: "The key's backend (HSM or TEE) cannot be reached right now; retry later." },
  KMSInternalException: { status: 500, fault: 'server', doc: 'An internal error; details are in the server log only.' },
  DependencyTimeoutException: { status: 503, fault: 'server', doc: "The key's backend, or the gateway's shared store, did not answer in time." },
} as const satisfies Record<string, { status: number; fault: 'client' | 'server'; doc: string }>;

export type KmsErrorType = keyof typeof KMS_ERRORS;

export class KmsError extends Error {
  readonly type: KmsErrorType;
  readonly status: number;

  constructor(type: KmsErrorType, message = '', options?: { cause?: unknown }) {
    super(message, options);
    this.name = type;
    this.type = type;
    this.status = KMS_ERRORS[type].status;
  }
}

export function isKmsError(e: unknown): e is KmsError {
  return e instanceof KmsError;
}
