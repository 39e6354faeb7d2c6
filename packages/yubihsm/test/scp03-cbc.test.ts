import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CbcKey } from '../src/scp03/cbc';
import { hex, unhex } from './helpers/vectors';

/** NIST SP 800-38A, F.2.1 CBC-AES128.Encrypt (F.2.2 is its inverse). */
const SP800_38A = {
  key: '2b7e151628aed2a6abf7158809cf4f3c',
  iv: '000102030405060708090a0b0c0d0e0f',
  plaintext: '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
  ciphertext: '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7',
};

describe('CbcKey: AES-CBC with a new IV per message on contexts kept for the session', () => {
  it('matches SP 800-38A F.2.1/F.2.2, also as the second message on the same key', () => {
    const k = new CbcKey(unhex(SP800_38A.key));
    for (let i = 0; i < 2; i++) {
      expect(hex(k.encrypt(unhex(SP800_38A.iv), unhex(SP800_38A.plaintext)))).toBe(SP800_38A.ciphertext);
      expect(hex(k.decrypt(unhex(SP800_38A.iv), unhex(SP800_38A.ciphertext)))).toBe(SP800_38A.plaintext);
    }
  });

  it("matches node:crypto's one-shot AES-CBC over many messages of different lengths and IVs, both directions interleaved", () => {
    const key = randomBytes(16);
    const k = new CbcKey(key);
    for (let n = 0; n < 200; n++) {
      const iv = randomBytes(16);
      const data = randomBytes(16 * (1 + (n % 9)));
      const c = createCipheriv('aes-128-cbc', key, iv);
      c.setAutoPadding(false);
      const expected = c.update(data);
      const copy = Buffer.from(data);
      expect(Buffer.from(k.encrypt(iv, data))).toEqual(expected);
      expect(data).toEqual(copy); // the input is left as it was
      const d = createDecipheriv('aes-128-cbc', key, iv);
      d.setAutoPadding(false);
      expect(Buffer.from(k.decrypt(iv, expected))).toEqual(d.update(expected));
    }
  });

  it('refuses input that is not whole blocks and an IV that is not one block', () => {
    const k = new CbcKey(randomBytes(16));
    expect(() => k.encrypt(new Uint8Array(16), new Uint8Array(15))).toThrow(/whole 16-byte blocks/);
    expect(() => k.encrypt(new Uint8Array(16), new Uint8Array(0))).toThrow(/whole 16-byte blocks/);
    expect(() => k.encrypt(new Uint8Array(8), new Uint8Array(16))).toThrow(/16 bytes/);
    expect(() => k.decrypt(new Uint8Array(16), new Uint8Array(17))).toThrow(/whole 16-byte blocks/);
  });
});
