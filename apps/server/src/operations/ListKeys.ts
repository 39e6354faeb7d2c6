import { keyArn, parseKeyIdentifier } from '@kmsgate/core';
import { defineOperation } from './operation';
import { decodeMarker, pageFields, pageSize } from './pagination';
import { LIMIT, MARKER } from './shapes';

/** AWS API reference, ListKeys: Limit "between 1 and 1000 ... defaults to 100". */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export const ListKeys = defineOperation({
  name: 'ListKeys',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { Limit: LIMIT, Marker: MARKER } },
  async handler(input, ctx) {
    const after = decodeMarker('ListKeys', input.Marker, (s) => parseKeyIdentifier(s).kind === 'key-id');
    const { keyIds, truncated } = await ctx.keys.listKeyIds(after, pageSize(input.Limit, DEFAULT_LIMIT, MAX_LIMIT));
    return {
      Keys: keyIds.map((id) => ({ KeyId: id, KeyArn: keyArn(ctx.arn, id) })),
      ...pageFields('ListKeys', truncated, keyIds.at(-1)),
    };
  },
});
