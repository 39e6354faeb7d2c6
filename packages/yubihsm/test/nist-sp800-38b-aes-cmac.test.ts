import { aesCmac } from '../src/scp03/kdf';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ key: string; message: string; tag: string }>('nist-sp800-38b-aes-cmac');

describe(`AES-256-CMAC — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      expect(hex(aesCmac(unhex(v.key), unhex(v.message))) === v.tag).toBe(v.result === 'valid');
    });
  }

  it('rejects keys that are not AES keys', () => {
    expect(() => aesCmac(new Uint8Array(15), new Uint8Array(0))).toThrow(RangeError);
  });
});
