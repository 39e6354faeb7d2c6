// Which object ids a log entry names as "target" and "second" key. Read centrally from the
// request and response bytes, so a command added to the dispatch table is logged with no work in
// its handler. Hardware's choices are known from the Get Log Entries page's example (PUT_WRAP_KEY
// logs the new id, IMPORT_WRAPPED the wrap key and the imported object, SET_LOG_INDEX none,
// CREATE/AUTHENTICATE_SESSION the authentication key); the rest follow the same pattern.
import { Command, GetLogEntries } from '@kmsgate/yubihsm';

/** A big-endian u16 in the request or the response data at `at`. */
type Field = readonly ['request' | 'response', number];

interface TargetSpec {
  /** Tried in order; the first one present in the bytes wins. */
  target: readonly Field[];
  second?: readonly Field[];
}

const REQUEST_ID: TargetSpec = { target: [['request', 0]] };
/** PUT_* / GENERATE_*: the id the device assigned, or the one asked for when the command failed. */
const NEW_OBJECT: TargetSpec = {
  target: [
    ['response', 0],
    ['request', 0],
  ],
};

const SPECS = new Map<number, TargetSpec>([
  [Command.CREATE_SESSION, REQUEST_ID],
  [Command.GET_OPAQUE, REQUEST_ID],
  [Command.SIGN_PKCS1, REQUEST_ID],
  [Command.DECRYPT_PKCS1, REQUEST_ID],
  [Command.GET_OBJECT_INFO, REQUEST_ID],
  [Command.SIGN_HMAC, REQUEST_ID],
  [Command.GET_PUBLIC_KEY, REQUEST_ID],
  [Command.SIGN_PSS, REQUEST_ID],
  [Command.SIGN_ECDSA, REQUEST_ID],
  [Command.DERIVE_ECDH, REQUEST_ID],
  [Command.DELETE_OBJECT, REQUEST_ID],
  [Command.DECRYPT_OAEP, REQUEST_ID],
  [Command.VERIFY_HMAC, REQUEST_ID],
  [Command.GET_TEMPLATE, REQUEST_ID],
  [Command.DECRYPT_OTP, REQUEST_ID],
  [Command.CREATE_OTP_AEAD, REQUEST_ID],
  [Command.RANDOMIZE_OTP_AEAD, REQUEST_ID],
  [Command.WRAP_DATA, REQUEST_ID],
  [Command.UNWRAP_DATA, REQUEST_ID],
  [Command.SIGN_EDDSA, REQUEST_ID],
  [Command.CHANGE_AUTHENTICATION_KEY, REQUEST_ID],
  [Command.DECRYPT_ECB, REQUEST_ID],
  [Command.ENCRYPT_ECB, REQUEST_ID],
  [Command.DECRYPT_CBC, REQUEST_ID],
  [Command.ENCRYPT_CBC, REQUEST_ID],
  [Command.PUT_OPAQUE, NEW_OBJECT],
  [Command.PUT_AUTHENTICATION_KEY, NEW_OBJECT],
  [Command.PUT_ASYMMETRIC_KEY, NEW_OBJECT],
  [Command.GENERATE_ASYMMETRIC_KEY, NEW_OBJECT],
  [Command.PUT_WRAP_KEY, NEW_OBJECT],
  [Command.PUT_HMAC_KEY, NEW_OBJECT],
  [Command.GENERATE_HMAC_KEY, NEW_OBJECT],
  [Command.GENERATE_WRAP_KEY, NEW_OBJECT],
  [Command.PUT_TEMPLATE, NEW_OBJECT],
  [Command.PUT_OTP_AEAD_KEY, NEW_OBJECT],
  [Command.GENERATE_OTP_AEAD_KEY, NEW_OBJECT],
  [Command.PUT_SYMMETRIC_KEY, NEW_OBJECT],
  [Command.GENERATE_SYMMETRIC_KEY, NEW_OBJECT],
  [Command.PUT_PUBLIC_WRAP_KEY, NEW_OBJECT],
  // WrapKeyID(2) || Type(1) || ObjectID(2)
  [Command.EXPORT_WRAPPED, { target: [['request', 0]], second: [['request', 3]] }],
  // answer: Type(1) || ObjectID(2)
  [Command.IMPORT_WRAPPED, { target: [['request', 0]], second: [['response', 1]] }],
  // KeyID(2) || AttestingKeyID(2)
  [Command.SIGN_ATTESTATION_CERTIFICATE, { target: [['request', 0]], second: [['request', 2]] }],
  // KeyID(2) || TemplateID(2)
  [Command.SIGN_SSH_CERTIFICATE, { target: [['request', 0]], second: [['request', 2]] }],
  // FromKeyID(2) || ToKeyID(2)
  [Command.REWRAP_OTP_AEAD, { target: [['request', 0]], second: [['request', 2]] }],
]);

export interface LogTargets {
  targetKey: number;
  secondKey: number;
}

/** `response` is the response data, or undefined when the command failed. */
export function logTargets(command: number, request: Uint8Array, response: Uint8Array | undefined): LogTargets {
  const spec = SPECS.get(command);
  const none = GetLogEntries.NO_OBJECT;
  if (spec === undefined) return { targetKey: none, secondKey: none };
  const read = (fields: readonly Field[] | undefined): number => {
    for (const [where, at] of fields ?? []) {
      const bytes = where === 'request' ? request : response;
      if (bytes !== undefined && bytes.length >= at + 2) return (bytes[at]! << 8) | bytes[at + 1]!;
    }
    return none;
  };
  return { targetKey: read(spec.target), secondKey: read(spec.second) };
}
