// Request layouts of the wrap, HMAC and AES commands against the bytes python-yubihsm itself sends.
import { Command } from '../src/codes';
import * as DecryptCbc from '../src/commands/decrypt-cbc';
import * as DecryptEcb from '../src/commands/decrypt-ecb';
import * as EncryptCbc from '../src/commands/encrypt-cbc';
import * as EncryptEcb from '../src/commands/encrypt-ecb';
import * as ExportWrapped from '../src/commands/export-wrapped';
import * as GenerateHmacKey from '../src/commands/generate-hmac-key';
import * as GenerateSymmetricKey from '../src/commands/generate-symmetric-key';
import * as GenerateWrapKey from '../src/commands/generate-wrap-key';
import * as ImportWrapped from '../src/commands/import-wrapped';
import * as PutHmacKey from '../src/commands/put-hmac-key';
import * as PutSymmetricKey from '../src/commands/put-symmetric-key';
import * as PutWrapKey from '../src/commands/put-wrap-key';
import * as SignHmac from '../src/commands/sign-hmac';
import * as UnwrapData from '../src/commands/unwrap-data';
import * as VerifyHmac from '../src/commands/verify-hmac';
import * as WrapData from '../src/commands/wrap-data';
import { WireError } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

interface Codec {
  CODE: number;
  encodeRequest(req: never): Uint8Array;
  decodeRequest(payload: Uint8Array, macLength: number): unknown;
}

const CODECS = {
  PUT_WRAP_KEY: PutWrapKey,
  GENERATE_WRAP_KEY: GenerateWrapKey,
  EXPORT_WRAPPED: ExportWrapped,
  IMPORT_WRAPPED: ImportWrapped,
  WRAP_DATA: WrapData,
  UNWRAP_DATA: UnwrapData,
  PUT_HMAC_KEY: PutHmacKey,
  GENERATE_HMAC_KEY: GenerateHmacKey,
  SIGN_HMAC: SignHmac,
  VERIFY_HMAC: VerifyHmac,
  PUT_SYMMETRIC_KEY: PutSymmetricKey,
  GENERATE_SYMMETRIC_KEY: GenerateSymmetricKey,
  ENCRYPT_ECB: EncryptEcb,
  DECRYPT_ECB: DecryptEcb,
  ENCRYPT_CBC: EncryptCbc,
  DECRYPT_CBC: DecryptCbc,
} satisfies Record<string, Codec>;

type CommandName = keyof typeof CODECS;

interface CommandCase {
  command: CommandName;
  payload: string;
  /** VERIFY_HMAC only: the key's MAC length, which the device knows from the key. */
  macLength?: number;
  expected?: Record<string, string | number>;
}

const BIGINT_FIELDS = new Set(['capabilities', 'delegatedCapabilities']);
const BYTE_FIELDS = new Set(['label', 'key', 'nonce', 'ciphertext', 'data', 'mac', 'iv']);

/** The vector's JSON fields as the codec's request type: hex byte strings and hex capability masks. */
function request(expected: Record<string, string | number>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(expected).map(([k, v]) => {
      if (BIGINT_FIELDS.has(k)) return [k, BigInt(`0x${v as string}`)];
      if (BYTE_FIELDS.has(k)) return [k, unhex(v as string)];
      return [k, v];
    }),
  );
}

it('each codec carries its command code', () => {
  for (const [name, codec] of Object.entries(CODECS)) expect(codec.CODE).toBe(Command[name as CommandName]);
  expect([PutWrapKey.CODE, GenerateWrapKey.CODE, ExportWrapped.CODE, ImportWrapped.CODE, WrapData.CODE, UnwrapData.CODE]).toEqual([
    0x4c, 0x5b, 0x4a, 0x4b, 0x68, 0x69,
  ]);
  expect([PutHmacKey.CODE, GenerateHmacKey.CODE, SignHmac.CODE, VerifyHmac.CODE]).toEqual([0x52, 0x5a, 0x53, 0x5c]);
  expect([PutSymmetricKey.CODE, GenerateSymmetricKey.CODE, DecryptEcb.CODE, EncryptEcb.CODE, DecryptCbc.CODE, EncryptCbc.CODE]).toEqual([
    0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  ]);
});

for (const name of ['python-yubihsm-wrap', 'python-yubihsm-symmetric']) {
  const vectors = loadVectors<CommandCase>(name);
  describe(`${name} — ${vectors.source}`, () => {
    for (const v of vectors.cases) {
      it(`${v.result}: ${v.comment}`, () => {
        const codec: Codec = CODECS[v.command];
        const decode = (): unknown => codec.decodeRequest(unhex(v.payload), v.macLength ?? 0);
        if (v.result === 'invalid') {
          expect(decode).toThrow(WireError);
          return;
        }
        const req = request(v.expected!);
        expect(decode()).toEqual(req);
        expect(hex(codec.encodeRequest(req as never))).toBe(v.payload);
      });
    }
  });
}

it('VERIFY_HMAC answers 1 or 0 and nothing else', () => {
  expect(VerifyHmac.decodeResponse(Uint8Array.of(1))).toEqual({ valid: true });
  expect(VerifyHmac.decodeResponse(Uint8Array.of(0))).toEqual({ valid: false });
  expect(() => VerifyHmac.decodeResponse(Uint8Array.of(2))).toThrow(WireError);
  expect(() => VerifyHmac.decodeResponse(Uint8Array.of(1, 0))).toThrow(WireError);
  expect(hex(VerifyHmac.encodeResponse({ valid: false }))).toBe('00');
});
