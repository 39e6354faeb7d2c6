// The wrapped-object layout against blobs made outside kmsgate, two of them by a YubiHSM 2. The
// AES-CCM layer is opened here with node:crypto, so only the header codec is under test.
import { createDecipheriv } from 'node:crypto';
import { decodeWrappedObject, encodeWrappedObject, WRAPPED_HEADER_LENGTH } from '../src/wrapped-object';
import { WireError } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

interface YhwCase {
  yhw: string;
  object: {
    wrapAlgorithm: number;
    capabilities: string;
    id: number;
    domains: number;
    type: number;
    algorithm: number;
    sequence: number;
    origin: number;
    label: string;
    body: string;
  };
}

const vectors = loadVectors<YhwCase>('signstar-yhw');
const wrapKey = unhex((vectors as unknown as { wrapKey: string }).wrapKey);

function openYhw(yhw: string): Uint8Array {
  const blob = Buffer.from(yhw, 'base64');
  const ciphertext = blob.subarray(13, blob.length - 16);
  const decipher = createDecipheriv('aes-128-ccm', wrapKey, blob.subarray(0, 13), { authTagLength: 16 });
  decipher.setAuthTag(blob.subarray(blob.length - 16));
  decipher.setAAD(Buffer.alloc(0), { plaintextLength: ciphertext.length });
  return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}

describe(`wrapped-object layout — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      const plaintext = openYhw(v.yhw);
      const o = decodeWrappedObject(plaintext);
      const { label, body, capabilities, ...fields } = v.object;
      expect(o).toMatchObject(fields);
      expect(o.capabilities).toBe(BigInt(`0x${capabilities}`));
      expect(new TextDecoder().decode(o.label)).toBe(label);
      expect(hex(o.body)).toBe(body);
      expect(hex(encodeWrappedObject(o))).toBe(hex(plaintext));
    });
  }

  it('refuses a plaintext shorter than the header, or whose body length disagrees', () => {
    const plaintext = openYhw(vectors.cases[1]!.yhw);
    expect(() => decodeWrappedObject(plaintext.subarray(0, WRAPPED_HEADER_LENGTH - 1))).toThrow(WireError);
    expect(() => decodeWrappedObject(plaintext.subarray(0, plaintext.length - 1))).toThrow(WireError);
    const longer = new Uint8Array(plaintext.length + 1);
    longer.set(plaintext);
    expect(() => decodeWrappedObject(longer)).toThrow(WireError);
  });
});
