// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-import-wrapped.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type CcmWrapped, readCcmWrapped, writeCcmWrapped } from './ccm-wrapped';

export const CODE = Command.IMPORT_WRAPPED;

/** `WrapKeyID(2) || Nonce(13) || AES-CCM(object) || Tag(16)`: an EXPORT_WRAPPED answer behind the wrap key's ID. */
export interface Request extends CcmWrapped {
  wrapKeyId: number;
}

/** The imported object keeps the type and ID it was exported with. */
export interface Response {
  type: number;
  id: number;
}

export function encodeRequest(req: Request): Uint8Array {
  return writeCcmWrapped(new WireWriter().u16(req.wrapKeyId, 'wrapKeyId'), req).finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const wrapKeyId = r.u16();
  return { wrapKeyId, ...readCcmWrapped(r) };
}

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter().u8(res.type, 'type').u16(res.id, 'id').finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const res = { type: r.u8(), id: r.u16() };
  r.end();
  return res;
}
