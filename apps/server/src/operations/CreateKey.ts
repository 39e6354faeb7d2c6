import { randomUUID } from 'node:crypto';
import {
  CUSTOMER_MASTER_KEY_SPEC_VALUES,
  KEY_SPEC_VALUES,
  KEY_SPECS,
  KEY_USAGE_VALUES,
  KmsError,
  ORIGIN_VALUES,
  isAsymmetricKeySpec,
  isSupportedKeySpec,
  type KeyRecord,
} from '@kmsgate/core';
import { defineOperation } from './operation';
import { keyMetadata } from './key-metadata';
import { checkPolicy, defaultKeyPolicy } from './key-policy';
import { CUSTOM_KEY_STORE_ID, DESCRIPTION, POLICY, TAG_LIST } from './shapes';
import { checkTags } from './tags';

export const CreateKey = defineOperation({
  name: 'CreateKey',
  access: 'admin',
  audit: 'admin',
  auditKey: (_input, response) => (response as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId,
  input: {
    type: 'structure',
    members: {
      Policy: POLICY,
      Description: DESCRIPTION,
      KeyUsage: { type: 'string', enum: KEY_USAGE_VALUES },
      CustomerMasterKeySpec: { type: 'string', enum: CUSTOMER_MASTER_KEY_SPEC_VALUES },
      KeySpec: { type: 'string', enum: KEY_SPEC_VALUES },
      Origin: { type: 'string', enum: ORIGIN_VALUES },
      CustomKeyStoreId: CUSTOM_KEY_STORE_ID,
      BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
      Tags: TAG_LIST,
      MultiRegion: { type: 'boolean' },
      XksKeyId: { type: 'string', min: 1, max: 128 },
    },
  },
  async handler(input, ctx) {
    if (input.KeySpec && input.CustomerMasterKeySpec && input.KeySpec !== input.CustomerMasterKeySpec)
      throw new KmsError(
        'ValidationException',
        'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.',
      );
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    if (spec !== 'SYMMETRIC_DEFAULT' && input.KeyUsage === undefined)
      throw new KmsError('ValidationException', 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
    const usage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
    if (!isSupportedKeySpec(spec))
      throw new KmsError(
        'UnsupportedOperationException',
        `KeySpec ${spec} is not supported by kmsgate. Supported key specs: ${Object.keys(KEY_SPECS).join(', ')}.`,
      );
    if (!(KEY_SPECS[spec].usages as readonly string[]).includes(usage)) {
      // A usage AWS allows for the spec (KEY_AGREEMENT on NIST curves, ENCRYPT_DECRYPT on RSA)
      // is a kmsgate limitation; any other is AWS's own ValidationException.
      if ((KEY_SPECS[spec].awsUsages as readonly string[]).includes(usage))
        throw new KmsError('UnsupportedOperationException', `KeyUsage ${usage} is not supported by kmsgate; use SIGN_VERIFY.`);
      throw new KmsError('ValidationException', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
    }
    if (input.MultiRegion) throw new KmsError('UnsupportedOperationException', 'kmsgate does not support multi-Region keys.');
    if (input.XksKeyId !== undefined) throw new KmsError('UnsupportedOperationException', 'kmsgate does not support external key stores (XksKeyId).');

    const origin = input.Origin ?? (input.CustomKeyStoreId !== undefined ? 'AWS_CLOUDHSM' : 'AWS_KMS');
    if (origin === 'EXTERNAL_KEY_STORE')
      throw new KmsError('UnsupportedOperationException', 'Origin EXTERNAL_KEY_STORE is not supported by kmsgate: it has no external key stores.');
    if (origin === 'AWS_CLOUDHSM' && input.CustomKeyStoreId === undefined)
      throw new KmsError('ValidationException', 'You must specify a CustomKeyStoreId when Origin is AWS_CLOUDHSM.');
    if (origin === 'AWS_KMS' && input.CustomKeyStoreId !== undefined)
      throw new KmsError('ValidationException', 'Origin must be AWS_CLOUDHSM when CustomKeyStoreId is specified.');

    const backend = input.CustomKeyStoreId !== undefined ? ctx.backends.find(input.CustomKeyStoreId) : ctx.backends.defaultBackend;
    if (!backend) throw new KmsError('CustomKeyStoreNotFoundException', `Custom key store ${input.CustomKeyStoreId} does not exist.`);
    if (!backend.keySpecs.includes(spec))
      throw new KmsError('UnsupportedOperationException', `KeySpec ${spec} is not supported by custom key store ${backend.id}.`);
    if (origin === 'EXTERNAL' && !isAsymmetricKeySpec(spec))
      throw new KmsError('UnsupportedOperationException', `Origin EXTERNAL is supported for asymmetric key specs only, not ${spec}.`);
    if (origin === 'EXTERNAL' && !backend.importer)
      throw new KmsError(
        'UnsupportedOperationException',
        `Custom key store ${backend.id} (${backend.kind}) cannot import key material: create keys with Origin EXTERNAL in a YubiHSM 2 backend.`,
      );

    const tags = input.Tags ?? [];
    checkTags(tags);
    if (input.Policy !== undefined) checkPolicy(input.Policy);

    const keyId = randomUUID();
    // Origin EXTERNAL: no key material and no device object until ImportKeyMaterial.
    // A backend that cannot agree keys (or decrypt with RSA) must not be handed KEY_AGREEMENT (or
    // an ENCRYPT_DECRYPT RSA key): it would make a signing key. Imported key material is always put
    // as a signing key (ImportKeyMaterial).
    const canUse =
      usage === 'KEY_AGREEMENT' ? backend.deriveSharedSecret : usage === 'ENCRYPT_DECRYPT' && isAsymmetricKeySpec(spec) ? backend.decryptOaep : true;
    if (canUse !== true && (!canUse || origin === 'EXTERNAL'))
      throw new KmsError(
        'UnsupportedOperationException',
        `KeyUsage ${usage} is not supported by custom key store ${backend.id}${origin === 'EXTERNAL' ? ' for imported keys' : ''}.`,
      );
    const generated = origin === 'EXTERNAL' ? undefined : await ctx.backendCall(backend.generateKey(spec, keyId, usage), backend);
    const record: KeyRecord = {
      keyId,
      createdAt: ctx.now(),
      description: input.Description ?? '',
      keyUsage: usage,
      keySpec: spec,
      keyState: generated ? 'Enabled' : 'PendingImport',
      origin,
      backendId: backend.id,
      handle: generated?.handle ?? '',
      publicKey: generated?.publicKey ?? new Uint8Array(0),
      // Stored byte for byte; without one, AWS's default key policy (GetKeyPolicy returns either).
      policy: input.Policy ?? defaultKeyPolicy(ctx.arn.accountId),
    };
    try {
      await ctx.keys.insertKey(record, tags);
    } catch (e) {
      // Never leave an orphan key in the device that no KMS key points to.
      if (generated) await backend.deleteKey(generated.handle, spec, generated.publicKey).catch(() => undefined);
      throw e;
    }
    return { KeyMetadata: keyMetadata(record, ctx) };
  },
});
