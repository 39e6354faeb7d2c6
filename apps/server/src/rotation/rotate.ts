/**
 * Key rotation of SYMMETRIC_DEFAULT keys (docs/cryptography.md, "Key rotation"), shared by
 * RotateKeyOnDemand and the automatic rotation sweep: a rotation makes a new key material in the
 * key's backend (a new YubiHSM 2 wrap key, generated inside the device by the key admin) and
 * records it as the key's current material. Encrypt uses the current material from then on; each
 * ciphertext names the material version it was made with, so what older materials encrypted keeps
 * decrypting.
 */
import { KmsError, keyArn, type ArnContext, type KeyRecord } from '@kmsgate/core';
import type { KeyMaterial, KeyRotationRepository, RotationType } from '@kmsgate/store';
import type { BackendRegistry } from '../backends';

/** AWS KMS developer guide, "Perform on-demand key rotation": at most 25 on-demand rotations per key (not adjustable). */
export const MAX_ON_DEMAND_ROTATIONS = 25;
/** AWS's ConflictException: an automatic rotation "in progress or scheduled to begin within the next 20 minutes". */
export const AUTOMATIC_ROTATION_SOON_MS = 20 * 60_000;
/** A rotation is one device command; a running-rotation mark older than this was left by a process that died. */
export const STALE_ROTATION_MS = 10 * 60_000;
/** EnableKeyRotation's default RotationPeriodInDays (API reference). */
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;

/**
 * AWS rotates only symmetric encryption keys of Origin AWS_KMS: asymmetric, HMAC and key agreement
 * keys get UnsupportedOperationException with an empty message (AWS-recorded for
 * RotateKeyOnDemand), imported and custom-key-store keys AWS's origin sentence.
 */
export function rotationRefusal(key: KeyRecord, arn: ArnContext): KmsError | undefined {
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') return new KmsError('UnsupportedOperationException', '');
  if (key.origin !== 'AWS_KMS')
    return new KmsError('UnsupportedOperationException', `${keyArn(arn, key.keyId)} origin is ${key.origin} which is not valid for this operation.`);
  return undefined;
}

export interface RotationDeps {
  rotations: KeyRotationRepository;
  backends: BackendRegistry;
  arn: ArnContext;
  now: () => Date;
}

function conflict(arn: string): KmsError {
  return new KmsError('ConflictException', `A rotation of ${arn} is in progress or about to begin; retry later.`);
}

/**
 * Rotates `key` now. Throws ConflictException while another rotation of the key runs (in this
 * process or another on the same store). A failed device call records nothing; a material the
 * store then refuses is deleted from the device again.
 */
export async function rotateKey(
  deps: RotationDeps,
  key: KeyRecord,
  type: RotationType,
  call: <T>(p: Promise<T>, backend: { readonly id: string }) => Promise<T> = (p) => p,
): Promise<KeyMaterial> {
  const arn = keyArn(deps.arn, key.keyId);
  const backend = deps.backends.forKey(key);
  if (!backend.keySpecs.includes('SYMMETRIC_DEFAULT') || !backend.seal)
    throw new KmsError('UnsupportedOperationException', `The backend that holds ${arn} cannot make symmetric key material.`);
  const started = deps.now();
  if (!(await deps.rotations.claim(key.keyId, type, started, new Date(started.getTime() - STALE_ROTATION_MS)))) throw conflict(arn);
  let handle: string;
  try {
    // Labelled with the key id, as CreateKey labels the first material: kmsgate hsm backup and restore recognise the objects by it.
    handle = (await call(backend.generateKey('SYMMETRIC_DEFAULT', key.keyId, 'ENCRYPT_DECRYPT'), backend)).handle;
  } catch (e) {
    await deps.rotations.release(key.keyId);
    throw e;
  }
  try {
    return await deps.rotations.recordRotation(key.keyId, handle, type, deps.now());
  } catch (e) {
    await deps.rotations.release(key.keyId);
    await backend.deleteKey(handle, 'SYMMETRIC_DEFAULT', new Uint8Array(0)).catch(() => undefined);
    throw e;
  }
}

/** RotateKeyOnDemand's own checks, before rotateKey: the 25-rotation limit and an automatic rotation due soon. */
export async function checkOnDemand(deps: RotationDeps, key: KeyRecord): Promise<void> {
  const arn = keyArn(deps.arn, key.keyId);
  if ((await deps.rotations.onDemandRotations(key.keyId)) >= MAX_ON_DEMAND_ROTATIONS)
    // LocalStack's wording (aws-kms reference notes); AWS's own text is not recorded.
    throw new KmsError(
      'LimitExceededException',
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${arn}`,
    );
  // A rotation running now is refused by rotateKey's claim, atomically.
  const { schedule } = await deps.rotations.state(key.keyId);
  if (schedule && schedule.nextRotationDate.getTime() - deps.now().getTime() < AUTOMATIC_ROTATION_SOON_MS) throw conflict(arn);
}
