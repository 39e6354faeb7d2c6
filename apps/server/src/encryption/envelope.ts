/**
 * What Encrypt, Decrypt, ReEncrypt and GenerateDataKey* share (docs/cryptography.md): the key a
 * request names passes the same gates as Sign's (kill switch, then the API key's scope, then AWS's
 * state and usage rules), and the ciphertext is core's format, sealed and opened by the key's backend.
 */
import {
  KmsError,
  decryptSymmetric,
  encryptSymmetric,
  invalidCiphertext,
  keyArn,
  keyMaterialId,
  keySpecInfo,
  parseCiphertext,
  type EncryptionContext,
  type KeyBackend,
  type KeyRecord,
  type ParsedCiphertext,
  type RsaEncryptionAlgorithm,
} from '@kmsgate/core';
import { materialUseName, type KeyMaterial } from '@kmsgate/store';
import { resolveCallerKey } from '../signing/gates';
import type { UsageContext } from '../operations/operation';

export interface EncryptionKey {
  kind: 'symmetric';
  key: KeyRecord;
  arn: string;
  backend: KeyBackend & Required<Pick<KeyBackend, 'seal' | 'unseal'>>;
}

/** An ENCRYPT_DECRYPT RSA key and the algorithm the request names (encryption/rsa.ts). */
export interface RsaEncryptionKey {
  kind: 'rsa';
  key: KeyRecord;
  arn: string;
  backend: KeyBackend & Required<Pick<KeyBackend, 'decryptOaep'>>;
  algorithm: RsaEncryptionAlgorithm;
}

/**
 * Resolves a KeyId for a key-use operation: kill switch and scope first (so a caller learns nothing
 * about keys outside its scope), then Enabled and ENCRYPT_DECRYPT, then the algorithm. An absent
 * algorithm is SYMMETRIC_DEFAULT, as in AWS, so an RSA key needs its RSAES_OAEP_* named.
 */
export async function resolveEncryptionKey(
  ctx: UsageContext,
  keyIdParam: string,
  operation: string,
  algorithm: string | undefined,
): Promise<EncryptionKey | RsaEncryptionKey> {
  const { key } = await resolveCallerKey(
    ctx,
    ctx.signing.gates,
    keyIdParam,
    { operation, states: ['Enabled'], usage: 'ENCRYPT_DECRYPT' },
    { killSwitch: true, refuse: ctx.refuse },
  );
  const arn = keyArn(ctx.arn, key.keyId);
  const alg = algorithm ?? 'SYMMETRIC_DEFAULT';
  const algorithms: readonly string[] = keySpecInfo(key.keySpec).encryptionAlgorithms ?? [];
  // AWS-recorded wording (the same for SYMMETRIC_DEFAULT on an RSA key).
  if (!algorithms.includes(alg)) throw new KmsError('InvalidKeyUsageException', `Algorithm ${alg} is incompatible with key spec ${key.keySpec}.`);
  const backend = ctx.backends.forKey(key);
  if (alg !== 'SYMMETRIC_DEFAULT') {
    if (!backend.decryptOaep) throw new KmsError('UnsupportedOperationException', `The backend that holds ${arn} does not support RSA decryption.`);
    return { kind: 'rsa', key, arn, backend: backend as RsaEncryptionKey['backend'], algorithm: alg as RsaEncryptionAlgorithm };
  }
  if (!backend.seal || !backend.unseal)
    throw new KmsError('UnsupportedOperationException', `The backend that holds ${arn} does not support symmetric encryption.`);
  return { kind: 'symmetric', key, arn, backend: backend as EncryptionKey['backend'] };
}

/**
 * A symmetric key, for GenerateDataKey* (no algorithm: SYMMETRIC_DEFAULT, which refuses an RSA key)
 * and for the key a symmetric ciphertext names: one that names an RSA key with an RSAES_OAEP_*
 * algorithm cannot have been made under it.
 */
export async function encryptionKey(ctx: UsageContext, keyIdParam: string, operation: string, algorithm: string | undefined): Promise<EncryptionKey> {
  const k = await resolveEncryptionKey(ctx, keyIdParam, operation, algorithm);
  if (k.kind === 'rsa') throw invalidCiphertext();
  return k;
}

/** A new ciphertext of `plaintext` under the key's current material, bound to `context`. */
export async function encryptUnder(
  ctx: UsageContext,
  k: EncryptionKey,
  plaintext: Uint8Array,
  context: EncryptionContext | undefined,
): Promise<{ blob: Uint8Array; keyMaterialId: string }> {
  const material = ctx.rotations.current(k.key);
  const blob = await encryptSymmetric(k.key.keyId, material.version, plaintext, context, async (payload) => {
    const sealed = await ctx.backendCall(k.backend.seal(material.handle, payload), k.backend);
    ctx.deviceUse(materialUseName(k.key.keyId, material.version));
    return sealed;
  });
  return { blob, keyMaterialId: keyMaterialId(k.key.keyId, material.version) };
}

/** What a ciphertext names: its parts, its key resolved for the caller, and the key material it was made with. */
export interface CiphertextKey {
  parsed: ParsedCiphertext;
  k: EncryptionKey;
  material: KeyMaterial;
  keyMaterialId: string;
}

/**
 * The key a ciphertext was made under, resolved for the caller. With a KeyId (Decrypt's KeyId,
 * ReEncrypt's SourceKeyId) that key is resolved first and must be the ciphertext's
 * (IncorrectKeyException). Without one, a ciphertext that names no key kmsgate holds is just an
 * invalid ciphertext: it may be foreign, and it says nothing more. So is one that names a key
 * material version the key does not have.
 */
export async function ciphertextKey(
  ctx: UsageContext,
  blob: Uint8Array,
  keyIdParam: string | undefined,
  operation: string,
  algorithm: string | undefined,
): Promise<CiphertextKey> {
  const parsed = parseCiphertext(blob);
  let k: EncryptionKey;
  if (keyIdParam !== undefined) {
    k = await encryptionKey(ctx, keyIdParam, operation, algorithm);
    // AWS-recorded wording.
    if (k.key.keyId !== parsed.keyId)
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
  } else {
    if (!ctx.keys.getKey(parsed.keyId)) throw invalidCiphertext();
    k = await encryptionKey(ctx, parsed.keyId, operation, algorithm);
  }
  const material = ctx.rotations.version(k.key, parsed.materialVersion);
  if (!material) throw invalidCiphertext();
  return { parsed, k, material, keyMaterialId: keyMaterialId(k.key.keyId, material.version) };
}

/** Opens a ciphertext with its key material; InvalidCiphertextException (empty message) for any failure on its side. */
export function decryptWith(ctx: UsageContext, source: CiphertextKey, context: EncryptionContext | undefined): Promise<Uint8Array> {
  const { k, material } = source;
  return decryptSymmetric(source.parsed, context, async (sealed) => {
    const payload = await ctx.backendCall(k.backend.unseal(material.handle, sealed), k.backend);
    ctx.deviceUse(materialUseName(k.key.keyId, material.version));
    return payload;
  });
}

/** The audit summary of an encryption context: AWS documents it as not secret (it appears in CloudTrail). */
export function contextSummary(context: EncryptionContext | undefined): { EncryptionContext: EncryptionContext } | undefined {
  return context !== undefined && Object.keys(context).length > 0 ? { EncryptionContext: { ...context } } : undefined;
}
