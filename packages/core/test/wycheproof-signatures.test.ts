/**
 * verifySignature against Wycheproof's RSASSA-PSS, RSASSA-PKCS1-v1_5 and ECDSA P-521 vectors:
 * each message is hashed as AWS does for MessageType RAW, and the digest goes through the same
 * path a Verify request takes. Valid cases must verify, invalid ones must be
 * KMSInvalidSignatureException.
 */
import { createHash } from 'node:crypto';
import { KmsError, SIGNING_ALGORITHMS, isSupportedKeySpec, isSupportedSigningAlgorithm, verifySignature } from '../src';
import { CTX, keyRecord } from './helpers/keys';
import { loadWycheproof, unhex } from './helpers/vectors';

for (const name of ['wycheproof-rsa-pss', 'wycheproof-rsa-pkcs1', 'wycheproof-ecdsa-p521']) {
  const vectors = loadWycheproof(name);
  describe(`${name} — ${vectors.source.slice(0, 120)}…`, () => {
    for (const c of vectors.cases) {
      const key = vectors.keys[c.key]!;
      it(`${key.file} tcId ${c.tcId} ${c.result}: ${c.comment}`, () => {
        if (!isSupportedKeySpec(key.keySpec) || !isSupportedSigningAlgorithm(key.algorithm)) throw new Error(`bad vector key ${c.key}`);
        const digest = new Uint8Array(createHash(SIGNING_ALGORITHMS[key.algorithm].hash).update(unhex(c.msg)).digest());
        const verify = () => verifySignature(CTX, keyRecord(key.keySpec as never, unhex(key.spki)), key.algorithm as never, digest, unhex(c.sig));
        if (c.result === 'valid') {
          expect(verify).not.toThrow();
        } else {
          let err: unknown;
          try {
            verify();
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(KmsError);
          expect(err).toMatchObject({ type: 'KMSInvalidSignatureException', message: '' });
        }
      });
    }
  });
}
