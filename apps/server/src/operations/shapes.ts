import type { BlobShape, IntegerShape, ListShape, MapShape, StringShape, StructureShape } from '@kmsgate/core';
import { ENCRYPTION_ALGORITHM_VALUES, KmsError, MAC_ALGORITHM_VALUES, MESSAGE_TYPE_VALUES, SIGNING_ALGORITHM_VALUES } from '@kmsgate/core';

/** Member shapes several operations share, with the limits of the AWS KMS API model. */
export const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const satisfies StringShape;
export const GRANT_TOKENS = {
  type: 'list',
  min: 0,
  max: 10,
  member: { type: 'string', min: 1, max: 8192 },
} as const satisfies ListShape;
export const MESSAGE = { type: 'blob', required: true, min: 1, max: 4096 } as const satisfies BlobShape;
export const MESSAGE_TYPE = { type: 'string', enum: MESSAGE_TYPE_VALUES } as const satisfies StringShape;
export const MAC_ALGORITHM = { type: 'string', required: true, enum: MAC_ALGORITHM_VALUES } as const satisfies StringShape;
export const SIGNING_ALGORITHM = { type: 'string', required: true, enum: SIGNING_ALGORITHM_VALUES } as const satisfies StringShape;
export const MARKER = { type: 'string', min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/, patternText: '[\\u0020-\\u00FF]*' } as const satisfies StringShape;
/** Model LimitType (1-1000); operations with a lower documented maximum clamp to it (see pageSize). */
export const LIMIT = { type: 'integer', min: 1, max: 1000 } as const satisfies IntegerShape;
/** A KeyId the operation may leave out (ListAliases' filter). */
export const OPTIONAL_KEY_ID = { type: 'string', min: 1, max: 2048 } as const satisfies StringShape;
export const DESCRIPTION = { type: 'string', min: 0, max: 8192 } as const satisfies StringShape;
export const CUSTOM_KEY_STORE_ID = { type: 'string', min: 1, max: 64 } as const satisfies StringShape;
export const TAG_KEY = { type: 'string', required: true, min: 1, max: 128 } as const satisfies StringShape;
export const TAG = {
  type: 'structure',
  members: { TagKey: TAG_KEY, TagValue: { type: 'string', required: true, min: 0, max: 256 } },
} as const satisfies StructureShape;
export const TAG_LIST = { type: 'list', member: TAG } as const satisfies ListShape;
/** PolicyType: the model's pattern, Latin-1 printable plus tab, LF and CR. */
export const POLICY = {
  type: 'string',
  min: 1,
  max: 131072,
  pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/,
  patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
} as const satisfies StringShape;
export const POLICY_NAME = { type: 'string', min: 1, max: 128, pattern: /^\w+$/, patternText: '[\\w]+' } as const satisfies StringShape;
/** EncryptionContextType: a string→string map, bound to the ciphertext as authenticated data. */
export const ENCRYPTION_CONTEXT = { type: 'map', key: { type: 'string' }, value: { type: 'string' } } as const satisfies MapShape;
export const ENCRYPTION_ALGORITHM = { type: 'string', enum: ENCRYPTION_ALGORITHM_VALUES } as const satisfies StringShape;
/** Encrypt's Plaintext (AWS: up to 4,096 bytes). Never echoed in an error. */
export const PLAINTEXT = { type: 'blob', required: true, min: 1, max: 4096, sensitive: true } as const satisfies BlobShape;
export const CIPHERTEXT_BLOB = { type: 'blob', required: true, min: 1, max: 6144 } as const satisfies BlobShape;

/** AWS's RecipientInfo (a Nitro Enclaves attestation document): valid input, which the operation then refuses (recipientRefusal). */
export const RECIPIENT = {
  type: 'structure',
  members: {
    KeyEncryptionAlgorithm: { type: 'string', enum: ['RSAES_OAEP_SHA_256'] },
    AttestationDocument: { type: 'blob', min: 1, max: 262144 },
  },
} as const satisfies StructureShape;

/** The answer to a Recipient: there is no enclave attestation to encrypt `what` for. */
export function recipientRefusal(what: string): KmsError {
  return new KmsError('UnsupportedOperationException', `kmsgate does not support Recipient: there is no Nitro Enclaves attestation to encrypt ${what} for.`);
}
