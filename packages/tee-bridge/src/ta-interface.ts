/**
 * The kmsgate TA's command interface, mirrored from tee/ta/include/kmsgate_ta.h (a test reads the
 * header and fails if the two differ). The header documents each command's parameters.
 */
import type { KeyType } from '@kmsgate/tee';

export const TA_UUID = '254706e0-9fa3-434e-bda0-b49f1f20f93b';
export const TA_INTERFACE_VERSION = 1;

const cmd = (n: number): number => ((TA_INTERFACE_VERSION << 16) | n) >>> 0;

export const TA_COMMAND = {
  PING: cmd(0x01),
  GENERATE_KEY: cmd(0x02),
  GET_PUBLIC_KEY: cmd(0x03),
  SIGN: cmd(0x04),
  DELETE_KEY: cmd(0x05),
  RANDOM: cmd(0x06),
  GET_ROLLBACK_COUNTER: cmd(0x07),
  GET_ATTESTATION: cmd(0x08),
  GET_KEY_TYPES: cmd(0x09),
  SEAL: cmd(0x0a),
  UNSEAL: cmd(0x0b),
} as const;

export const TA_KEY_TYPE = { P256: 1, SECP256K1: 2, ED25519: 3, AES_256: 4 } as const;

/** The key types in GET_KEY_TYPES' bit mask (1 << TA_KEY_TYPE), in TA_KEY_TYPE's order; other bits are ignored. */
export function keyTypesOfMask(mask: number): KeyType[] {
  return (Object.keys(TA_KEY_TYPE) as KeyType[]).filter((t) => (mask >>> TA_KEY_TYPE[t]) & 1);
}
export const TA_ALGORITHM = { ECDSA_SHA_256: 1, ED25519: 2 } as const;

export const TA_HANDLE_BYTES = 16;
export const TA_MAX_LABEL_BYTES = 64;
export const TA_SIGNATURE_BYTES = 64;
export const TA_EC_PUBLIC_KEY_BYTES = 65;
export const TA_MEASUREMENT_BYTES = 32;
/** SEAL's output beyond its input: the GCM nonce (12) and tag (16). */
export const TA_SEAL_OVERHEAD = 28;
/** Prefixed to the nonce in every attestation the TA signs (KMSGATE_ATTESTATION_DOMAIN). */
export const TA_ATTESTATION_DOMAIN = 'kmsgate-tee-attestation/v2';

/** The protocol's handle for a TA key id: `k-` and 32 lower-case hex digits. */
export const HANDLE_PATTERN = /^k-([0-9a-f]{32})$/;
