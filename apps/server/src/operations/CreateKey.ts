import { randomUUID } from 'node:crypto';
import {
  CUSTOMER_MASTER_KEY_SPEC_VALUES, KEY_SPEC_VALUES, KEY_SPECS, KEY_USAGE_VALUES, KmsError, ORIGIN_VALUES,
  isSupportedKeySpec, type KeyRecord,
} from '@kmsgate/core';
import { defineOperation } from './operation';
import { keyMetadata } from './key-metadata';

const TAG = {
  type: 'structure',
  members: {
    TagKey: { type: 'string', required: true, min: 1, max: 128 },
    TagValue: { type: 'string', required: true, min: 0, max: 256 },
  },
} as const;

export const CreateKey = defineOperation({
  name: 'CreateKey',
  input: {
    type: 'structure',
    members: {
      Policy: { type: 'string', min: 1, max: 131072 },
      Description: { type: 'string', min: 0, max: 8192 },
      KeyUsage: { type: 'string', enum: KEY_USAGE_VALUES },
      CustomerMasterKeySpec: { type: 'string', enum: CUSTOMER_MASTER_KEY_SPEC_VALUES },
      KeySpec: { type: 'string', enum: KEY_SPEC_VALUES },
      Origin: { type: 'string', enum: ORIGIN_VALUES },
      CustomKeyStoreId: { type: 'string', min: 1, max: 64 },
      BypassPolicyLockoutSafetyCheck: { type: 'boolean' },
      Tags: { type: 'list', member: TAG },
      MultiRegion: { type: 'boolean' },
      XksKeyId: { type: 'string', min: 1, max: 128 },
    },
  },
  async handler(input, ctx) {
    if (input.KeySpec && input.CustomerMasterKeySpec && input.KeySpec !== input.CustomerMasterKeySpec)
      throw new KmsError('ValidationException', 'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.');
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    if (spec !== 'SYMMETRIC_DEFAULT' && input.KeyUsage === undefined)
      throw new KmsError('ValidationException', 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
    const usage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
    if (!isSupportedKeySpec(spec))
      throw new KmsError('UnsupportedOperationException', `KeySpec ${spec} is not supported by kmsgate. Supported key specs: ${Object.keys(KEY_SPECS).join(', ')}.`);
    if (!(KEY_SPECS[spec].usages as readonly string[]).includes(usage)) {
      // AWS allows KEY_AGREEMENT for NIST curves; kmsgate signs only.
      if (usage === 'KEY_AGREEMENT' && spec.startsWith('ECC_NIST_P'))
        throw new KmsError('UnsupportedOperationException', `KeyUsage ${usage} is not supported by kmsgate; use SIGN_VERIFY.`);
      throw new KmsError('ValidationException', `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
    }
    if (input.MultiRegion) throw new KmsError('UnsupportedOperationException', 'kmsgate does not support multi-Region keys.');
    if (input.XksKeyId !== undefined) throw new KmsError('UnsupportedOperationException', 'kmsgate does not support external key stores (XksKeyId).');

    const origin = input.Origin ?? (input.CustomKeyStoreId !== undefined ? 'AWS_CLOUDHSM' : 'AWS_KMS');
    if (origin === 'EXTERNAL' || origin === 'EXTERNAL_KEY_STORE')
      throw new KmsError('UnsupportedOperationException', `Origin ${origin} is not supported by kmsgate: keys are generated inside the backend and never imported.`);
    if (origin === 'AWS_CLOUDHSM' && input.CustomKeyStoreId === undefined)
      throw new KmsError('ValidationException', 'You must specify a CustomKeyStoreId when Origin is AWS_CLOUDHSM.');
    if (origin === 'AWS_KMS' && input.CustomKeyStoreId !== undefined)
      throw new KmsError('ValidationException', 'Origin must be AWS_CLOUDHSM when CustomKeyStoreId is specified.');

    const backend = input.CustomKeyStoreId !== undefined ? ctx.backends.find(input.CustomKeyStoreId) : ctx.backends.defaultBackend;
    if (!backend) throw new KmsError('CustomKeyStoreNotFoundException', `Custom key store ${input.CustomKeyStoreId} does not exist.`);
    if (!backend.keySpecs.includes(spec))
      throw new KmsError('UnsupportedOperationException', `KeySpec ${spec} is not supported by custom key store ${backend.id}.`);

    const tags = input.Tags ?? [];
    const tagKeys = new Set(tags.map((t) => t.TagKey));
    if (tagKeys.size !== tags.length) throw new KmsError('TagException', 'Duplicate tag keys');
    if (tags.some((t) => t.TagKey.startsWith('aws:'))) throw new KmsError('TagException', 'Tags beginning with aws: are reserved');

    const keyId = randomUUID();
    const generated = await ctx.backendCall(backend.generateKey(spec, keyId));
    const record: KeyRecord = {
      keyId,
      createdAt: ctx.now(),
      description: input.Description ?? '',
      keyUsage: usage,
      keySpec: spec,
      keyState: 'Enabled',
      origin,
      backendId: backend.id,
      handle: generated.handle,
      publicKey: generated.publicKey,
      ...(input.Policy !== undefined ? { policy: input.Policy } : {}),
    };
    try {
      ctx.keys.insertKey(record, tags);
    } catch (e) {
      // Never leave an orphan key in the device that no KMS key points to.
      await backend.deleteKey(generated.handle, spec).catch(() => undefined);
      throw e;
    }
    return { KeyMetadata: keyMetadata(record, ctx) };
  },
});
