import { Command } from '../src/codes';
import * as SignPkcs1 from '../src/commands/sign-pkcs1';
import * as SignPss from '../src/commands/sign-pss';
import { WireError } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

type SignRsaCase =
  | { command: 'SIGN_PKCS1'; payload: string; expected?: { keyId: number; digest: string } }
  | { command: 'SIGN_PSS'; payload: string; expected?: { keyId: number; mgf1Algorithm: number; saltLength: number; digest: string } };

const vectors = loadVectors<SignRsaCase>('python-yubihsm-sign-rsa');

describe(`SIGN_PKCS1 and SIGN_PSS requests — ${vectors.source}`, () => {
  it('the codecs carry their command codes', () => {
    expect(SignPkcs1.CODE).toBe(Command.SIGN_PKCS1);
    expect(SignPkcs1.CODE).toBe(0x47);
    expect(SignPss.CODE).toBe(Command.SIGN_PSS);
    expect(SignPss.CODE).toBe(0x55);
  });

  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      const codec = v.command === 'SIGN_PKCS1' ? SignPkcs1 : SignPss;
      if (v.result === 'invalid') {
        expect(() => codec.decodeRequest(unhex(v.payload))).toThrow(WireError);
        return;
      }
      const e = v.expected!;
      const req = { ...e, digest: unhex(e.digest) };
      if (v.command === 'SIGN_PKCS1') {
        expect(hex(SignPkcs1.encodeRequest(req as SignPkcs1.Request))).toBe(v.payload);
      } else {
        expect(hex(SignPss.encodeRequest(req as SignPss.Request))).toBe(v.payload);
      }
      expect(codec.decodeRequest(unhex(v.payload))).toEqual(req);
    });
  }

  it('responses are the raw signature, any length', () => {
    const sig = new Uint8Array(512).fill(0x5a);
    for (const codec of [SignPkcs1, SignPss]) {
      expect(codec.encodeResponse({ signature: sig })).toEqual(sig);
      expect(codec.decodeResponse(sig)).toEqual({ signature: sig });
    }
  });

  it('encoders check their fields', () => {
    expect(() => SignPss.encodeRequest({ keyId: 1, mgf1Algorithm: 33, saltLength: 0x10000, digest: new Uint8Array(32) })).toThrow(RangeError);
    expect(() => SignPss.encodeRequest({ keyId: 1, mgf1Algorithm: 256, saltLength: 0, digest: new Uint8Array(32) })).toThrow(RangeError);
    expect(() => SignPkcs1.encodeRequest({ keyId: 0x10000, digest: new Uint8Array(32) })).toThrow(RangeError);
  });
});
