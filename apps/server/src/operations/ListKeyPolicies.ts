import { KEY_STATES_FOR, resolveKey } from '@kmsgate/core';
import { defineOperation } from './operation';
import { DEFAULT_POLICY_NAME } from './key-policy';
import { decodeMarker } from './pagination';
import { KEY_ID, LIMIT, MARKER } from './shapes';

/**
 * Every key has exactly one policy, `default`, so the listing is one item and never truncated;
 * no marker is ever issued, so any Marker is InvalidMarkerException.
 */
export const ListKeyPolicies = defineOperation({
  name: 'ListKeyPolicies',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID, Limit: LIMIT, Marker: MARKER } },
  handler(input, ctx) {
    resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'ListKeyPolicies',
      states: KEY_STATES_FOR.ListKeyPolicies,
      allowAliases: false,
    });
    decodeMarker('ListKeyPolicies', input.Marker, () => false);
    return { PolicyNames: [DEFAULT_POLICY_NAME], Truncated: false };
  },
});
