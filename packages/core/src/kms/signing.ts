import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { KmsError } from '../errors';
import { KEY_SPECS, SIGNING_ALGORITHMS, keySpecInfo, type SupportedSigningAlgorithm } from './key-specs';
import type { KeyRecord } from './key-record';
import { keyArn, type ArnContext } from './key-id';
import { verifyRsaPkcs1v15, verifyRsaPss } from './rsassa';

export type MessageTypeValue = 'RAW' | 'DIGEST' | 'EXTERNAL_MU';

/**
 * AWS's Sign/Verify rules for an (algorithm, message type, message) triple on a key, in AWS's
 * order: algorithm allowed for the key spec, message type allowed for the algorithm, digest
 * length. Returns what the device signs: the message for pure Ed25519, the digest (hashed here for
 * RAW) for every other algorithm (ECDSA, RSASSA-PKCS1-v1_5, RSASSA-PSS).
 */
export function signingInput(
  key: KeyRecord,
  algorithm: string,
  messageType: MessageTypeValue,
  message: Uint8Array,
): { algorithm: SupportedSigningAlgorithm; input: Uint8Array } {
  const spec = KEY_SPECS[key.keySpec];
  if (!(spec.signingAlgorithms as readonly string[]).includes(algorithm))
    throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
  const alg = algorithm as SupportedSigningAlgorithm;
  const info = SIGNING_ALGORITHMS[alg];
  const allowed: MessageTypeValue = info.family === 'eddsa' ? 'RAW' : info.family === 'eddsa-ph' ? 'DIGEST' : messageType;
  if (messageType === 'EXTERNAL_MU') throw new KmsError('ValidationException', `Message type EXTERNAL_MU is incompatible with key spec ${key.keySpec}.`);
  if (messageType !== allowed) throw new KmsError('ValidationException', `Message type ${messageType} is incompatible with signing algorithm ${alg}.`);
  if (messageType === 'DIGEST') {
    if (message.length !== info.digestLength) throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${alg}.`);
    return { algorithm: alg, input: message };
  }
  if (info.family === 'eddsa') return { algorithm: alg, input: message };
  return { algorithm: alg, input: new Uint8Array(createHash(info.hash).update(message).digest()) };
}

const ECDSA = { p256, p384, p521, secp256k1 } as const;

function rawEcPoint(spki: Uint8Array): Uint8Array {
  const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const x = Buffer.from(jwk.x as string, 'base64url');
  const y = Buffer.from(jwk.y as string, 'base64url');
  return new Uint8Array(Buffer.concat([Buffer.from([0x04]), x, y]));
}

/**
 * Verifies on the host with the stored public key, as AWS's Verify does: a signature that does
 * not verify (or does not parse) is KMSInvalidSignatureException with an empty message.
 */
export function verifySignature(ctx: ArnContext, key: KeyRecord, algorithm: SupportedSigningAlgorithm, input: Uint8Array, signature: Uint8Array): void {
  const info = keySpecInfo(key.keySpec);
  const alg = SIGNING_ALGORITHMS[algorithm];
  let ok = false;
  try {
    if (info.kind === 'ed25519') {
      if (alg.family !== 'eddsa') throw new KmsError('UnsupportedOperationException', `${keyArn(ctx, key.keyId)}: ${algorithm} is not supported by kmsgate.`);
      ok = nodeVerify(null, input, { key: Buffer.from(key.publicKey), format: 'der', type: 'spki' }, signature);
    } else if (info.kind === 'rsa') {
      // AWS's PSS: MGF1 with the signing hash, salt as long as the digest.
      if (alg.family === 'rsa-pss') ok = verifyRsaPss(key.publicKey, alg.hash, input, signature, alg.digestLength);
      else if (alg.family === 'rsa-pkcs1') ok = verifyRsaPkcs1v15(key.publicKey, alg.hash, input, signature);
    } else if (info.kind === 'ec') {
      // DER-encoded; high-S is valid ECDSA and AWS accepts it, so lowS is not required.
      ok = ECDSA[info.curve].verify(signature, input, rawEcPoint(key.publicKey), { prehash: false, lowS: false, format: 'der' });
    }
  } catch (e) {
    if (e instanceof KmsError) throw e;
    ok = false;
  }
  if (!ok) throw new KmsError('KMSInvalidSignatureException', '');
}
