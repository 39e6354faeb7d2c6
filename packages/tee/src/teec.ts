/**
 * GlobalPlatform TEE Client API result codes and error origins, as `tee_client_api.h` in
 * OP-TEE/optee_client defines them (GPD_SPE_007, TEE Client API Specification v1.0, §4.4.2 and
 * §4.4.3). The bridge protocol carries them verbatim so that an operator can look a failure up in
 * OP-TEE's documentation and issue trackers.
 */
export const TEEC_RESULT = {
  TEEC_SUCCESS: 0x0000_0000,
  TEEC_ERROR_STORAGE_NOT_AVAILABLE: 0xf010_0003,
  TEEC_ERROR_GENERIC: 0xffff_0000,
  TEEC_ERROR_ACCESS_DENIED: 0xffff_0001,
  TEEC_ERROR_CANCEL: 0xffff_0002,
  TEEC_ERROR_ACCESS_CONFLICT: 0xffff_0003,
  TEEC_ERROR_EXCESS_DATA: 0xffff_0004,
  TEEC_ERROR_BAD_FORMAT: 0xffff_0005,
  TEEC_ERROR_BAD_PARAMETERS: 0xffff_0006,
  TEEC_ERROR_BAD_STATE: 0xffff_0007,
  TEEC_ERROR_ITEM_NOT_FOUND: 0xffff_0008,
  TEEC_ERROR_NOT_IMPLEMENTED: 0xffff_0009,
  TEEC_ERROR_NOT_SUPPORTED: 0xffff_000a,
  TEEC_ERROR_NO_DATA: 0xffff_000b,
  TEEC_ERROR_OUT_OF_MEMORY: 0xffff_000c,
  TEEC_ERROR_BUSY: 0xffff_000d,
  TEEC_ERROR_COMMUNICATION: 0xffff_000e,
  TEEC_ERROR_SECURITY: 0xffff_000f,
  TEEC_ERROR_SHORT_BUFFER: 0xffff_0010,
  TEEC_ERROR_EXTERNAL_CANCEL: 0xffff_0011,
  /** The trusted application panicked; its session is gone. */
  TEEC_ERROR_TARGET_DEAD: 0xffff_3024,
  TEEC_ERROR_STORAGE_NO_SPACE: 0xffff_3041,
  /**
   * Not a TEE Client API name: the Internal Core API's TEE_ERROR_MAC_INVALID (GPD_SPE_010), which
   * the TA returns, and libteec passes through, when `unseal`'s GCM tag does not verify.
   */
  TEE_ERROR_MAC_INVALID: 0xffff_3071,
} as const;

export type TeecResultName = keyof typeof TEEC_RESULT;

/** `returnOrigin` of TEEC_OpenSession / TEEC_InvokeCommand: which layer produced the code. */
export const TEEC_ORIGIN = {
  TEEC_ORIGIN_API: 1,
  TEEC_ORIGIN_COMMS: 2,
  TEEC_ORIGIN_TEE: 3,
  TEEC_ORIGIN_TRUSTED_APP: 4,
} as const;

export type TeecOriginName = keyof typeof TEEC_ORIGIN;

/** `0xFFFF000D`: the wire form of a result code (8 upper-case hex digits). */
export function teecHex(code: number): string {
  return '0x' + (code >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** Parses the wire form; case-insensitive. */
export function parseTeecHex(text: string): number {
  if (!/^0x[0-9a-fA-F]{8}$/.test(text)) throw new RangeError(`not a TEEC result code: ${text}`);
  return Number.parseInt(text.slice(2), 16);
}

const RESULT_NAMES = new Map<number, TeecResultName>((Object.entries(TEEC_RESULT) as [TeecResultName, number][]).map(([name, value]) => [value, name]));

/** `TEEC_ERROR_BUSY (0xFFFF000D)`, or just the hex for a code outside the table (TA-defined codes). */
export function teecDescribe(code: number): string {
  const name = RESULT_NAMES.get(code >>> 0);
  return name ? `${name} (${teecHex(code)})` : teecHex(code);
}

export function teecOriginName(origin: number): string {
  const entry = Object.entries(TEEC_ORIGIN).find(([, v]) => v === origin);
  return entry ? entry[0] : `origin ${origin}`;
}
