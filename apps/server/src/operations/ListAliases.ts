import { KEY_STATES_FOR, aliasArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { decodeMarker, pageFields, pageSize } from './pagination';
import { LIMIT, MARKER, OPTIONAL_KEY_ID } from './shapes';

/** AWS API reference, ListAliases: Limit "between 1 and 100 ... defaults to 50". */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

export const ListAliases = defineOperation({
  name: 'ListAliases',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: OPTIONAL_KEY_ID, Limit: LIMIT, Marker: MARKER } },
  async handler(input, ctx) {
    const keyId =
      input.KeyId === undefined
        ? undefined
        : resolveKey(ctx.keys, ctx.arn, input.KeyId, {
            operation: 'ListAliases',
            states: KEY_STATES_FOR.ListAliases,
            allowAliases: false,
          }).keyId;
    const after = decodeMarker('ListAliases', input.Marker, (s) => s.startsWith('alias/'));
    const { aliases, truncated } = await ctx.keys.listAliases(after, keyId, pageSize(input.Limit, DEFAULT_LIMIT, MAX_LIMIT));
    return {
      Aliases: aliases.map((a) => ({
        AliasName: a.aliasName,
        AliasArn: aliasArn(ctx.arn, a.aliasName),
        TargetKeyId: a.keyId,
        CreationDate: a.createdAt,
        LastUpdatedDate: a.updatedAt,
      })),
      ...pageFields('ListAliases', truncated, aliases.at(-1)?.aliasName),
    };
  },
});
