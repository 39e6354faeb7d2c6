import { aliasArn, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { decodeMarker, encodeMarker } from './pagination';
import { MARKER } from './shapes';

export const ListAliases = defineOperation({
  name: 'ListAliases',
  input: {
    type: 'structure',
    members: { KeyId: { type: 'string', min: 1, max: 2048 }, Limit: { type: 'integer', min: 1, max: 100 }, Marker: MARKER },
  },
  handler(input, ctx) {
    const keyId = input.KeyId === undefined ? undefined : resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'ListAliases', states: ['Enabled', 'Disabled', 'PendingDeletion'], allowAliases: false,
    }).keyId;
    const after = decodeMarker('ListAliases', input.Marker, (s) => s.startsWith('alias/'));
    const { aliases, truncated } = ctx.keys.listAliases(after, keyId, input.Limit ?? 50);
    return {
      Aliases: aliases.map((a) => ({
        AliasName: a.aliasName,
        AliasArn: aliasArn(ctx.arn, a.aliasName),
        TargetKeyId: a.keyId,
        CreationDate: a.createdAt,
        LastUpdatedDate: a.updatedAt,
      })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: encodeMarker('ListAliases', aliases[aliases.length - 1]!.aliasName) } : {}),
    };
  },
});
