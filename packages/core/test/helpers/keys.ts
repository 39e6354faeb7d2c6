import type { KeyRecord, SupportedKeySpec } from '../../src';

export const CTX = { region: 'us-east-1', accountId: '111122223333' };

/** A key record as the store would hold it; only the spec and public key matter to signing. */
export function keyRecord(spec: SupportedKeySpec, publicKey: Uint8Array = new Uint8Array()): KeyRecord {
  return {
    keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    createdAt: new Date(0),
    description: '',
    keyUsage: 'SIGN_VERIFY',
    keySpec: spec,
    keyState: 'Enabled',
    origin: 'AWS_KMS',
    backendId: 'b',
    handle: '1',
    publicKey,
  };
}
