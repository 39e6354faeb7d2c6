/**
 * What an authentication key holds, in PUT_AUTHENTICATION_KEY and CHANGE_AUTHENTICATION_KEY:
 * K-ENC || K-MAC (two AES-128 keys, algorithm AES128_YUBICO_AUTHENTICATION), or from firmware 2.3
 * an EC P-256 public key X || Y (algorithm EC_P256_YUBICO_AUTHENTICATION; python-yubihsm
 * `AuthenticationKey.put_public_key`). The algorithm byte, read before, says which.
 */
import { Algorithm } from '../codes';
import { EC_P256_PUBLIC_KEY_LENGTH } from '../scp03/asymmetric';
import { KEY_LENGTH } from '../scp03/kdf';
import type { WireReader, WireWriter } from '../wire';

export type AuthKeyMaterial = { encKey: Uint8Array; macKey: Uint8Array } | { publicKey: Uint8Array };

export function writeAuthKeyMaterial(w: WireWriter, material: AuthKeyMaterial): WireWriter {
  if ('publicKey' in material) return w.fixedBytes(material.publicKey, EC_P256_PUBLIC_KEY_LENGTH, 'publicKey');
  return w.fixedBytes(material.encKey, KEY_LENGTH, 'encKey').fixedBytes(material.macKey, KEY_LENGTH, 'macKey');
}

/** Any algorithm but the asymmetric one reads as two AES keys; the device then judges the algorithm. */
export function readAuthKeyMaterial(r: WireReader, algorithm: number): AuthKeyMaterial {
  if (algorithm === Algorithm.EC_P256_YUBICO_AUTHENTICATION) return { publicKey: r.bytes(EC_P256_PUBLIC_KEY_LENGTH) };
  return { encKey: r.bytes(KEY_LENGTH), macKey: r.bytes(KEY_LENGTH) };
}

/** Zeroes the secret parts once sent or stored (a public key is left alone). */
export function zeroAuthKeyMaterial(material: AuthKeyMaterial): void {
  if ('encKey' in material) {
    material.encKey.fill(0);
    material.macKey.fill(0);
  }
}
