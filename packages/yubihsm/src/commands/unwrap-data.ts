// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-unwrap-data.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type CcmWrapped, readCcmWrapped, writeCcmWrapped } from './ccm-wrapped';
import { type DataResponse, decodeData, encodeData } from './key-data';

export const CODE = Command.UNWRAP_DATA;

/** `WrapKeyID(2) || Nonce(13) || ciphertext || Tag(16)`: a WRAP_DATA answer behind the wrap key's ID. */
export interface Request extends CcmWrapped {
  keyId: number;
}

/** The data, without the leading nul byte WRAP_DATA added. */
export type Response = DataResponse;

export function encodeRequest(req: Request): Uint8Array {
  return writeCcmWrapped(new WireWriter().u16(req.keyId, 'keyId'), req).finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const keyId = r.u16();
  return { keyId, ...readCcmWrapped(r) };
}

export const encodeResponse: (res: Response) => Uint8Array = encodeData;
export const decodeResponse: (payload: Uint8Array) => Response = decodeData;
