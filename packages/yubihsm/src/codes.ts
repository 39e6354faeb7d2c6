/**
 * The one table of YubiHSM 2 protocol numbers: command codes, object types, algorithms and
 * capability bits. Sources: python-yubihsm `defs.py`, yubihsm-shell `lib/yubihsm.h`, and the
 * command reference at https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/.
 */

/** Command codes (`Tc`). A successful response is `code | 0x80`. */
export const Command = {
  ECHO: 0x01,
  CREATE_SESSION: 0x03,
  AUTHENTICATE_SESSION: 0x04,
  SESSION_MESSAGE: 0x05,
  DEVICE_INFO: 0x06,
  RESET_DEVICE: 0x08,
  GET_DEVICE_PUBLIC_KEY: 0x0a,
  CLOSE_SESSION: 0x40,
  GET_STORAGE_INFO: 0x41,
  PUT_OPAQUE: 0x42,
  GET_OPAQUE: 0x43,
  PUT_AUTHENTICATION_KEY: 0x44,
  PUT_ASYMMETRIC_KEY: 0x45,
  GENERATE_ASYMMETRIC_KEY: 0x46,
  SIGN_PKCS1: 0x47,
  LIST_OBJECTS: 0x48,
  DECRYPT_PKCS1: 0x49,
  EXPORT_WRAPPED: 0x4a,
  IMPORT_WRAPPED: 0x4b,
  PUT_WRAP_KEY: 0x4c,
  GET_LOG_ENTRIES: 0x4d,
  GET_OBJECT_INFO: 0x4e,
  SET_OPTION: 0x4f,
  GET_OPTION: 0x50,
  GET_PSEUDO_RANDOM: 0x51,
  PUT_HMAC_KEY: 0x52,
  SIGN_HMAC: 0x53,
  GET_PUBLIC_KEY: 0x54,
  SIGN_PSS: 0x55,
  SIGN_ECDSA: 0x56,
  DERIVE_ECDH: 0x57,
  DELETE_OBJECT: 0x58,
  DECRYPT_OAEP: 0x59,
  GENERATE_HMAC_KEY: 0x5a,
  GENERATE_WRAP_KEY: 0x5b,
  VERIFY_HMAC: 0x5c,
  SIGN_SSH_CERTIFICATE: 0x5d,
  PUT_TEMPLATE: 0x5e,
  GET_TEMPLATE: 0x5f,
  DECRYPT_OTP: 0x60,
  CREATE_OTP_AEAD: 0x61,
  RANDOMIZE_OTP_AEAD: 0x62,
  REWRAP_OTP_AEAD: 0x63,
  SIGN_ATTESTATION_CERTIFICATE: 0x64,
  PUT_OTP_AEAD_KEY: 0x65,
  GENERATE_OTP_AEAD_KEY: 0x66,
  SET_LOG_INDEX: 0x67,
  WRAP_DATA: 0x68,
  UNWRAP_DATA: 0x69,
  SIGN_EDDSA: 0x6a,
  BLINK_DEVICE: 0x6b,
  CHANGE_AUTHENTICATION_KEY: 0x6c,
  PUT_SYMMETRIC_KEY: 0x6d,
  GENERATE_SYMMETRIC_KEY: 0x6e,
  DECRYPT_ECB: 0x6f,
  ENCRYPT_ECB: 0x70,
  DECRYPT_CBC: 0x71,
  ENCRYPT_CBC: 0x72,
  PUT_PUBLIC_WRAP_KEY: 0x73,
  WRAP_KEY_RSA: 0x74,
  UNWRAP_KEY_RSA: 0x75,
  EXPORT_WRAPPED_RSA: 0x76,
  IMPORT_WRAPPED_RSA: 0x77,
} as const;

export type CommandName = keyof typeof Command;
export type CommandCode = (typeof Command)[CommandName];

/** `Tr` of every error response (`YHC_ERROR`), always followed by `00 01 <error code>`. */
export const RESPONSE_ERROR = 0x7f;
/** Set in `Tr` of every successful response (`YH_CMD_RESP_FLAG`). */
export const RESPONSE_FLAG = 0x80;

export function responseCode(cmd: number): number {
  return cmd | RESPONSE_FLAG;
}

const COMMAND_NAMES = new Map<number, CommandName>(Object.entries(Command).map(([name, code]) => [code, name as CommandName]));

export function commandName(code: number): string {
  return COMMAND_NAMES.get(code) ?? `UNKNOWN_0x${code.toString(16).padStart(2, '0')}`;
}

/** Object types (python `OBJECT`, `yh_object_type`). An object is identified by (type, id). */
export const ObjectType = {
  OPAQUE: 0x01,
  AUTHENTICATION_KEY: 0x02,
  ASYMMETRIC_KEY: 0x03,
  WRAP_KEY: 0x04,
  HMAC_KEY: 0x05,
  TEMPLATE: 0x06,
  OTP_AEAD_KEY: 0x07,
  SYMMETRIC_KEY: 0x08,
  PUBLIC_WRAP_KEY: 0x09,
} as const;

export type ObjectTypeName = keyof typeof ObjectType;

