import { KmsError, parseInput, type StructureShape } from '@kmsgate/core';
import type { Access } from '../auth/authenticate';
import type { Operation } from './operation';

/**
 * The TrentService operations kmsgate knows but does not serve, each with the reason a client
 * gets in an UnsupportedOperationException (a modeled exception in every SDK). Names that are not
 * KMS operations at all stay UnknownOperationException. Together with OPERATIONS this covers every
 * command of @aws-sdk/client-kms; test/sdk-coverage.test.ts and docs/api-coverage.md hold it there.
 */
interface UnsupportedEntry {
  /**
   * Who gets the UnsupportedOperationException; a signer calling an 'admin' entry gets
   * AccessDeniedException, as it would if kmsgate ever served the operation.
   */
  access: Access;
  reason: string;
}

const NO_GRANTS = 'kmsgate has no grants; what a caller may do is decided by its API key role (admin or signer).';
const KEY_STORES_ARE_CONFIG = 'custom key stores are the backends in the gateway configuration; add, change or remove them there and restart.';
const NO_EXPIRY = "imported key material never expires in kmsgate and cannot be deleted from its key; schedule the key's deletion instead.";
const NO_MULTI_REGION = 'kmsgate has no multi-Region keys.';

export const UNSUPPORTED_OPERATIONS = {
  ConnectCustomKeyStore: { access: 'admin', reason: KEY_STORES_ARE_CONFIG },
  CreateCustomKeyStore: { access: 'admin', reason: KEY_STORES_ARE_CONFIG },
  CreateGrant: { access: 'admin', reason: NO_GRANTS },
  Decapsulate: { access: 'signer', reason: 'kmsgate has no ML-KEM keys (KeyUsage ENCAPSULATE_DECAPSULATE).' },
  DeleteCustomKeyStore: { access: 'admin', reason: KEY_STORES_ARE_CONFIG },
  DeleteImportedKeyMaterial: { access: 'admin', reason: NO_EXPIRY },
  DisconnectCustomKeyStore: { access: 'admin', reason: KEY_STORES_ARE_CONFIG },
  Encapsulate: { access: 'signer', reason: 'kmsgate has no ML-KEM keys (KeyUsage ENCAPSULATE_DECAPSULATE).' },
  GetKeyLastUsage: { access: 'signer', reason: 'kmsgate does not record when keys were last used yet.' },
  ListGrants: { access: 'signer', reason: NO_GRANTS },
  ListRetirableGrants: { access: 'signer', reason: NO_GRANTS },
  ReplicateKey: { access: 'admin', reason: NO_MULTI_REGION },
  RetireGrant: { access: 'admin', reason: NO_GRANTS },
  RevokeGrant: { access: 'admin', reason: NO_GRANTS },
  UpdateCustomKeyStore: { access: 'admin', reason: KEY_STORES_ARE_CONFIG },
  UpdatePrimaryRegion: { access: 'admin', reason: NO_MULTI_REGION },
} as const satisfies Record<string, UnsupportedEntry>;

export type UnsupportedOperationName = keyof typeof UNSUPPORTED_OPERATIONS;

/** The text a client gets for an unsupported operation. */
export function unsupportedMessage(name: UnsupportedOperationName): string {
  const entry: UnsupportedEntry = UNSUPPORTED_OPERATIONS[name];
  return `${name} is not supported by kmsgate: ${entry.reason}`;
}

/** The dispatchable form of one table entry (built once, below; no per-operation files). */
function unsupportedOperation(name: UnsupportedOperationName): Operation {
  const entry: UnsupportedEntry = UNSUPPORTED_OPERATIONS[name];
  // Any JSON object: there is nothing to validate before refusing.
  const input: StructureShape = { type: 'structure', members: {} };
  return {
    name,
    access: entry.access,
    // Nothing ever succeeds, so nothing is written; the auth gate's refusals are audited as for any operation.
    audit: 'none',
    input,
    async run(json) {
      parseInput(input, json);
      throw new KmsError('UnsupportedOperationException', unsupportedMessage(name));
    },
  };
}

export const UNSUPPORTED: Readonly<Record<string, Operation>> = Object.fromEntries(
  (Object.keys(UNSUPPORTED_OPERATIONS) as UnsupportedOperationName[]).map((name) => [name, unsupportedOperation(name)]),
);
