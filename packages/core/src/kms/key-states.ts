import type { KeyState } from './enums';

/** Every AWS key state: operations that work "in any state" accept all of them. */
export const ALL_KEY_STATES: readonly KeyState[] = [
  'Creating',
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingImport',
  'PendingReplicaDeletion',
  'Unavailable',
  'Updating',
];

/**
 * The key states each operation accepts, transcribed from AWS's "Key states of AWS KMS keys"
 * table (AWS KMS developer guide, key-state.html) for the operations kmsgate answers. resolveKey
 * turns a key in any other state into AWS's error: DisabledException for a disabled key where an
 * enabled one would do, KMSInvalidStateException otherwise.
 */
export const KEY_STATES_FOR = {
  CancelKeyDeletion: ['PendingDeletion'],
  CreateAlias: ['Enabled', 'Disabled'],
  DeleteAlias: ALL_KEY_STATES,
  DescribeKey: ALL_KEY_STATES,
  DisableKey: ['Enabled', 'Disabled'],
  DisableKeyRotation: ['Enabled'],
  EnableKey: ['Enabled', 'Disabled'],
  EnableKeyRotation: ['Enabled'],
  GetKeyPolicy: ALL_KEY_STATES,
  GetKeyRotationStatus: ALL_KEY_STATES,
  GetParametersForImport: ['PendingImport', 'Enabled'],
  // AWS serves the public key of a disabled key too; only pending deletion is refused.
  GetPublicKey: ['Enabled', 'Disabled'],
  /** AWS API reference, ImportKeyMaterial: "its KeyState must be PendingImport or Enabled" (Enabled: a reimport). */
  ImportKeyMaterial: ['PendingImport', 'Enabled'],
  ListAliases: ALL_KEY_STATES,
  ListKeyPolicies: ALL_KEY_STATES,
  ListKeyRotations: ALL_KEY_STATES,
  ListResourceTags: ALL_KEY_STATES,
  PutKeyPolicy: ['Enabled', 'Disabled'],
  RotateKeyOnDemand: ['Enabled'],
  ScheduleKeyDeletion: ['Enabled', 'Disabled', 'PendingImport'],
  Sign: ['Enabled'],
  TagResource: ['Enabled', 'Disabled'],
  UntagResource: ['Enabled', 'Disabled'],
  /** The key the alias is moved to; the key it points at now may be in any state. */
  UpdateAlias: ['Enabled', 'Disabled'],
  UpdateKeyDescription: ['Enabled', 'Disabled'],
  Verify: ['Enabled'],
} as const satisfies Record<string, readonly KeyState[]>;
