// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-export-wrapped.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type CcmWrapped, readCcmWrapped, writeCcmWrapped } from './ccm-wrapped';

export const CODE = Command.EXPORT_WRAPPED;

/** Firmware ≥ 2.4's optional format byte (python-yubihsm `export_wrapped(seed=True)`). */
export const ExportFormat = {
  /** The original layout; an Ed25519 key travels as its expanded scalar and prefix only. */
  LEGACY: 0,
  /** An Ed25519 key also carries its 32-byte seed. */
  WITH_ED25519_SEED: 1,
} as const;

export interface Request {
  wrapKeyId: number;
  type: number;
  id: number;
  /** Omitted on the wire when LEGACY, as python-yubihsm and yubihsm-shell send it. */
  format?: number;
}

/** `Nonce(13) || AES-CCM(object) || Tag(16)`. */
export type Response = CcmWrapped;

export function encodeRequest(req: Request): Uint8Array {
  const w = new WireWriter().u16(req.wrapKeyId, 'wrapKeyId').u8(req.type, 'type').u16(req.id, 'id');
  if (req.format !== undefined && req.format !== ExportFormat.LEGACY) w.u8(req.format, 'format');
  return w.finish();
}

export function decodeRequest(payload: Uint8Array): Request {
  const r = new WireReader(payload);
  const req: Request = { wrapKeyId: r.u16(), type: r.u8(), id: r.u16() };
  if (r.remaining > 0) req.format = r.u8();
  r.end();
  return req;
}

export function encodeResponse(res: Response): Uint8Array {
  return writeCcmWrapped(new WireWriter(), res).finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  return readCcmWrapped(new WireReader(payload));
}