/** SET_OPTION / GET_OPTION tags (python `OPTION`, yubihsm.h `yh_option`). */
export const OptionTag = {
  FORCE_AUDIT: 0x01,
  COMMAND_AUDIT: 0x03,
  /** Firmware 2.2+: `(algorithm, 00|01)` pairs. */
  ALGORITHM_TOGGLE: 0x04,
  /** YubiHSM 2 FIPS only. */
  FIPS_MODE: 0x05,
} as const;

/** Values of the force-audit option and of each command-audit entry (Set Option page). */
export const AuditMode = {
  OFF: 0x00,
  ON: 0x01,
  /** On until a factory reset: SET_OPTION cannot turn it off. */
  FIXED: 0x02,
} as const;

/**
 * Algorithm codes (`yh_algorithm`, python `ALGORITHM`; names are python's). The docs.yubico.com
 * "YubiHSM Algorithms" table has a shifted value column; the header and python agree with this one.
 */
export const Algorithm = {
  RSA_PKCS1_SHA1: 1,
  RSA_PKCS1_SHA256: 2,
  RSA_PKCS1_SHA384: 3,
  RSA_PKCS1_SHA512: 4,
  RSA_PSS_SHA1: 5,
  RSA_PSS_SHA256: 6,
  RSA_PSS_SHA384: 7,
  RSA_PSS_SHA512: 8,
  RSA_2048: 9,
  RSA_3072: 10,
  RSA_4096: 11,
  EC_P256: 12,
  EC_P384: 13,
  EC_P521: 14,
  EC_K256: 15,
  EC_BP256: 16,
  EC_BP384: 17,
  EC_BP512: 18,
  HMAC_SHA1: 19,
  HMAC_SHA256: 20,
  HMAC_SHA384: 21,
  HMAC_SHA512: 22,
  EC_ECDSA_SHA1: 23,
  EC_ECDH: 24,
  RSA_OAEP_SHA1: 25,
  RSA_OAEP_SHA256: 26,
  RSA_OAEP_SHA384: 27,
  RSA_OAEP_SHA512: 28,
  AES128_CCM_WRAP: 29,
  OPAQUE_DATA: 30,
  OPAQUE_X509_CERTIFICATE: 31,
  RSA_MGF1_SHA1: 32,
  RSA_MGF1_SHA256: 33,
  RSA_MGF1_SHA384: 34,
  RSA_MGF1_SHA512: 35,
  TEMPLATE_SSH: 36,
  AES128_YUBICO_OTP: 37,
  AES128_YUBICO_AUTHENTICATION: 38,
  AES192_YUBICO_OTP: 39,
  AES256_YUBICO_OTP: 40,
  AES192_CCM_WRAP: 41,
  AES256_CCM_WRAP: 42,
  EC_ECDSA_SHA256: 43,
  EC_ECDSA_SHA384: 44,
  EC_ECDSA_SHA512: 45,
  EC_ED25519: 46,
  EC_P224: 47,
  RSA_PKCS1_DECRYPT: 48,
  EC_P256_YUBICO_AUTHENTICATION: 49,
  AES128: 50,
  AES192: 51,
  AES256: 52,
  AES_ECB: 53,
  AES_CBC: 54,
  AES_KWP: 55,
} as const;

export type AlgorithmName = keyof typeof Algorithm;

const ALGORITHM_NAMES = new Map<number, AlgorithmName>(Object.entries(Algorithm).map(([name, code]) => [code, name as AlgorithmName]));

