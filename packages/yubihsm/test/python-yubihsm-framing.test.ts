import * as DeviceInfo from '../src/commands/device-info';
import * as ListObjects from '../src/commands/list-objects';
import { WireError, frame, parseFrame } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

type FramingCase =
  | { kind: 'device-info-response'; frame: string; expected?: DeviceInfo.Response }
  | { kind: 'list-objects-request'; payload: string; expected: { id: number; type: number; domains: number; capabilities: string; algorithm: number } }
  | { kind: 'list-objects-response'; payload: string; expected?: ListObjects.ListedObject[] }
  | { kind: 'frame'; frame: string };

const vectors = loadVectors<FramingCase>('python-yubihsm-framing');

describe(`framing and command payloads — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      switch (v.kind) {
        case 'device-info-response': {
          const decode = () => {
            const f = parseFrame(unhex(v.frame));
            expect(f.code).toBe(0x86);
            return DeviceInfo.decodeResponse(f.payload);
          };
          if (v.result === 'invalid') {
            expect(decode).toThrow(WireError);
            return;
          }
          const info = decode();
          expect(info).toEqual(v.expected);
          expect(hex(frame(0x86, DeviceInfo.encodeResponse(info)))).toBe(v.frame);
          return;
        }
        case 'list-objects-request': {
          const e = v.expected;
          const req: ListObjects.Request = { id: e.id, type: e.type, domains: e.domains, capabilities: BigInt(`0x${e.capabilities}`), algorithm: e.algorithm };
          expect(hex(ListObjects.encodeRequest(req))).toBe(v.payload);
          expect(ListObjects.decodeRequest(unhex(v.payload))).toEqual(req);
          return;
        }
        case 'list-objects-response': {
          if (v.result === 'invalid') {
            expect(() => ListObjects.decodeResponse(unhex(v.payload))).toThrow(WireError);
            return;
          }
          expect(ListObjects.decodeResponse(unhex(v.payload)).objects).toEqual(v.expected);
          expect(hex(ListObjects.encodeResponse({ objects: v.expected! }))).toBe(v.payload);
          return;
        }
        case 'frame':
          expect(v.result).toBe('invalid');
          expect(() => parseFrame(unhex(v.frame))).toThrow(WireError);
          return;
      }
    });
  }
});
