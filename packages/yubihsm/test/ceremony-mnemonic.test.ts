import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha256';
import { pbkdf2Sync } from 'node:crypto';
import { inspect } from 'node:util';
import { wordlist } from '@scure/bip39/wordlists/english';
import { CeremonySecrets, MnemonicError, mnemonicFromRandomness, parseMnemonic } from '../src/ceremony/mnemonic';
import { hex, loadVectors } from './helpers/vectors';

const vectors = loadVectors<{ entropy?: string; mnemonic: string; seed?: string }>('trezor-bip39-24-words');

/** BIP-39 §"From mnemonic to seed", written out here so the test does not trust the library it checks. */
function bip39Seed(mnemonic: string, passphrase: string): Uint8Array {
  return new Uint8Array(pbkdf2Sync(mnemonic.normalize('NFKD'), `mnemonic${passphrase}`.normalize('NFKD'), 2048, 64, 'sha512'));
}

/** The derivation as docs/yubihsm-setup.md states it, with another HKDF implementation. */
function documented(mnemonic: string, info: string): string {
  return hex(hkdf(sha256, bip39Seed(mnemonic, ''), 'kmsgate/yubihsm/v1', info, 32));
}

describe(`mnemonics — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      if (v.result === 'invalid') {
        expect(() => parseMnemonic(v.mnemonic)).toThrow(new MnemonicError('the mnemonic checksum does not match: a word is wrong or out of order'));
        expect(() => CeremonySecrets.fromMnemonic(v.mnemonic)).toThrow(MnemonicError);
        return;
      }
      expect(hex(bip39Seed(v.mnemonic, 'TREZOR'))).toBe(v.seed);
      expect(parseMnemonic(`  ${v.mnemonic.toUpperCase().replace(/ /g, '\n ')}\n`)).toBe(v.mnemonic);
      const s = CeremonySecrets.fromMnemonic(v.mnemonic);
      for (const role of ['admin', 'keyadmin', 'runtime', 'auditor']) expect(s.password(role)).toBe(documented(v.mnemonic, `auth/${role}`));
      expect(hex(s.wrapKey())).toBe(documented(v.mnemonic, 'wrap/backup'));
      expect(hex(s.backupMacKey())).toBe(documented(v.mnemonic, 'backup-file/mac'));
      expect(s.fingerprint).toBe(documented(v.mnemonic, 'fingerprint').slice(0, 8));
      expect(s.matches(s.fingerprint)).toBe(true);
      expect(s.matches('00000000')).toBe(false);
    });
  }
});

describe('parseMnemonic refuses, naming what is wrong but never a word', () => {
  const good = vectors.cases[0]!.mnemonic;
  it('a wrong word count', () => {
    expect(() => parseMnemonic(good.split(' ').slice(0, 12).join(' '))).toThrow(new MnemonicError('a kmsgate mnemonic has 24 words, this one has 12'));
    expect(() => parseMnemonic('')).toThrow(new MnemonicError('a kmsgate mnemonic has 24 words, this one has 0'));
  });
  it('a word outside the list, by position', () => {
    const words = good.split(' ');
    words[6] = 'abandonx';
    expect(() => parseMnemonic(words.join(' '))).toThrow(new MnemonicError('word 7 is not in the BIP-39 English word list'));
  });
  it('two words swapped (checksum)', () => {
    const words = vectors.cases[1]!.mnemonic.split(' ');
    [words[0], words[1]] = [words[1]!, words[0]!];
    expect(() => parseMnemonic(words.join(' '))).toThrow('checksum does not match');
  });
});

describe('mnemonicFromRandomness', () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  it('is a valid 24-word mnemonic, HKDF of device ‖ host randomness', () => {
    const m = mnemonicFromRandomness(a, b);
    expect(parseMnemonic(m)).toBe(m);
    const ikm = new Uint8Array(64);
    ikm.set(a);
    ikm.set(b, 32);
    const entropy = hkdf(sha256, ikm, 'kmsgate/yubihsm/v1', 'mnemonic/entropy', 32);
    // BIP-39: the first word is the top 11 bits of the entropy.
    const firstIndex = (entropy[0]! << 3) | (entropy[1]! >> 5);
    expect(m.split(' ')[0]).toBe(wordlist[firstIndex]);
  });
  it('depends on both sources', () => {
    const m = mnemonicFromRandomness(a, b);
    expect(mnemonicFromRandomness(new Uint8Array(32).fill(3), b)).not.toBe(m);
    expect(mnemonicFromRandomness(a, new Uint8Array(32).fill(3))).not.toBe(m);
  });
  it('needs 32 bytes from each', () => {
    expect(() => mnemonicFromRandomness(new Uint8Array(16), b)).toThrow(new RangeError('deviceRandom must be 32 bytes, got 16'));
  });
});

it('never shows its secrets when logged', () => {
  const s = CeremonySecrets.fromMnemonic(vectors.cases[0]!.mnemonic);
  const shown = `${JSON.stringify(s)} ${inspect(s)}`;
  expect(shown).not.toContain(s.password('runtime'));
  expect(shown).toContain(s.fingerprint);
  s.wipe();
  expect(() => s.password('runtime')).toThrow('wiped');
});
