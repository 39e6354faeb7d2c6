// The TA's own input checks, below the daemon: raw TEEC_InvokeCommand calls into the host build of
// tee/ta with unknown command ids, wrong parameter types, oversized and truncated buffers. Each is
// refused with its GP code by the TA (origin TRUSTED_APP) and changes nothing it stores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEEC_ORIGIN, TEEC_RESULT } from '@kmsgate/tee';
import {
  TA_ALGORITHM,
  TA_COMMAND,
  TA_INTERFACE_VERSION,
  TA_KEY_TYPE,
  TA_SEAL_OVERHEAD,
  TA_UUID,
  TeecContext,
  TeecSession,
  buildHostLibrary,
  keyTypesOfMask,
  type TeecParam,
  type TeecResult,
} from '../src';

const { TEEC_SUCCESS, TEEC_ERROR_BAD_PARAMETERS, TEEC_ERROR_NOT_SUPPORTED, TEEC_ERROR_SHORT_BUFFER, TEEC_ERROR_ITEM_NOT_FOUND } = TEEC_RESULT;
let dir: string;
let ctx: TeecContext;
let session: TeecSession;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tee-ta-commands-'));
  ctx = TeecContext.initialize(buildHostLibrary(), dir);
  const s = await ctx.openSession(TA_UUID);
  if (!(s instanceof TeecSession)) throw new Error(`open session: 0x${s.result.toString(16)}`);
  session = s;
});
afterAll(() => {
  session.close();
  ctx.finalize();
  rmSync(dir, { recursive: true, force: true });
});

const bytes = (n: number, fill = 0x11) => new Uint8Array(n).fill(fill);
const invoke = (cmd: number, params: TeecParam[]) => session.invoke(cmd, params);
function refused(r: TeecResult, code: number): void {
  expect({ result: r.result, origin: r.origin }).toEqual({ result: code, origin: TEEC_ORIGIN.TEEC_ORIGIN_TRUSTED_APP });
}
async function counter(): Promise<number> {
  const r = await invoke(TA_COMMAND.GET_ROLLBACK_COUNTER, [{ kind: 'valueOut' }]);
  expect(r.result).toBe(TEEC_SUCCESS);
  return (r.params[0] as { a: number }).a;
}
async function generate(type: number, label = bytes(8, 0x61)): Promise<TeecResult> {
  return invoke(TA_COMMAND.GENERATE_KEY, [
    { kind: 'valueIn', a: type },
    { kind: 'memrefIn', data: label },
    { kind: 'memrefOut', size: 16 },
    { kind: 'memrefOut', size: 65 },
  ]);
}

it('refuses unknown command ids, and the same command of another interface version', async () => {
  for (const id of [0, 0x0001_0000, 0x0001_000c, 0x0002_0001, 0xffff_ffff, TA_COMMAND.PING & 0xffff]) {
    refused(await invoke(id, [{ kind: 'valueOut' }]), TEEC_ERROR_NOT_SUPPORTED);
  }
  expect(TA_INTERFACE_VERSION).toBe(1);
  const ok = await invoke(TA_COMMAND.PING, [{ kind: 'valueOut' }]);
  expect(ok.result).toBe(TEEC_SUCCESS);
});

it("reports the key types it generates as a bit mask, which the daemon reads as hello's keyTypes", async () => {
  const r = await invoke(TA_COMMAND.GET_KEY_TYPES, [{ kind: 'valueOut' }]);
  expect(r.result).toBe(TEEC_SUCCESS);
  expect(r.params[0]).toEqual({
    kind: 'value',
    a: (1 << TA_KEY_TYPE.P256) | (1 << TA_KEY_TYPE.SECP256K1) | (1 << TA_KEY_TYPE.ED25519) | (1 << TA_KEY_TYPE.AES_256),
    b: 0,
  });
  expect(keyTypesOfMask((r.params[0] as { a: number }).a)).toEqual(['P256', 'SECP256K1', 'ED25519', 'AES_256']);
  // A TA with fewer (an older build, or one without mbed TLS's secp256k1): only those; unknown bits are ignored.
  expect(keyTypesOfMask((1 << TA_KEY_TYPE.P256) | (1 << TA_KEY_TYPE.ED25519) | (1 << 9) | 1)).toEqual(['P256', 'ED25519']);
  refused(await invoke(TA_COMMAND.GET_KEY_TYPES, [{ kind: 'valueIn', a: 1 }]), TEEC_ERROR_BAD_PARAMETERS);
  refused(await invoke(TA_COMMAND.GET_KEY_TYPES, [{ kind: 'valueOut' }, { kind: 'valueOut' }]), TEEC_ERROR_BAD_PARAMETERS);
});

