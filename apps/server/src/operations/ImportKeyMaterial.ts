import {
  EXPIRATION_MODEL_VALUES,
  IMPORT_TYPE_VALUES,
  KEY_STATES_FOR,
  KmsError,
  keyArn,
  resolveKey,
  type ImportWrapping,
  type ImportWrappingAlgorithm,
  type ImportWrappingKeySpec,
} from '@kmsgate/core';
import { importTokenHash, type ImportTokenRecord } from '@kmsgate/store';
import { defineOperation } from './operation';
import { importerOf } from './import-checks';
import { KEY_ID } from './shapes';

/** The API model's CiphertextType bounds, for the import token and the wrapped key material. */
const IMPORT_BLOB = { type: 'blob', required: true, min: 1, max: 6144 } as const;

const invalidToken = () => new KmsError('InvalidImportTokenException', 'Import token is invalid or is associated with a different KMS key.');

/**
 * Why a token cannot be used now, in AWS's terms. A token is used once (docs/errors.md); a newer
 * GetParametersForImport for the key supersedes it.
 */
function tokenError(t: ImportTokenRecord | undefined, keyId: string, now: Date): KmsError | undefined {
  if (!t || t.keyId !== keyId) return invalidToken();
  if (t.state === 'used') return new KmsError('InvalidImportTokenException', 'Import token was already used; call GetParametersForImport for a new one.');
  if (t.state === 'superseded')
    return new KmsError('InvalidImportTokenException', 'Import token was superseded by a newer GetParametersForImport for this KMS key.');
  if (t.validTo.getTime() <= now.getTime())
    return new KmsError('ExpiredImportTokenException', `Import token expired at ${t.validTo.toISOString()}; call GetParametersForImport for a new one.`);
  return undefined;
}

/**
 * Imports a private key into a key created with Origin EXTERNAL: the material is unwrapped with the
 * token's wrapping key (by the backend's key admin: the runtime credential may not import), put in
 * the device, its public key checked, and the key enabled, in one store transaction with the token's
 * use. Reimporting into an enabled key checks the material is the same key and changes nothing else
 * (AWS: asymmetric key material cannot change after the first import). The used wrapping key is
 * then deleted from the device (the deletion sweeper retries if that fails).
 */
export const ImportKeyMaterial = defineOperation({
  name: 'ImportKeyMaterial',
  access: 'admin',
  audit: 'admin',
  auditKey: (_input, response) => (response as { KeyId: string }).KeyId,
  auditOmit: ['ImportToken', 'EncryptedKeyMaterial'],
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      ImportToken: IMPORT_BLOB,
      EncryptedKeyMaterial: IMPORT_BLOB,
      ValidTo: { type: 'timestamp' },
      ExpirationModel: { type: 'string', enum: EXPIRATION_MODEL_VALUES },
      ImportType: { type: 'string', enum: IMPORT_TYPE_VALUES },
      KeyMaterialDescription: { type: 'string', min: 0, max: 256 },
      KeyMaterialId: { type: 'string', min: 64, max: 64 },
    },
  },
  async handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, {
      operation: 'ImportKeyMaterial',
      states: KEY_STATES_FOR.ImportKeyMaterial,
      allowAliases: false,
    });
    const { backend, importer, spec } = importerOf(key, ctx);
    for (const member of ['ImportType', 'KeyMaterialDescription', 'KeyMaterialId'] as const) {
      if (input[member] !== undefined) throw new KmsError('ValidationException', `${member} is only usable with symmetric encryption keys.`);
    }
    // AWS's default model is KEY_MATERIAL_EXPIRES, which needs a ValidTo.
    const model = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
    if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE' && input.ValidTo !== undefined)
      throw new KmsError('ValidationException', 'ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
    if (model === 'KEY_MATERIAL_EXPIRES') {
      if (input.ValidTo === undefined)
        throw new KmsError('ValidationException', 'ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default).');
      throw new KmsError(
        'UnsupportedOperationException',
        'kmsgate does not expire imported key material; import with ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE.',
      );
    }

    const tokenHash = importTokenHash(input.ImportToken);
    const token = await ctx.importTokens.find(tokenHash);
    const refused = tokenError(token, key.keyId, ctx.now());
    if (refused || !token) throw refused ?? invalidToken();
    const wrapping: ImportWrapping = {
      handle: token.wrappingHandle,
      publicKey: token.publicKey,
      spec: token.wrappingKeySpec as ImportWrappingKeySpec,
      algorithm: token.wrappingAlgorithm as ImportWrappingAlgorithm,
    };

    if (key.keyState === 'PendingImport') {
      const imported = await ctx.backendCall(importer.importKey(spec, key.keyId, wrapping, input.EncryptedKeyMaterial), backend);
      const outcome = await ctx.importTokens.use(tokenHash, ctx.now(), { keyId: key.keyId, ...imported });
      if (outcome !== 'done') {
        // A concurrent ImportKeyMaterial won, or the token expired meanwhile: leave no orphan object.
        await backend.deleteKey(imported.handle, key.keySpec, imported.publicKey).catch(() => undefined);
        throw outcome === 'key'
          ? new KmsError('IncorrectKeyMaterialException', `${keyArn(ctx.arn, key.keyId)} already has key material.`)
          : (tokenError(await ctx.importTokens.find(tokenHash), key.keyId, ctx.now()) ?? invalidToken());
      }
    } else {
      await ctx.backendCall(importer.checkReimport(spec, wrapping, input.EncryptedKeyMaterial, key.publicKey), backend);
      if ((await ctx.importTokens.use(tokenHash, ctx.now())) !== 'done')
        throw tokenError(await ctx.importTokens.find(tokenHash), key.keyId, ctx.now()) ?? invalidToken();
    }
    try {
      await ctx.backendCall(importer.deleteImportWrappingKey(wrapping), backend);
      await ctx.importTokens.wrappingDeleted(tokenHash);
    } catch {
      // Left to the deletion sweeper, which retries every used token's wrapping key.
    }
    return { KeyId: keyArn(ctx.arn, key.keyId) };
  },
});
