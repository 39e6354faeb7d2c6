import { aesCmac } from '../src/scp03/kdf';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ key: string; message: string; tag: string }>('rfc4493-aes-cmac');

describe(`AES-CMAC — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      expect(hex(aesCmac(unhex(v.key), unhex(v.message))) === v.tag).toBe(v.result === 'valid');
    });
  }
});
