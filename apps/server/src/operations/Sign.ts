import { SIGN_REQUEST } from '../signing/pipeline';
import type { Operation } from './operation';

/**
 * The whole request, input shape included, runs in the signing pipeline (../signing/pipeline.ts),
 * so that every outcome of a Sign (a malformed one too) is audited in one place.
 */
export const Sign: Operation = {
  name: 'Sign',
  input: SIGN_REQUEST,
  access: 'signer',
  audit: 'signing',
  run: (json, ctx) => ctx.signing.sign(ctx, json),
};
