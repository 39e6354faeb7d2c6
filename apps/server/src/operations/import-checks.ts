import { KmsError, isAsymmetricKeySpec, keyArn, type AsymmetricKeySpec, type KeyBackend, type KeyImporter, type KeyRecord } from '@kmsgate/core';
import type { OperationContext } from './operation';

/**
 * What GetParametersForImport and ImportKeyMaterial both check once the key is found: it was made
 * for imported key material, and its backend can import (the TEE backend cannot).
 */
export function importerOf(key: KeyRecord, ctx: OperationContext): { backend: KeyBackend; importer: KeyImporter; spec: AsymmetricKeySpec } {
  const spec = key.keySpec;
  // CreateKey makes Origin EXTERNAL keys of asymmetric specs only.
  if (key.origin !== 'EXTERNAL' || !isAsymmetricKeySpec(spec))
    throw new KmsError('UnsupportedOperationException', `${keyArn(ctx.arn, key.keyId)} origin is ${key.origin} which is not valid for this operation.`);
  const backend = ctx.backends.forKey(key);
  if (!backend.importer) throw new KmsError('UnsupportedOperationException', `Custom key store ${backend.id} (${backend.kind}) cannot import key material.`);
  return { backend, importer: backend.importer, spec };
}
