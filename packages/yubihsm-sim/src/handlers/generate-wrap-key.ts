// GENERATE_WRAP_KEY: a random AES-CCM wrap key, or (firmware 2.4) an RSA key pair to import under.
import { randomBytes } from 'node:crypto';
import { Capability, DeviceError, DeviceErrorCode, GenerateWrapKey, GetObjectInfo, ObjectType } from '@kmsgate/yubihsm';
import { requireCapability, requireWithinAuthority } from '../access';
import type { SessionContext } from '../handler';
import { generateSecret, keySpec } from '../key-crypto';
import { CCM_WRAP_KEY_LENGTH } from '../symmetric-specs';
import { checkNewObjectHeader, storeNewObject } from './new-object';

export function generateWrapKey(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = GenerateWrapKey.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.GENERATE_WRAP_KEY);
  checkNewObjectHeader(req);
  const generate = secretGenerator(req.algorithm);
  requireWithinAuthority(authority, req);
  const secret = generate();
  const id = storeNewObject(ctx, req, {
    type: ObjectType.WRAP_KEY,
    origin: GetObjectInfo.Origin.GENERATED,
    secret,
    delegatedCapabilities: req.delegatedCapabilities,
  });
  return GenerateWrapKey.encodeResponse({ id });
}

function secretGenerator(algorithm: number): () => Uint8Array {
  const length = CCM_WRAP_KEY_LENGTH.get(algorithm);
  if (length !== undefined) return () => new Uint8Array(randomBytes(length));
  const spec = keySpec(algorithm);
  if (spec?.kind !== 'rsa') throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return () => generateSecret(spec);
}
