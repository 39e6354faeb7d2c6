import { KEY_STATES_FOR, keyArn, resolveKey } from '@kmsgate/core';
import { checkOnDemand, rotateKey, rotationRefusal } from '../rotation/rotate';
import { defineOperation } from './operation';
import { KEY_ID } from './shapes';

/**
 * Rotates a symmetric key's material now: a new wrap key is generated in the device and becomes
 * current before the answer (AWS finishes in the background; here the rotation is one device
 * command, so GetKeyRotationStatus shows OnDemandRotationStartDate only while it runs). At most 25
 * per key; the automatic schedule is not changed.
 */
export const RotateKeyOnDemand = defineOperation({
  name: 'RotateKeyOnDemand',
  access: 'admin',
  audit: 'admin',
  auditKey: (input) => input.KeyId,
  input: { type: 'structure', members: { KeyId: KEY_ID } },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, { operation: 'RotateKeyOnDemand', states: KEY_STATES_FOR.RotateKeyOnDemand, allowAliases: false });
    const refusal = rotationRefusal(key, ctx.arn);
    if (refusal) throw refusal;
    const deps = { rotations: ctx.rotations, backends: ctx.backends, arn: ctx.arn, now: ctx.now };
    await checkOnDemand(deps, key);
    await rotateKey(deps, key, 'ON_DEMAND', (p, backend) => ctx.backendCall(p, backend));
    return { KeyId: keyArn(ctx.arn, key.keyId) };
  },
});
