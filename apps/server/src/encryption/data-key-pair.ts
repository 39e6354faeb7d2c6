/**
 * What GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext share (docs/cryptography.md,
 * "Data key pairs"): the key pair is generated on the gateway host with node:crypto, and its
 * PKCS#8 private key is encrypted under the symmetric KMS key exactly as Encrypt encrypts (a data
 * key the device seals), so Decrypt opens it.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { DATA_KEY_PAIR_SPEC_VALUES, KmsError, keyArn } from '@kmsgate/core';
import { dryRunRefusal } from '../signing/aws-checks';
import type { UsageContext } from '../operations/operation';
import { ENCRYPTION_CONTEXT, GRANT_TOKENS, KEY_ID, RECIPIENT, recipientRefusal } from '../operations/shapes';
import { contextSummary, encryptUnder, encryptionKey } from './envelope';

const generate = promisify(generateKeyPair);

/** GenerateDataKeyPairRequest (GenerateDataKeyPairWithoutPlaintext has the same members but Recipient). */
export const DATA_KEY_PAIR_REQUEST = {
  type: 'structure',
  members: {
    EncryptionContext: ENCRYPTION_CONTEXT,
    KeyId: KEY_ID,
    KeyPairSpec: { type: 'string', required: true, enum: DATA_KEY_PAIR_SPEC_VALUES },
    GrantTokens: GRANT_TOKENS,
    Recipient: RECIPIENT,
    DryRun: { type: 'boolean' },
  },
} as const;

type DataKeyPairSpec = (typeof DATA_KEY_PAIR_SPEC_VALUES)[number];

/** node:crypto's generateKeyPair arguments for each KeyPairSpec kmsgate generates (AWS's, less SM2 and ML-KEM). */
const PAIR_SPECS = {
  RSA_2048: { type: 'rsa', options: { modulusLength: 2048 } },
  RSA_3072: { type: 'rsa', options: { modulusLength: 3072 } },
  RSA_4096: { type: 'rsa', options: { modulusLength: 4096 } },
  ECC_NIST_P256: { type: 'ec', options: { namedCurve: 'prime256v1' } },
  ECC_NIST_P384: { type: 'ec', options: { namedCurve: 'secp384r1' } },
  ECC_NIST_P521: { type: 'ec', options: { namedCurve: 'secp521r1' } },
  ECC_SECG_P256K1: { type: 'ec', options: { namedCurve: 'secp256k1' } },
  ECC_NIST_EDWARDS25519: { type: 'ed25519', options: {} },
} as const satisfies Partial<Record<DataKeyPairSpec, { type: 'rsa' | 'ec' | 'ed25519'; options: object }>>;

/** Why a spec AWS lists is not generated. */
const NOT_GENERATED: Partial<Record<DataKeyPairSpec, string>> = {
  SM2: 'SM2 key pairs are available only in the AWS China Regions, and kmsgate does not generate them.',
};

function unsupportedSpec(spec: DataKeyPairSpec): KmsError {
  return new KmsError(
    'UnsupportedOperationException',
    `KeyPairSpec ${spec} is not supported by kmsgate: ${NOT_GENERATED[spec] ?? 'Node.js 20 has no ML-KEM, and kmsgate has no ML-KEM keys.'}`,
  );
}

interface DataKeyPairInput {
  KeyId: string;
  KeyPairSpec: DataKeyPairSpec;
  EncryptionContext?: Record<string, string>;
  Recipient?: object;
  DryRun?: boolean;
}

/** The pair, its private key encrypted under the KMS key, and what the answer and the audit record name. */
export async function generateDataKeyPair(ctx: UsageContext, input: DataKeyPairInput, operation: string) {
  if (input.Recipient !== undefined) throw recipientRefusal('the private key');
  const k = await encryptionKey(ctx, input.KeyId, operation, undefined);
  // AWS API reference: "You cannot use an asymmetric KMS key or a KMS key in a custom key store."
  if (k.key.origin !== 'AWS_KMS')
    throw new KmsError('UnsupportedOperationException', `${keyArn(ctx.arn, k.key.keyId)} origin is ${k.key.origin} which is not valid for this operation.`);
  const spec: { type: string; options: object } | undefined = PAIR_SPECS[input.KeyPairSpec as keyof typeof PAIR_SPECS];
  if (!spec) throw unsupportedSpec(input.KeyPairSpec);
  if (input.DryRun === true) throw dryRunRefusal();
  const pair = await generate(spec.type as 'ec', {
    ...(spec.options as { namedCurve: string }),
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const privateKey = new Uint8Array(pair.privateKey);
  pair.privateKey.fill(0);
  try {
    const { blob, keyMaterialId } = await encryptUnder(ctx, k, privateKey, input.EncryptionContext);
    return {
      privateKey,
      response: {
        PrivateKeyCiphertextBlob: blob,
        PublicKey: new Uint8Array(pair.publicKey),
        KeyId: k.arn,
        KeyPairSpec: input.KeyPairSpec,
        KeyMaterialId: keyMaterialId,
      },
      keyId: k.key.keyId,
      summary: { ...contextSummary(input.EncryptionContext), KeyPairSpec: input.KeyPairSpec },
    };
  } catch (e) {
    privateKey.fill(0);
    throw e;
  }
}
