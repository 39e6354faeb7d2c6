/**
 * AES-CCM output as the device frames it (EXPORT_WRAPPED, WRAP_DATA) and takes it back
 * (IMPORT_WRAPPED, UNWRAP_DATA): `Nonce(13) || ciphertext || Tag(16)`. The nonce is the device's
 * choice; the 16-byte tag ends the ciphertext (Yubico Export Wrapped page: "AES-CCM with a 16 bytes
 * MAC and a 13 bytes nonce"; yubihsm-shell `yhwrap/main.c`).
 */
import { WireError, WireReader, WireWriter } from '../wire';

export const CCM_NONCE_LENGTH = 13;
export const CCM_TAG_LENGTH = 16;

export interface CcmWrapped {
  nonce: Uint8Array;
  /** The CCM ciphertext with its 16-byte tag at the end. */
  ciphertext: Uint8Array;
}

export function writeCcmWrapped(w: WireWriter, value: CcmWrapped): WireWriter {
  return w.fixedBytes(value.nonce, CCM_NONCE_LENGTH, 'nonce').bytes(value.ciphertext, 'ciphertext');
}

/** Reads the rest of the message; a body too short to hold even the tag is a wrong length. */
export function readCcmWrapped(r: WireReader): CcmWrapped {
  const nonce = r.bytes(CCM_NONCE_LENGTH);
  if (r.remaining < CCM_TAG_LENGTH) throw new WireError(`AES-CCM body of ${r.remaining} bytes is shorter than its ${CCM_TAG_LENGTH}-byte tag`);
  return { nonce, ciphertext: r.rest() };
}

/** The blob as clients keep it (a `.yhw` file is its base64): `nonce || ciphertext`. */
export function joinCcmWrapped(value: CcmWrapped): Uint8Array {
  return writeCcmWrapped(new WireWriter(), value).finish();
}

export function splitCcmWrapped(blob: Uint8Array): CcmWrapped {
  const r = new WireReader(blob);
  return readCcmWrapped(r);
}
