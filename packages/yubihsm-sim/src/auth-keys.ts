// Authentication keys: the factory default (present after manufacture and after RESET_DEVICE) and
// how an authentication key's two AES keys are stored.
import { Algorithm, ALL_CAPABILITIES, authKeyFromPassword, DEFAULT_AUTH_KEY_ID, GetObjectInfo, ObjectType } from '@kmsgate/yubihsm';
import { padLabel, type NewObject } from './object-store';

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
