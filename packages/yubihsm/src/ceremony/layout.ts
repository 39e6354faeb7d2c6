/**
 * The least-privilege object layout `kmsgate hsm setup` puts on a device. One table: setup, the
 * layout check, backup, restore, audit and the docs all read it.
 *
 * Effective rights are (session key capabilities) ∩ (object capabilities), and an authentication
 * key's delegated capabilities bound what the objects it creates may carry; a wrap key's delegated
 * capabilities bound what may be exported or imported under it (Yubico, Concepts/Capability and
 * Effective_Capabilities). Hence:
 * - kmsgate's keys carry their use capabilities plus exportable-under-wrap, so they can be backed
 *   up; only the backup wrap key and a session holding export-wrapped can export them.
 * - The runtime key (the password on the gateway host) can only use keys: no generate, put,
 *   delete, export, import, option or authentication-key capability, and nothing delegated.
 * - The key admin creates, imports and deletes kmsgate's keys and moves them under the backup wrap key.
 * - The auditor reads and releases the device log, nothing else.
 * - The device admin can do anything; its password exists only as long as the mnemonic is typed in.
 */
import { ALL_CAPABILITIES, Capability as C, Command, ObjectType } from '../codes';

/** What kmsgate's own key objects may carry (KeyBackend keys, and the import wrapping key pair). */
export const KEY_OBJECT_CAPABILITIES: bigint =
  C.SIGN_PKCS |
  C.SIGN_PSS |
  C.SIGN_ECDSA |
  C.SIGN_EDDSA |
  C.DERIVE_ECDH |
  C.DECRYPT_OAEP |
  // SYMMETRIC_DEFAULT keys are wrap keys that wrap data only, HMAC keys only make and check MACs (docs/cryptography.md).
  C.WRAP_DATA |
  C.UNWRAP_DATA |
  C.SIGN_HMAC |
  C.VERIFY_HMAC |
  C.EXPORTABLE_UNDER_WRAP;

export type Role = 'admin' | 'keyadmin' | 'runtime' | 'auditor';

export interface AuthKeyLayout {
  role: Role;
  id: number;
  description: string;
  capabilities: bigint;
  delegatedCapabilities: bigint;
  /** 'kmsgate' = the domains kmsgate's keys live in; 'all' = every domain. */
  domains: 'kmsgate' | 'all';
}

/** In the order setup puts them (the admin first: it is verified before anything else is done). */
export const AUTH_KEYS: readonly AuthKeyLayout[] = [
  {
    role: 'admin',
    id: 0x0002,
    description: 'device admin',
    capabilities: ALL_CAPABILITIES,
    delegatedCapabilities: ALL_CAPABILITIES,
    domains: 'all',
  },
  {
    role: 'keyadmin',
    id: 0x0003,
    description: 'key admin (create, import, delete, back up, restore kmsgate keys)',
    // decrypt-oaep: ImportKeyMaterial's RSA layer, undone with the import wrapping key. The only
    // other objects that carry it are ENCRYPT_DECRYPT RSA keys, which decrypt with nothing else;
    // signing keys never carry it.
    capabilities:
      C.GENERATE_ASYMMETRIC_KEY |
      C.PUT_ASYMMETRIC_KEY |
      C.DELETE_ASYMMETRIC_KEY |
      C.GENERATE_WRAP_KEY |
      C.DELETE_WRAP_KEY |
      C.GENERATE_HMAC_KEY |
      C.DELETE_HMAC_KEY |
      C.EXPORT_WRAPPED |
      C.IMPORT_WRAPPED |
      C.GET_PSEUDO_RANDOM |
      C.DECRYPT_OAEP,
    delegatedCapabilities: KEY_OBJECT_CAPABILITIES,
    domains: 'kmsgate',
  },
  {
    role: 'runtime',
    id: 0x0004,
    description: 'runtime (what the gateway signs with)',
    // Every use of kmsgate's keys (decrypt-oaep for Decrypt with ENCRYPT_DECRYPT RSA keys: docs/security.md
    // says what else it reaches) and the RNG; nothing that makes, moves or deletes an object.
    capabilities: (KEY_OBJECT_CAPABILITIES & ~C.EXPORTABLE_UNDER_WRAP) | C.GET_PSEUDO_RANDOM,
    delegatedCapabilities: 0n,
    domains: 'kmsgate',
  },
  {
    role: 'auditor',
    id: 0x0005,
    description: 'auditor (reads and releases the device log)',
    // get-log-entries also covers SET_LOG_INDEX (Yubico's Set Log Index page: capability "audit").
    capabilities: C.GET_LOG_ENTRIES | C.GET_OPTION,
    delegatedCapabilities: 0n,
    domains: 'all',
  },
];

export const BACKUP_WRAP_KEY = {
  id: 0x0100,
  type: ObjectType.WRAP_KEY,
  capabilities: C.EXPORT_WRAPPED | C.IMPORT_WRAPPED,
  delegatedCapabilities: KEY_OBJECT_CAPABILITIES,
} as const;

/**
 * Where `kmsgate hsm upgrade` puts a second device admin key (the admin's password, all
 * capabilities) while it replaces 0x0002 itself, so that the device always has a working admin
 * key. Deleted once the new 0x0002 opens a session.
 */
export const TEMPORARY_ADMIN_ID = 0xfffe;

export function authKeyOf(role: Role): AuthKeyLayout {
  return AUTH_KEYS.find((k) => k.role === role)!;
}

/** `kmsgate:<role>:<fingerprint>`: says which mnemonic made the object (the fingerprint is public). */
export function objectLabel(role: Role | 'backup-wrap' | 'admin-upgrade', fingerprint: string): string {
  return `kmsgate:${role}:${fingerprint}`;
}

/** 16-bit domain mask from domain numbers 1–16 (domain n is bit n−1). */
export function domainMask(domains: readonly number[]): number {
  if (!Array.isArray(domains) || domains.length === 0) throw new RangeError('domains must list at least one domain');
  return domains.reduce((mask, d) => {
    if (!Number.isInteger(d) || d < 1 || d > 16) throw new RangeError(`domain must be 1-16, got ${d}`);
    return mask | (1 << (d - 1));
  }, 0);
}

export function layoutDomains(layout: AuthKeyLayout, kmsgateDomains: number): number {
  return layout.domains === 'all' ? 0xffff : kmsgateDomains;
}

/**
 * Commands logged on the device (command audit ON): everything that uses, creates, moves or
 * destroys a key, or changes the device. With force audit on, the device refuses these once its
 * log is full, until the auditor reads and releases the log.
 */
export const AUDITED_COMMANDS: readonly number[] = [
  Command.SIGN_PKCS1,
  Command.SIGN_PSS,
  Command.SIGN_ECDSA,
  Command.SIGN_EDDSA,
  Command.SIGN_HMAC,
  Command.DERIVE_ECDH,
  Command.DECRYPT_PKCS1,
  Command.DECRYPT_OAEP,
  Command.WRAP_DATA,
  Command.UNWRAP_DATA,
  Command.SIGN_ATTESTATION_CERTIFICATE,
  Command.EXPORT_WRAPPED,
  Command.IMPORT_WRAPPED,
  Command.GENERATE_ASYMMETRIC_KEY,
  Command.PUT_ASYMMETRIC_KEY,
  Command.GENERATE_WRAP_KEY,
  Command.PUT_WRAP_KEY,
  Command.PUT_AUTHENTICATION_KEY,
  Command.CHANGE_AUTHENTICATION_KEY,
  Command.DELETE_OBJECT,
  Command.SET_OPTION,
  Command.RESET_DEVICE,
];
