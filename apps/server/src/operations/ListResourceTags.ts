import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { decodeMarker, pageFields, pageSize } from './pagination';
import { KEY_ID, LIMIT, MARKER } from './shapes';

/** AWS API reference, ListResourceTags: Limit "between 1 and 50 ... defaults to 50". */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 50;

/** Tags in tag-key order. A marker is bound to its key: one from another key's listing is refused. */
export const ListResourceTags = defineOperation({
  name: 'ListResourceTags',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID, Limit: LIMIT, Marker: MARKER } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'ListResourceTags',
      states: KEY_STATES_FOR.ListResourceTags,
      allowAliases: false,
    });
    const listing = `ListResourceTags/${key.keyId}`;
    const after = decodeMarker(listing, input.Marker, (s) => s.length > 0 && [...s].length <= 128);
    const { tags, truncated } = await ctx.keys.listTagsPage(key.keyId, after, pageSize(input.Limit, DEFAULT_LIMIT, MAX_LIMIT));
    return { Tags: tags, ...pageFields(listing, truncated, tags.at(-1)?.TagKey) };
  },
});
