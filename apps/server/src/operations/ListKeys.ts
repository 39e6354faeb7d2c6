import { keyArn, parseKeyIdentifier } from '@kmsgate/core';
import { defineOperation } from './operation';
import { decodeMarker, encodeMarker } from './pagination';
import { MARKER } from './shapes';

export const ListKeys = defineOperation({
  name: 'ListKeys',
  input: { type: 'structure', members: { Limit: { type: 'integer', min: 1, max: 1000 }, Marker: MARKER } },
  handler(input, ctx) {
    const after = decodeMarker('ListKeys', input.Marker, (s) => parseKeyIdentifier(s).kind === 'key-id');
    const { keyIds, truncated } = ctx.keys.listKeyIds(after, input.Limit ?? 100);
    return {
      Keys: keyIds.map((id) => ({ KeyId: id, KeyArn: keyArn(ctx.arn, id) })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: encodeMarker('ListKeys', keyIds[keyIds.length - 1]!) } : {}),
    };
  },
});
