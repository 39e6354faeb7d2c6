import { scp03Kdf } from '../src/scp03/kdf';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ key: string; constant: number; context: string; lengthBits: number; output: string }>('software-key-core-scp03-kdf');

describe(`SCP03 KDF (SP 800-108 counter mode, AES-CMAC) — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      const out = scp03Kdf(unhex(v.key), v.constant, unhex(v.context), v.lengthBits);
      expect(hex(out) === v.output).toBe(v.result === 'valid');
    });
  }
});