export function algorithmName(code: number): string {
  return ALGORITHM_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

/**
 * Capability bits of the 64-bit big-endian mask. Source: python `CAPABILITY`, yubihsm-shell
 * `yh_capability[]`, developers.yubico.com `Concepts/Capability.adoc` — all agree.
 */
export const Capability = {
  GET_OPAQUE: 1n << 0x00n,
  PUT_OPAQUE: 1n << 0x01n,
  PUT_AUTHENTICATION_KEY: 1n << 0x02n,
  PUT_ASYMMETRIC_KEY: 1n << 0x03n,
  GENERATE_ASYMMETRIC_KEY: 1n << 0x04n,
  SIGN_PKCS: 1n << 0x05n,
  SIGN_PSS: 1n << 0x06n,
  SIGN_ECDSA: 1n << 0x07n,
  SIGN_EDDSA: 1n << 0x08n,
  DECRYPT_PKCS: 1n << 0x09n,
  DECRYPT_OAEP: 1n << 0x0an,
  DERIVE_ECDH: 1n << 0x0bn,
  EXPORT_WRAPPED: 1n << 0x0cn,
  IMPORT_WRAPPED: 1n << 0x0dn,
  PUT_WRAP_KEY: 1n << 0x0en,
  GENERATE_WRAP_KEY: 1n << 0x0fn,
  EXPORTABLE_UNDER_WRAP: 1n << 0x10n,
  SET_OPTION: 1n << 0x11n,
  GET_OPTION: 1n << 0x12n,
  GET_PSEUDO_RANDOM: 1n << 0x13n,
  PUT_MAC_KEY: 1n << 0x14n,
  GENERATE_HMAC_KEY: 1n << 0x15n,
  SIGN_HMAC: 1n << 0x16n,
  VERIFY_HMAC: 1n << 0x17n,
  GET_LOG_ENTRIES: 1n << 0x18n,
  SIGN_SSH_CERTIFICATE: 1n << 0x19n,
  GET_TEMPLATE: 1n << 0x1an,
  PUT_TEMPLATE: 1n << 0x1bn,
  RESET_DEVICE: 1n << 0x1cn,
  DECRYPT_OTP: 1n << 0x1dn,
  CREATE_OTP_AEAD: 1n << 0x1en,
  RANDOMIZE_OTP_AEAD: 1n << 0x1fn,
  REWRAP_FROM_OTP_AEAD_KEY: 1n << 0x20n,
  REWRAP_TO_OTP_AEAD_KEY: 1n << 0x21n,
  SIGN_ATTESTATION_CERTIFICATE: 1n << 0x22n,
  PUT_OTP_AEAD_KEY: 1n << 0x23n,
  GENERATE_OTP_AEAD_KEY: 1n << 0x24n,
  WRAP_DATA: 1n << 0x25n,
  UNWRAP_DATA: 1n << 0x26n,
  DELETE_OPAQUE: 1n << 0x27n,
  DELETE_AUTHENTICATION_KEY: 1n << 0x28n,
  DELETE_ASYMMETRIC_KEY: 1n << 0x29n,
  DELETE_WRAP_KEY: 1n << 0x2an,
  DELETE_HMAC_KEY: 1n << 0x2bn,
  DELETE_TEMPLATE: 1n << 0x2cn,
  DELETE_OTP_AEAD_KEY: 1n << 0x2dn,
  CHANGE_AUTHENTICATION_KEY: 1n << 0x2en,
  PUT_SYMMETRIC_KEY: 1n << 0x2fn,
  GENERATE_SYMMETRIC_KEY: 1n << 0x30n,
  DELETE_SYMMETRIC_KEY: 1n << 0x31n,
  DECRYPT_ECB: 1n << 0x32n,
  ENCRYPT_ECB: 1n << 0x33n,
  DECRYPT_CBC: 1n << 0x34n,
  ENCRYPT_CBC: 1n << 0x35n,
  PUT_PUBLIC_WRAP_KEY: 1n << 0x36n,
  DELETE_PUBLIC_WRAP_KEY: 1n << 0x37n,
} as const;

export type CapabilityName = keyof typeof Capability;

/** Every defined capability (bits 0x00–0x37), what the factory-default auth key holds. */
export const ALL_CAPABILITIES: bigint = Object.values(Capability).reduce((acc, bit) => acc | bit, 0n);

/** Yubico's spelling (`sign-ecdsa`), as yubihsm-shell and the docs print capabilities. */
function kebab(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

const CAPABILITY_BY_NAME = new Map<string, bigint>();
for (const [name, bit] of Object.entries(Capability)) {
  CAPABILITY_BY_NAME.set(name, bit);
  CAPABILITY_BY_NAME.set(kebab(name), bit);
}
// python-yubihsm and some docs call bit 0x14 put-hmac-key.
CAPABILITY_BY_NAME.set('PUT_HMAC_KEY', Capability.PUT_MAC_KEY);
CAPABILITY_BY_NAME.set('put-hmac-key', Capability.PUT_MAC_KEY);
// yubihsm-shell's name for bit 0x03.
CAPABILITY_BY_NAME.set('put-asymmetric', Capability.PUT_ASYMMETRIC_KEY);

/**
 * Capability mask from names in either spelling (`SIGN_ECDSA` or `sign-ecdsa`); `all` selects
 * every defined bit. Throws RangeError naming an unknown capability.
 */
export function capabilitiesFromNames(names: Iterable<string>): bigint {
  let mask = 0n;
  for (const name of names) {
    if (typeof name !== 'string') throw new TypeError('capability names must be strings');
    if (name === 'all' || name === 'ALL') {
      mask |= ALL_CAPABILITIES;
      continue;
    }
    const bit = CAPABILITY_BY_NAME.get(name);
    if (bit === undefined) throw new RangeError(`unknown capability: ${JSON.stringify(name)}`);
    mask |= bit;
  }
  return mask;
}

/** Yubico-spelled names (`sign-ecdsa`) of the bits set in `mask`, lowest bit first; undefined bits as `bit-0xNN`. */
export function capabilityNames(mask: bigint): string[] {
  if (typeof mask !== 'bigint') throw new TypeError('capabilities must be a bigint');
  if (mask < 0n || mask >= 1n << 64n) throw new RangeError('capabilities must fit in 64 bits');
  const names: string[] = [];
  for (let bit = 0n; bit < 64n; bit++) {
    const value = 1n << bit;
    if ((mask & value) === 0n) continue;
    const entry = Object.entries(Capability).find(([, v]) => v === value);
    names.push(entry ? kebab(entry[0]) : `bit-0x${bit.toString(16).padStart(2, '0')}`);
  }
  return names;
}
