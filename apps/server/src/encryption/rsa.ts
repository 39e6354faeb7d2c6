/**
 * ENCRYPT_DECRYPT RSA keys (docs/cryptography.md, "RSA encryption keys"). Encrypt is RSAES-OAEP
 * with the key's public key on the gateway host: the computation AWS KMS makes, so the ciphertext is
 * what AWS returns (raw, one modulus long) and anyone can make one from GetPublicKey's key. Decrypt
 * is the backend's, inside the device. AWS's standard asymmetric algorithms take no encryption
 * context, so none is accepted.
 */
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { KmsError, RSA_ENCRYPTION_ALGORITHMS, keySpecInfo, rsaOaepMaxPlaintext, type EncryptionContext } from '@kmsgate/core';
import type { UsageContext } from '../operations/operation';
import type { RsaEncryptionKey } from './envelope';

/** Every RSA request first: AWS documents that asymmetric algorithms take no context, and publishes no text for the refusal. */
export function refuseRsaContext(k: RsaEncryptionKey, context: EncryptionContext | undefined): void {
  if (context !== undefined && Object.keys(context).length > 0)
    throw new KmsError('ValidationException', `EncryptionContext is not supported with asymmetric KMS keys (${k.key.keySpec}, ${k.algorithm}).`);
}

export function rsaEncrypt(k: RsaEncryptionKey, plaintext: Uint8Array): Uint8Array {
  const info = keySpecInfo(k.key.keySpec);
  if (info.kind !== 'rsa') throw new KmsError('KMSInternalException', 'An RSA encryption key is not an RSA key.');
  const max = rsaOaepMaxPlaintext(info.modulusBits, k.algorithm);
  // AWS-recorded wording.
  if (plaintext.length > max)
    throw new KmsError('ValidationException', `Algorithm ${k.algorithm} and key spec ${k.key.keySpec} cannot encrypt data larger than ${max} bytes.`);
  const key = createPublicKey({ key: Buffer.from(k.key.publicKey), format: 'der', type: 'spki' });
  return new Uint8Array(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: RSA_ENCRYPTION_ALGORITHMS[k.algorithm].hash }, plaintext));
}

export async function rsaDecrypt(ctx: UsageContext, k: RsaEncryptionKey, ciphertext: Uint8Array): Promise<Uint8Array> {
  const plaintext = await ctx.backendCall(k.backend.decryptOaep(k.key.handle, k.key.keySpec, k.algorithm, ciphertext, k.key.publicKey), k.backend);
  ctx.deviceUse(k.key.keyId);
  return plaintext;
}
