import { Command } from '../src/codes';
import * as ExportWrapped from '../src/commands/export-wrapped';
import * as GenerateWrapKey from '../src/commands/generate-wrap-key';
import * as ImportWrapped from '../src/commands/import-wrapped';
import * as PutWrapKey from '../src/commands/put-wrap-key';
import { WireError } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

type Expected = Record<string, string | number>;
interface WrapCase {
  command: 'PUT_WRAP_KEY' | 'GENERATE_WRAP_KEY' | 'EXPORT_WRAPPED' | 'IMPORT_WRAPPED';
  payload: string;
  expected?: Expected;
}

const vectors = loadVectors<WrapCase>('python-yubihsm-wrap');

const CODECS = {
  PUT_WRAP_KEY: PutWrapKey,
  GENERATE_WRAP_KEY: GenerateWrapKey,
  EXPORT_WRAPPED: ExportWrapped,
  IMPORT_WRAPPED: ImportWrapped,
} as const;

const BIGINT_FIELDS = new Set(['capabilities', 'delegatedCapabilities']);
const BYTE_FIELDS = new Set(['label', 'key', 'nonce', 'ciphertext']);

/** The vector's JSON fields as the codec's request type: hex byte strings and hex capability masks. */
function request(expected: Expected): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(expected).map(([k, v]) => {
      if (BIGINT_FIELDS.has(k)) return [k, BigInt(`0x${v as string}`)];
      if (BYTE_FIELDS.has(k)) return [k, unhex(v as string)];
      return [k, v];
    }),
  );
}

describe(`wrap key commands — ${vectors.source}`, () => {
  it('the codecs carry their command codes', () => {
    expect(PutWrapKey.CODE).toBe(0x4c);
    expect(GenerateWrapKey.CODE).toBe(0x5b);
    expect(ExportWrapped.CODE).toBe(0x4a);
    expect(ImportWrapped.CODE).toBe(0x4b);
    for (const [name, codec] of Object.entries(CODECS)) expect(codec.CODE).toBe(Command[name as keyof typeof CODECS]);
  });

  for (const v of vectors.cases) {
    it(`${v.result}: ${v.comment}`, () => {
      const codec = CODECS[v.command] as { decodeRequest(b: Uint8Array): unknown; encodeRequest(r: unknown): Uint8Array };
      if (v.result === 'invalid') {
        expect(() => codec.decodeRequest(unhex(v.payload))).toThrow(WireError);
        return;
      }
      const req = request(v.expected!);
      expect(codec.decodeRequest(unhex(v.payload))).toEqual(req);
      expect(hex(codec.encodeRequest(req))).toBe(v.payload);
    });
  }
});
