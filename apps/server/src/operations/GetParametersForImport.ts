import { randomBytes } from 'node:crypto';
import {
  IMPORT_WRAPPING_ALGORITHMS,
  KEY_STATES_FOR,
  KmsError,
  WRAPPING_ALGORITHM_VALUES,
  WRAPPING_KEY_SPEC_VALUES,
  keyArn,
  keySpecInfo,
  resolveKey,
  type ImportWrappingAlgorithm,
  type KeyRecord,
} from '@kmsgate/core';
import { importTokenHash } from '@kmsgate/store';
import { defineOperation } from './operation';
import { importerOf } from './import-checks';
import { KEY_ID } from './shapes';

/** AWS API reference, GetParametersForImport: "Each public key and import token set is valid for 24 hours." */
export const IMPORT_PARAMETERS_VALIDITY_MS = 24 * 60 * 60 * 1000;
/** The token is a random bearer value found by its hash; 256 bits leave nothing to guess. */
const IMPORT_TOKEN_BYTES = 32;

/**
 * AWS's "Select a wrapping algorithm": RSA private keys need an RSA_AES wrap (a PKCS#8 RSA key is
 * larger than one RSA-OAEP block), and RSA_2048 with RSAES_OAEP cannot carry a P-521 key.
 */
function checkWrapping(key: KeyRecord, algorithm: string, wrappingKeySpec: string): asserts algorithm is ImportWrappingAlgorithm {
  if (!(IMPORT_WRAPPING_ALGORITHMS as readonly string[]).includes(algorithm))
    throw new KmsError(
      'UnsupportedOperationException',
      algorithm === 'RSAES_PKCS1_V1_5'
        ? 'WrappingAlgorithm RSAES_PKCS1_V1_5 is no longer supported (AWS withdrew it on 2023-10-10); use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.'
        : `WrappingAlgorithm ${algorithm} is not supported by kmsgate; use one of ${IMPORT_WRAPPING_ALGORITHMS.join(', ')}.`,
    );
  if (wrappingKeySpec === 'SM2')
    throw new KmsError('UnsupportedOperationException', 'WrappingKeySpec SM2 is not supported by kmsgate; use RSA_2048, RSA_3072 or RSA_4096.');
  const direct = algorithm.startsWith('RSAES_OAEP');
  if (direct && keySpecInfo(key.keySpec).kind === 'rsa')
    throw new KmsError(
      'UnsupportedOperationException',
      `WrappingAlgorithm ${algorithm} cannot wrap ${key.keySpec} key material; RSA private keys need RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.`,
    );
  if (direct && key.keySpec === 'ECC_NIST_P521' && wrappingKeySpec === 'RSA_2048')
    throw new KmsError(
      'UnsupportedOperationException',
      `WrappingAlgorithm ${algorithm} with WrappingKeySpec RSA_2048 cannot wrap ECC_NIST_P521 key material; use RSA_3072 or larger, or an RSA_AES_KEY_WRAP algorithm.`,
    );
}

/**
 * The wrapping public key and import token for ImportKeyMaterial. The wrapping key pair is made in
 * the backend, by its key admin where one is configured; its private half never leaves it. A newer
 * call supersedes the key's earlier tokens; the deletion sweeper then removes their wrapping keys.
 */
export const GetParametersForImport = defineOperation({
  name: 'GetParametersForImport',
  access: 'admin',
  audit: 'admin',
  auditKey: (_input, response) => (response as { KeyId: string }).KeyId,
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      WrappingAlgorithm: { type: 'string', required: true, enum: WRAPPING_ALGORITHM_VALUES },
      WrappingKeySpec: { type: 'string', required: true, enum: WRAPPING_KEY_SPEC_VALUES },
    },
  },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'GetParametersForImport',
      states: KEY_STATES_FOR.GetParametersForImport,
      allowAliases: false,
    });
    const { backend, importer } = importerOf(key, ctx);
    checkWrapping(key, input.WrappingAlgorithm, input.WrappingKeySpec);
    const wrappingKeySpec = input.WrappingKeySpec as Exclude<typeof input.WrappingKeySpec, 'SM2'>;
    // Device labels hold 40 bytes: 'imp:' and the 36-character key id.
    const wrapping = await ctx.backendCall(importer.createImportWrappingKey(wrappingKeySpec, `imp:${key.keyId}`), backend);
    const token = new Uint8Array(randomBytes(IMPORT_TOKEN_BYTES));
    const createdAt = ctx.now();
    const validTo = new Date(createdAt.getTime() + IMPORT_PARAMETERS_VALIDITY_MS);
    try {
      await ctx.importTokens.issue({
        tokenHash: importTokenHash(token),
        keyId: key.keyId,
        backendId: backend.id,
        wrappingHandle: wrapping.handle,
        wrappingKeySpec,
        wrappingAlgorithm: input.WrappingAlgorithm,
        publicKey: wrapping.publicKey,
        createdAt,
        validTo,
      });
    } catch (e) {
      await importer.deleteImportWrappingKey({ ...wrapping, spec: wrappingKeySpec, algorithm: input.WrappingAlgorithm }).catch(() => undefined);
      throw e;
    }
    return { KeyId: keyArn(ctx.arn, key.keyId), ImportToken: token, PublicKey: wrapping.publicKey, ParametersValidTo: validTo };
  },
});
