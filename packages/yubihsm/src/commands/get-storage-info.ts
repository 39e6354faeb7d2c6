// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-get-storage-info.html
import { Command } from '../codes';
import { WireReader, WireWriter } from '../wire';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.GET_STORAGE_INFO;

export type Request = Empty;

/** Object records and storage pages, total and free (the page's example: 256 records, 1024 pages of 126 bytes). */
export interface Response {
  totalRecords: number;
  freeRecords: number;
  totalPages: number;
  freePages: number;
  pageSize: number;
}

export const encodeRequest = encodeEmpty;
export const decodeRequest = decodeEmpty;

export function encodeResponse(res: Response): Uint8Array {
  return new WireWriter()
    .u16(res.totalRecords, 'totalRecords')
    .u16(res.freeRecords, 'freeRecords')
    .u16(res.totalPages, 'totalPages')
    .u16(res.freePages, 'freePages')
    .u16(res.pageSize, 'pageSize')
    .finish();
}

export function decodeResponse(payload: Uint8Array): Response {
  const r = new WireReader(payload);
  const res = { totalRecords: r.u16(), freeRecords: r.u16(), totalPages: r.u16(), freePages: r.u16(), pageSize: r.u16() };
  r.end();
  return res;
}