it("refuses parameter types other than the command's exact layout", async () => {
  refused(await invoke(TA_COMMAND.PING, []), TEEC_ERROR_BAD_PARAMETERS);
  refused(await invoke(TA_COMMAND.PING, [{ kind: 'valueOut' }, { kind: 'valueOut' }]), TEEC_ERROR_BAD_PARAMETERS);
  refused(await invoke(TA_COMMAND.RANDOM, [{ kind: 'memrefIn', data: bytes(8) }]), TEEC_ERROR_BAD_PARAMETERS);
  refused(await invoke(TA_COMMAND.GET_ROLLBACK_COUNTER, [{ kind: 'valueIn', a: 1 }]), TEEC_ERROR_BAD_PARAMETERS);
  refused(
    await invoke(TA_COMMAND.GENERATE_KEY, [
      { kind: 'valueIn', a: TA_KEY_TYPE.P256 },
      { kind: 'memrefIn', data: bytes(4) },
      { kind: 'memrefOut', size: 16 },
    ]),
    TEEC_ERROR_BAD_PARAMETERS,
  );
});

it('refuses oversized and truncated inputs, and changes nothing', async () => {
  const before = await counter();
  // generateKey: label 0 or 65 bytes, unknown key types, a public-key buffer of 64 bytes.
  refused(await generate(TA_KEY_TYPE.P256, new Uint8Array(0)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await generate(TA_KEY_TYPE.SECP256K1, bytes(65)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await generate(0), TEEC_ERROR_BAD_PARAMETERS);
  refused(await generate(9), TEEC_ERROR_BAD_PARAMETERS);
  const shortPub = await invoke(TA_COMMAND.GENERATE_KEY, [
    { kind: 'valueIn', a: TA_KEY_TYPE.SECP256K1 },
    { kind: 'memrefIn', data: bytes(8) },
    { kind: 'memrefOut', size: 16 },
    { kind: 'memrefOut', size: 64 },
  ]);
  refused(shortPub, TEEC_ERROR_SHORT_BUFFER);
  expect((shortPub.params[3] as { size: number }).size).toBe(65);
  expect(await counter()).toBe(before);

  const gen = await generate(TA_KEY_TYPE.P256);
  expect(gen.result).toBe(TEEC_SUCCESS);
  const handle = (gen.params[2] as { data: Uint8Array }).data;
  expect(handle.length).toBe(16);
  const sign = (h: Uint8Array, alg: number, input: Uint8Array, out = 64) =>
    invoke(TA_COMMAND.SIGN, [
      { kind: 'memrefIn', data: h },
      { kind: 'valueIn', a: alg },
      { kind: 'memrefIn', data: input },
      { kind: 'memrefOut', size: out },
    ]);
  // Handles of 15 and 17 bytes, digests of 31 and 33, an Ed25519 message of 16385, an unknown algorithm.
  refused(await sign(handle.subarray(0, 15), TA_ALGORITHM.ECDSA_SHA_256, bytes(32)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(Uint8Array.of(...handle, 0), TA_ALGORITHM.ECDSA_SHA_256, bytes(32)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(31)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(33)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(handle, TA_ALGORITHM.ED25519, bytes(16_385)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(handle, 7, bytes(32)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(bytes(16, 0x99), TA_ALGORITHM.ECDSA_SHA_256, bytes(32)), TEEC_ERROR_ITEM_NOT_FOUND);
  // An output buffer too small learns the size it needs (GP convention) and gets no signature.
  const short = await sign(handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(32), 63);
  refused(short, TEEC_ERROR_SHORT_BUFFER);
  expect((short.params[3] as { size: number }).size).toBe(64);
  expect((await sign(handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(32))).result).toBe(TEEC_SUCCESS);

  // A secp256k1 key (mbed TLS in the TA): the same length checks, and Ed25519 is not its algorithm.
  const k1 = await generate(TA_KEY_TYPE.SECP256K1);
  expect(k1.result).toBe(TEEC_SUCCESS);
  const k1Handle = (k1.params[2] as { data: Uint8Array }).data;
  refused(await sign(k1Handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(31)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(k1Handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(33)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(k1Handle, TA_ALGORITHM.ED25519, bytes(32)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await sign(k1Handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(32), 63), TEEC_ERROR_SHORT_BUFFER);
  expect((await sign(k1Handle, TA_ALGORITHM.ECDSA_SHA_256, bytes(32))).result).toBe(TEEC_SUCCESS);
  const after = await counter();
  expect(after).toBe(before + 2);

  // random: 0 and 1025 bytes; attestation: nonces of 0 and 65 bytes.
  refused(await invoke(TA_COMMAND.RANDOM, [{ kind: 'memrefOut', size: 0 }]), TEEC_ERROR_BAD_PARAMETERS);
  refused(await invoke(TA_COMMAND.RANDOM, [{ kind: 'memrefOut', size: 1025 }]), TEEC_ERROR_BAD_PARAMETERS);
  const attest = (nonce: Uint8Array) =>
    invoke(TA_COMMAND.GET_ATTESTATION, [
      { kind: 'memrefIn', data: nonce },
      { kind: 'memrefOut', size: 32 },
      { kind: 'memrefOut', size: 65 },
      { kind: 'memrefOut', size: 64 },
    ]);
  refused(await attest(new Uint8Array(0)), TEEC_ERROR_BAD_PARAMETERS);
  refused(await attest(bytes(65)), TEEC_ERROR_BAD_PARAMETERS);
  expect((await attest(bytes(64))).result).toBe(TEEC_SUCCESS);

  // deleteKey with a truncated handle deletes nothing.
  refused(await invoke(TA_COMMAND.DELETE_KEY, [{ kind: 'memrefIn', data: handle.subarray(0, 8) }, { kind: 'valueOut' }]), TEEC_ERROR_BAD_PARAMETERS);
  expect(await counter()).toBe(after);
});

describe('SEAL and UNSEAL (AES-256-GCM under an AES_256 key)', () => {
  const { TEE_ERROR_MAC_INVALID } = TEEC_RESULT;
  const gcm = (cmd: number, h: Uint8Array, aad: Uint8Array, input: Uint8Array, out: number) =>
    invoke(cmd, [
      { kind: 'memrefIn', data: h },
      { kind: 'memrefIn', data: aad },
      { kind: 'memrefIn', data: input },
      { kind: 'memrefOut', size: out },
    ]);
  const seal = (h: Uint8Array, aad: Uint8Array, input: Uint8Array, out = input.length + TA_SEAL_OVERHEAD) => gcm(TA_COMMAND.SEAL, h, aad, input, out);
  const unseal = (h: Uint8Array, aad: Uint8Array, input: Uint8Array, out = input.length - TA_SEAL_OVERHEAD) => gcm(TA_COMMAND.UNSEAL, h, aad, input, out);
  const data = (r: TeecResult, i = 3) => (r.params[i] as { data: Uint8Array }).data;
  let aes: Uint8Array;
  let other: Uint8Array;
  let ec: Uint8Array;

  beforeAll(async () => {
    const a = await generate(TA_KEY_TYPE.AES_256);
    expect(a.result).toBe(TEEC_SUCCESS);
    // No public key: the TA writes 0 bytes of the 65 offered.
    expect((a.params[3] as { size: number }).size).toBe(0);
    aes = data(a, 2);
    other = data(await generate(TA_KEY_TYPE.AES_256), 2);
    ec = data(await generate(TA_KEY_TYPE.P256), 2);
  });

  it('round-trips 1 to 1024 bytes with and without AAD; each seal has a fresh nonce', async () => {
    for (const [n, aadLength] of [
      [1, 0],
      [64, 29],
      [1024, 256],
    ] as const) {
      const plaintext = bytes(n, 0x5a);
      const aad = bytes(aadLength, 0x41);
      const a = await seal(aes, aad, plaintext);
      const b = await seal(aes, aad, plaintext);
      expect([a.result, b.result]).toEqual([TEEC_SUCCESS, TEEC_SUCCESS]);
      expect(data(a)).toHaveLength(n + TA_SEAL_OVERHEAD);
      expect(Buffer.from(data(a)).equals(Buffer.from(data(b)))).toBe(false);
      const opened = await unseal(aes, aad, data(a));
      expect(opened.result).toBe(TEEC_SUCCESS);
      expect(Buffer.from(data(opened)).equals(Buffer.from(plaintext))).toBe(true);
    }
  });

  it('answers MAC_INVALID, and writes no plaintext, for another key, other AAD or any altered byte', async () => {
    const aad = bytes(8, 0x41);
    const sealed = data(await seal(aes, aad, bytes(64, 0x33)));
    const variants: [Uint8Array, Uint8Array, Uint8Array][] = [
      [other, aad, sealed],
      [aes, bytes(8, 0x42), sealed],
      [aes, new Uint8Array(0), sealed],
    ];
    // The nonce, the ciphertext and the tag.
    for (const at of [0, 11, 12, 50, sealed.length - 16, sealed.length - 1]) {
      const v = sealed.slice();
      v[at]! ^= 0x80;
      variants.push([aes, aad, v]);
    }
    for (const [h, a, v] of variants) {
      const r = await unseal(h, a, v);
      refused(r, TEE_ERROR_MAC_INVALID);
      expect(data(r).every((b) => b === 0)).toBe(true);
    }
  });

  it('refuses keys of another type, unknown handles, bad lengths and short outputs, and stores nothing', async () => {
    const before = await counter();
    const sealed = data(await seal(aes, new Uint8Array(0), bytes(64)));
    // An EC key does not seal; an AES key has no public key and does not sign.
    refused(await seal(ec, new Uint8Array(0), bytes(64)), TEEC_ERROR_BAD_PARAMETERS);
    refused(await unseal(ec, new Uint8Array(0), sealed), TEEC_ERROR_BAD_PARAMETERS);
    refused(
      await invoke(TA_COMMAND.GET_PUBLIC_KEY, [{ kind: 'memrefIn', data: aes }, { kind: 'valueOut' }, { kind: 'memrefOut', size: 65 }]),
      TEEC_ERROR_BAD_PARAMETERS,
    );
    for (const alg of [TA_ALGORITHM.ECDSA_SHA_256, TA_ALGORITHM.ED25519])
      refused(
        await invoke(TA_COMMAND.SIGN, [
          { kind: 'memrefIn', data: aes },
          { kind: 'valueIn', a: alg },
          { kind: 'memrefIn', data: bytes(32) },
          { kind: 'memrefOut', size: 64 },
        ]),
        TEEC_ERROR_BAD_PARAMETERS,
      );
    refused(await seal(bytes(16, 0x99), new Uint8Array(0), bytes(64)), TEEC_ERROR_ITEM_NOT_FOUND);
    refused(await unseal(bytes(16, 0x99), new Uint8Array(0), sealed), TEEC_ERROR_ITEM_NOT_FOUND);
    // Handles of 15 bytes, AAD of 257, plaintext of 0 and 1025, sealed of 28 and 1053 bytes.
    refused(await seal(aes.subarray(0, 15), new Uint8Array(0), bytes(64)), TEEC_ERROR_BAD_PARAMETERS);
    refused(await seal(aes, bytes(257), bytes(64)), TEEC_ERROR_BAD_PARAMETERS);
    refused(await unseal(aes, bytes(257), sealed), TEEC_ERROR_BAD_PARAMETERS);
    refused(await seal(aes, new Uint8Array(0), new Uint8Array(0), 64), TEEC_ERROR_BAD_PARAMETERS);
    refused(await seal(aes, new Uint8Array(0), bytes(1025)), TEEC_ERROR_BAD_PARAMETERS);
    refused(await unseal(aes, new Uint8Array(0), bytes(TA_SEAL_OVERHEAD), 16), TEEC_ERROR_BAD_PARAMETERS);
    refused(await unseal(aes, new Uint8Array(0), bytes(1024 + TA_SEAL_OVERHEAD + 1)), TEEC_ERROR_BAD_PARAMETERS);
    // An output one byte short learns the size it needs.
    const short = await seal(aes, new Uint8Array(0), bytes(64), 64 + TA_SEAL_OVERHEAD - 1);
    refused(short, TEEC_ERROR_SHORT_BUFFER);
    expect((short.params[3] as { size: number }).size).toBe(64 + TA_SEAL_OVERHEAD);
    const shortOpen = await unseal(aes, new Uint8Array(0), sealed, 63);
    refused(shortOpen, TEEC_ERROR_SHORT_BUFFER);
    expect((shortOpen.params[3] as { size: number }).size).toBe(64);
    // Wrong parameter types.
    refused(
      await invoke(TA_COMMAND.SEAL, [
        { kind: 'memrefIn', data: aes },
        { kind: 'memrefIn', data: bytes(64) },
        { kind: 'memrefOut', size: 92 },
      ]),
      TEEC_ERROR_BAD_PARAMETERS,
    );
    expect(await counter()).toBe(before);
  });
});
