import { KEY_STATES_FOR } from '@kmsgate/core';
import { resolveCallerKey } from '../signing/gates';
import { defineOperation } from './operation';
import { keyMetadata } from './key-metadata';
import { GRANT_TOKENS, KEY_ID } from './shapes';

export const DescribeKey = defineOperation({
  name: 'DescribeKey',
  access: 'signer',
  audit: 'none',
  input: { type: 'structure', members: { KeyId: KEY_ID, GrantTokens: GRANT_TOKENS } },
  async handler(input, ctx) {
    const { key } = await resolveCallerKey(ctx, ctx.signing.gates, input.KeyId, { operation: 'DescribeKey', states: KEY_STATES_FOR.DescribeKey });
    return { KeyMetadata: keyMetadata(key, ctx) };
  },
});
