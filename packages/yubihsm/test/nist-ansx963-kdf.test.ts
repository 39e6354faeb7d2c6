// The X9.63 KDF of asymmetric session authentication against NIST's CAVP vectors.
import { ecdhP256, generateP256, p256PublicKey, x963KdfSha256 } from '../src/scp03/asymmetric';
import { hex, loadVectors, unhex } from './helpers/vectors';

const vectors = loadVectors<{ z: string; sharedInfo: string; keyData: string }>('nist-ansx963-2001-kdf');

test.each(vectors.cases)('$comment', (c) => {
  expect(hex(x963KdfSha256(unhex(c.z), unhex(c.sharedInfo), c.keyData.length / 2))).toBe(c.keyData);
});

test('a short output is the prefix of a longer one', () => {
  const c = vectors.cases[1]!;
  expect(hex(x963KdfSha256(unhex(c.z), unhex(c.sharedInfo), 40))).toBe(c.keyData.slice(0, 80));
});

test('generated P-256 scalars are always 32 bytes, even the 1 in 256 with a leading zero byte', () => {
  let leadingZero: Uint8Array | undefined;
  // Bounded only as a safety net: (255/256)^50000 is about e^-195.
  for (let i = 0; i < 50_000 && leadingZero === undefined; i++) {
    const { privateKey, publicKey } = generateP256();
    expect(privateKey).toHaveLength(32);
    if (privateKey[0] === 0) {
      leadingZero = privateKey;
      expect(p256PublicKey(privateKey)).toEqual(publicKey);
      expect(ecdhP256(privateKey, publicKey)).toHaveLength(32);
    }
  }
  expect(leadingZero).toBeDefined();
});
