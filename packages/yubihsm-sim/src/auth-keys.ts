// Authentication keys: the factory default (present after manufacture and after RESET_DEVICE) and
// how an authentication key's two AES keys are stored.
import { p256 } from '@noble/curves/nist';
import {
  Algorithm,
  ALL_CAPABILITIES,
  authKeyFromPassword,
  type AuthKeyMaterial,
  DEFAULT_AUTH_KEY_ID,
  DeviceError,
  DeviceErrorCode,
  GetObjectInfo,
  ObjectType,
} from '@kmsgate/yubihsm';
import { padLabel, type NewObject } from './object-store';

/** The two kinds of authentication key (python-yubihsm `AuthenticationKey`). */
export const AUTH_KEY_ALGORITHMS: ReadonlySet<number> = new Set([Algorithm.AES128_YUBICO_AUTHENTICATION, Algorithm.EC_P256_YUBICO_AUTHENTICATION]);

/** Session concept page: id 1, password "password". */
const DEFAULT_PASSWORD = 'password';
/** The label hardware ships the key with (as yubihsm-shell lists it). */
const DEFAULT_LABEL = 'DEFAULT AUTHKEY CHANGE THIS ASAP';
/** Domains 1-16. */
export const ALL_DOMAINS = 0xffff;

let derived: Uint8Array | undefined;

export function defaultAuthKey(): NewObject {
  // PBKDF2 with 10 000 iterations is the slow part of a reset; the result never changes.
  if (derived === undefined) {
    const { encKey, macKey } = authKeyFromPassword(DEFAULT_PASSWORD);
    derived = authKeySecret(encKey, macKey);
  }
  return {
    id: DEFAULT_AUTH_KEY_ID,
    type: ObjectType.AUTHENTICATION_KEY,
    algorithm: Algorithm.AES128_YUBICO_AUTHENTICATION,
    label: padLabel(new TextEncoder().encode(DEFAULT_LABEL)),
    domains: ALL_DOMAINS,
    capabilities: ALL_CAPABILITIES,
    delegatedCapabilities: ALL_CAPABILITIES,
    origin: GetObjectInfo.Origin.IMPORTED,
    secret: derived.slice(),
  };
}

/**
 * What an authentication key stores: K-ENC || K-MAC, or the host's P-256 public key X || Y, which
 * must be a point on the curve (INVALID_DATA otherwise).
 */
export function authKeySecretOf(material: AuthKeyMaterial): Uint8Array {
  if ('encKey' in material) return authKeySecret(material.encKey, material.macKey);
  try {
    p256.ProjectivePoint.fromHex(Uint8Array.of(0x04, ...material.publicKey)).assertValidity();
  } catch {
    throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  }
  return material.publicKey.slice();
}

/** An asymmetric key's stored public key as the uncompressed point ECDH takes. */
export function authKeyPoint(secret: Uint8Array): Uint8Array {
  return Uint8Array.of(0x04, ...secret);
}

/** An authentication key's secret as stored: K-ENC || K-MAC. */
export function authKeySecret(encKey: Uint8Array, macKey: Uint8Array): Uint8Array {
  const secret = new Uint8Array(encKey.length + macKey.length);
  secret.set(encKey);
  secret.set(macKey, encKey.length);
  return secret;
}

export function splitAuthKeySecret(secret: Uint8Array): { encKey: Uint8Array; macKey: Uint8Array } {
  const half = secret.length / 2;
  return { encKey: secret.slice(0, half), macKey: secret.slice(half) };
}
