// The X9.63 KDF of asymmetric session authentication against NIST's CAVP vectors.
import { x963KdfSha256 } from '../src/scp03/asymmetric';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ z: string; sharedInfo: string; keyData: string }>('nist-ansx963-2001-kdf');

test.each(vectors.cases)('$comment', (c) => {
  expect(hex(x963KdfSha256(unhex(c.z), unhex(c.sharedInfo), c.keyData.length / 2))).toBe(c.keyData);
});

test('a short output is the prefix of a longer one', () => {
  const c = vectors.cases[1]!;
  expect(hex(x963KdfSha256(unhex(c.z), unhex(c.sharedInfo), 40))).toBe(c.keyData.slice(0, 80));
});
