// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-device-info.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.DEVICE_INFO;

/** Page 0 (empty payload). The firmware ≥ 2.4 part-number page has its own codec below. */
export type Request = Empty;

export interface Response {
  major: number;
  minor: number;
  build: number;
  serial: number;
  /** Audit log capacity and entries in use. */
  logTotal: number;
  logUsed: number;
  /** Algorithm codes the device supports, one byte each. */
  algorithms: number[];
}

export const encodeRequest = encodeEmpty;
export const decodeRequest = decodeEmpty;

export function encodeResponse(res: Response): Uint8Array {
  const w = new WireWriter()
    .u8(res.major, 'major')
    .u8(res.minor, 'minor')
    .u8(res.build, 'build')
    .u32(res.serial, 'serial')
    .u8(res.logTotal, 'logTotal')
    .u8(res.logUsed, 'logUsed');
  for (const a of res.algorithms) w.u8(a, 'algorithms');
  return w.finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const major = r.u8();
  const minor = r.u8();
  const build = r.u8();
  const serial = r.u32();
  const logTotal = r.u8();
  const logUsed = r.u8();
  return { major, minor, build, serial, logTotal, logUsed, algorithms: Array.from(r.rest()) };
}

/**
 * Firmware ≥ 2.4.0 also answers a one-byte request `01` with page 1, the part number as a string
 * (python-yubihsm `get_device_info`/`DeviceInfo.part_number`, libyubihsm `yh_util_get_partnumber`).
 */
export const PART_NUMBER_PAGE = 1;

/** `page(1)`; page 0 is sent as the empty request above. */
export function encodePageRequest(page: number): Uint8Array {
  return page === 0 ? new Uint8Array(0) : new WireWriter().u8(page, 'page').finish();
}

/** The page a DEVICE_INFO request asks for: empty is page 0, otherwise one page byte. */
export function decodePageRequest(payload: Uint8Array): number {
  const r = new WireReader(payload);
  const page = r.remaining === 0 ? 0 : r.u8();
  r.end();
  return page;
}

export function encodePartNumberResponse(partNumber: string): Uint8Array {
  return new WireWriter().bytes(new TextEncoder().encode(partNumber), 'partNumber').finish();
}

export function decodePartNumberResponse(payload: Uint8Array): string {
  return new TextDecoder().decode(new WireReader(payload).rest());
}
