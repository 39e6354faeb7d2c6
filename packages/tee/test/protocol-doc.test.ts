// docs/tee-bridge-protocol.md is the contract a board daemon is written from; the zod schema in
// src/protocol.ts is what kmsgate enforces. This keeps the two in step, and checks the framing
// codec on its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ATTESTATION_ALGORITHMS,
  COMMANDS,
  ERROR_CODES,
  ErrorBody,
  FRAME_HEADER_BYTES,
  FRAME_READ_TIMEOUT_MS,
  FrameDecoder,
  KEY_TYPES,
  MAX_FRAME_BYTES,
  MAX_NONCE_BYTES,
  MAX_RANDOM_BYTES,
  MAX_SIGN_MESSAGE_BYTES,
  MEASUREMENT_BYTES,
  MIN_NONCE_BYTES,
  MIN_RANDOM_BYTES,
  MODES,
  PROTOCOL_VERSION,
  SIGN_ALGORITHMS,
  TEEC_ORIGIN,
  TEEC_RESULT,
  encodeFrame,
  teecHex,
} from '../src';

const DOC = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'tee-bridge-protocol.md'), 'utf8');

describe('docs/tee-bridge-protocol.md', () => {
  it('has a section for every command in the schema, and lists each in the command table', () => {
    for (const cmd of Object.keys(COMMANDS)) {
      expect(DOC).toContain(`### \`${cmd}\``);
      const row = new RegExp(`^\\| \`${cmd}\` \\| (yes|no) \\|`, 'm').exec(DOC);
      expect(row?.[1]).toBe(COMMANDS[cmd as keyof typeof COMMANDS].mutating ? 'yes' : 'no');
    }
    const documented = [...DOC.matchAll(/^### `(\w+)`$/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it('documents every payload and result member of every command', () => {
    for (const [cmd, { payload, result }] of Object.entries(COMMANDS)) {
      const section = DOC.slice(DOC.indexOf(`### \`${cmd}\``)).split(/\n### |\n## /)[0]!;
      const shape = (s: unknown): string[] => {
        const def = (s as { _def: { schema?: unknown; shape?: () => Record<string, unknown> } })._def;
        return def.shape ? Object.keys(def.shape()) : shape(def.schema);
      };
      for (const member of [...shape(payload), ...shape(result)])
        expect({ cmd, member, documented: section.includes(`\`${member}\``) }).toEqual({ cmd, member, documented: true });
    }
  });

  it('has one row per error code', () => {
    const section = DOC.slice(DOC.indexOf('### Error codes'), DOC.indexOf('### TEEC result codes'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...ERROR_CODES].sort());
  });

  it('lists every TEEC result code with its value, and every origin', () => {
    for (const [name, value] of Object.entries(TEEC_RESULT)) {
      if (name === 'TEEC_SUCCESS') continue;
      expect(DOC).toContain(`| \`${name}\` | \`${teecHex(value)}\` |`);
    }
    for (const [name, value] of Object.entries(TEEC_ORIGIN)) expect(DOC).toContain(`| \`${name}\` | ${value} |`);
  });

  it('states the limits and enumerations the schema enforces', () => {
    expect(DOC).toContain(`# TEE bridge protocol, version ${PROTOCOL_VERSION}`);
    expect(DOC).toContain(`| \`FRAME_HEADER_BYTES\` | ${FRAME_HEADER_BYTES} |`);
    expect(DOC).toContain(`| \`MAX_FRAME_BYTES\` | ${MAX_FRAME_BYTES} |`);
    expect(DOC).toContain(`| \`FRAME_READ_TIMEOUT_MS\` | ${FRAME_READ_TIMEOUT_MS} |`);
    expect(DOC).toContain(`${MIN_NONCE_BYTES}–${MAX_NONCE_BYTES} bytes`);
    expect(DOC).toContain(`integer ${MIN_RANDOM_BYTES}–${MAX_RANDOM_BYTES}`);
    expect(DOC).toContain(`0–${MAX_SIGN_MESSAGE_BYTES} bytes`);
    expect(DOC).toContain(`${MEASUREMENT_BYTES} bytes (\`MEASUREMENT_BYTES\`)`);
    for (const v of [...KEY_TYPES, ...SIGN_ALGORITHMS, ...ATTESTATION_ALGORITHMS]) expect(DOC).toContain(`\`${v}\``);
    for (const mode of MODES) expect(DOC).toContain(`\`"${mode}"\``);
  });
});

describe('schema', () => {
  it('requires teec and origin exactly for TEE_ERROR', () => {
    const base = { message: 'm', outcomeUnknown: false, retryable: false };
    expect(ErrorBody.safeParse({ ...base, code: 'TEE_ERROR', teec: '0xFFFF0008', origin: 4 }).success).toBe(true);
    expect(ErrorBody.safeParse({ ...base, code: 'TEE_ERROR' }).success).toBe(false);
    expect(ErrorBody.safeParse({ ...base, code: 'BUSY', teec: '0xFFFF000D', origin: 3 }).success).toBe(false);
    expect(ErrorBody.safeParse({ ...base, code: 'TEE_ERROR', teec: '0xFFFF0008', origin: 5 }).success).toBe(false);
  });

  it('ignores unknown members (forward compatibility within a version)', () => {
    const parsed = COMMANDS.getRollbackCounter.result.parse({ counter: 3, futureMember: true });
    expect(parsed).toEqual({ counter: 3 });
  });
});

describe('FrameDecoder', () => {
  it('reassembles frames split at any byte, and several frames in one chunk', () => {
    const a = encodeFrame({ v: 1, id: 1 });
    const b = encodeFrame({ v: 1, id: 2, text: 'é'.repeat(100) });
    const all = new Uint8Array([...a, ...b]);
    for (let cut = 0; cut <= all.length; cut += 7) {
      const d = new FrameDecoder();
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      const got = [d.next(), d.next(), d.next()];
      expect(got.map((f) => f && f.kind === 'frame' && JSON.parse(new TextDecoder().decode(f.body)).id)).toEqual([1, 2, undefined]);
      expect(d.hasPartial).toBe(false);
    }
  });

  it('reports an oversized length before the body arrives and stops decoding', () => {
    const d = new FrameDecoder(100);
    d.push(Uint8Array.of(0, 0, 0, 101));
    expect(d.next()).toEqual({ kind: 'too-large', length: 101 });
    d.push(encodeFrame({}));
    expect(d.next()).toBeUndefined();
  });

  it('refuses to encode a body over the limit', () => {
    expect(() => encodeFrame({ x: 'a'.repeat(MAX_FRAME_BYTES) })).toThrow(RangeError);
  });
});
