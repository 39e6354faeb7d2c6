import type { BlobShape, ListShape, StringShape } from '@kmsgate/core';
import { MESSAGE_TYPE_VALUES, SIGNING_ALGORITHM_VALUES } from '@kmsgate/core';

/** Member shapes several operations share, with the limits of the AWS KMS API model. */
export const KEY_ID = { type: 'string', required: true, min: 1, max: 2048 } as const satisfies StringShape;
export const GRANT_TOKENS = {
  type: 'list', min: 0, max: 10, member: { type: 'string', min: 1, max: 8192 },
} as const satisfies ListShape;
export const MESSAGE = { type: 'blob', required: true, min: 1, max: 4096 } as const satisfies BlobShape;
export const MESSAGE_TYPE = { type: 'string', enum: MESSAGE_TYPE_VALUES } as const satisfies StringShape;
export const SIGNING_ALGORITHM = { type: 'string', required: true, enum: SIGNING_ALGORITHM_VALUES } as const satisfies StringShape;
export const MARKER = { type: 'string', min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/ } as const satisfies StringShape;
