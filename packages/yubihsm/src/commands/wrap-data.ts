// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-wrap-data.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type CcmWrapped, readCcmWrapped, writeCcmWrapped } from './ccm-wrapped';
import { type KeyDataRequest, decodeKeyData, encodeKeyData } from './key-data';

export const CODE = Command.WRAP_DATA;

/**
 * The device encrypts `0x00 || data`: the leading nul byte, encrypted with the rest, is checked by
 * UNWRAP_DATA (Yubico Wrap Data page), so the answer is 1 + 13 + 16 bytes longer than the data
 * (`YH_CCM_WRAP_OVERHEAD` in yubihsm-shell `lib/yubihsm.h`).
 */
export const WRAP_DATA_OVERHEAD = 30;

/** `keyId` names the wrap key. */
export type Request = KeyDataRequest;
export type Response = CcmWrapped;

export const encodeRequest: (req: Request) => Uint8Array = encodeKeyData;
export const decodeRequest: (payload: Uint8Array) => Request = decodeKeyData;

export function encodeResponse(res: Response): Uint8Array {
  return writeCcmWrapped(new WireWriter(), res).finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return readCcmWrapped(new WireReader(payload));
}
