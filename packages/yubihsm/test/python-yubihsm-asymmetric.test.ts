import { Command } from '../src/codes';
import * as C from '../src/commands';
import { WireError } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

type Name = 'PUT_ASYMMETRIC_KEY' | 'DERIVE_ECDH' | 'DECRYPT_PKCS1' | 'DECRYPT_OAEP' | 'SIGN_ATTESTATION_CERTIFICATE' | 'PUT_OPAQUE' | 'GET_OPAQUE';

interface Codec {
  CODE: number;
  encodeRequest(req: never): Uint8Array;
  decodeRequest(payload: Uint8Array): unknown;
}

const CODECS: Record<Name, Codec> = {
  PUT_ASYMMETRIC_KEY: C.PutAsymmetricKey,
  DERIVE_ECDH: C.DeriveEcdh,
  DECRYPT_PKCS1: C.DecryptPkcs1,
  DECRYPT_OAEP: C.DecryptOaep,
  SIGN_ATTESTATION_CERTIFICATE: C.SignAttestationCertificate,
  PUT_OPAQUE: C.PutOpaque,
  GET_OPAQUE: C.GetOpaque,
};

const BYTE_FIELDS = new Set(['label', 'key', 'publicKey', 'ciphertext', 'labelHash', 'data']);

/** The vector's expected fields as the codec's request type: hex → bytes, capabilities → bigint. */
function request(expected: Record<string, string | number>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, BYTE_FIELDS.has(k) ? unhex(v as string) : k === 'capabilities' ? BigInt(v) : v]));
}

const vectors = loadVectors<{ command: Name; code: number; payload: string; expected?: Record<string, string | number> }>('python-yubihsm-asymmetric');

describe(`asymmetric and opaque command requests — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      const codec = CODECS[v.command];
      expect(codec.CODE).toBe(Command[v.command]);
      expect(codec.CODE).toBe(v.code);
      if (v.result === 'invalid') {
        expect(() => codec.decodeRequest(unhex(v.payload))).toThrow(WireError);
        return;
      }
      const req = request(v.expected!);
      expect(hex(codec.encodeRequest(req as never))).toBe(v.payload);
      expect(codec.decodeRequest(unhex(v.payload))).toEqual(req);
    });
  }

  it('responses: object ids, and raw bytes for the rest', () => {
    expect(hex(C.PutAsymmetricKey.encodeResponse({ id: 0x1234 }))).toBe('1234');
    expect(C.PutOpaque.decodeResponse(unhex('0042'))).toEqual({ id: 0x42 });
    expect(() => C.PutOpaque.decodeResponse(unhex('004200'))).toThrow(WireError);
    const bytes = unhex('00ff10');
    expect(C.DeriveEcdh.decodeResponse(C.DeriveEcdh.encodeResponse({ sharedSecret: bytes }))).toEqual({ sharedSecret: bytes });
    expect(C.DecryptPkcs1.decodeResponse(C.DecryptPkcs1.encodeResponse({ plaintext: bytes }))).toEqual({ plaintext: bytes });
    expect(C.DecryptOaep.decodeResponse(C.DecryptOaep.encodeResponse({ plaintext: bytes }))).toEqual({ plaintext: bytes });
    expect(C.GetOpaque.decodeResponse(C.GetOpaque.encodeResponse({ data: bytes }))).toEqual({ data: bytes });
    expect(C.SignAttestationCertificate.decodeResponse(bytes)).toEqual({ certificate: bytes });
  });

  it('every sum of a modulus length and a label-hash length is distinct, so DECRYPT_OAEP splits unambiguously', () => {
    const sums = C.DecryptOaep.CIPHERTEXT_LENGTHS.flatMap((c) => C.DecryptOaep.LABEL_HASH_LENGTHS.map((h) => c + h));
    expect(new Set(sums).size).toBe(sums.length);
  });

  it('encoders check their fields', () => {
    expect(() => C.SignAttestationCertificate.encodeRequest({ keyId: 0x10000, attestingKeyId: 0 })).toThrow(RangeError);
    expect(() => C.GetOpaque.encodeRequest({ id: -1 })).toThrow(RangeError);
    expect(() => C.DecryptOaep.encodeRequest({ keyId: 1, mgf1Algorithm: 256, ciphertext: new Uint8Array(256), labelHash: new Uint8Array(32) })).toThrow(
      RangeError,
    );
  });
});
