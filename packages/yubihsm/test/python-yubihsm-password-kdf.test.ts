import { authKeyFromPassword } from '../src/scp03/kdf';
import { hex, loadVectors } from './helpers/vectors';

const vectors = loadVectors<{ password: string; passwordUtf8: string; encKey: string; macKey: string }>('python-yubihsm-password-kdf');

describe(`password KDF — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      expect(hex(new TextEncoder().encode(v.password))).toBe(v.passwordUtf8);
      const key = authKeyFromPassword(v.password);
      const matches = hex(key.encKey) === v.encKey && hex(key.macKey) === v.macKey;
      expect(matches).toBe(v.result === 'valid');
    });
  }

  it('rejects a non-string password, naming the field', () => {
    expect(() => authKeyFromPassword(42 as unknown as string)).toThrow(new TypeError('password must be a string'));
  });
});
