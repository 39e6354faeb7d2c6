// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-device-public-key.html
import { Command } from '../codes';
import { EC_P256_PUBLIC_KEY_LENGTH } from '../scp03/asymmetric';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.GET_DEVICE_PUBLIC_KEY;

/** Sent in the clear (firmware 2.3+): the key hosts use for asymmetric session authentication. */
export type Request = Empty;

export interface Response {
  /** Always EC_P256_YUBICO_AUTHENTICATION so far (the command page). */
  algorithm: number;
  /** `X || Y`, without the 04 prefix. */
  publicKey: Uint8Array;
}

export const encodeRequest = encodeEmpty;
export const decodeRequest = decodeEmpty;

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().u8(res.algorithm, 'algorithm').fixedBytes(res.publicKey, EC_P256_PUBLIC_KEY_LENGTH, 'publicKey').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const res = { algorithm: r.u8(), publicKey: r.bytes(EC_P256_PUBLIC_KEY_LENGTH) };
  r.end();
  return res;
}
