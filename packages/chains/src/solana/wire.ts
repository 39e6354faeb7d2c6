/**
 * A strict reader for the Solana message wire format (legacy and v0), used as a gate in front of
 * @solana/web3.js's `VersionedMessage.deserialize`, which reads a missing compact-u16 as 0, accepts
 * non-minimal length encodings and ignores trailing bytes. The checks mirror the runtime's
 * `Message::sanitize` / `v0::Message::sanitize` and short_vec decoding
 * (https://github.com/anza-xyz/solana-sdk, message/src/legacy.rs, versions/v0/mod.rs, short-vec).
 */
import { DecodeError, fail } from '../errors';

/** Largest transaction packet the cluster accepts (solana-packet PACKET_DATA_SIZE), an upper bound for any message. */
export const PACKET_DATA_SIZE = 1232;
/** Bit 7 of the first byte marks a versioned message; the low 7 bits are the version. */
export const VERSION_PREFIX_MASK = 0x7f;
/** Account indexes are u8, so a message can load at most 256 accounts. */
export const MAX_ACCOUNTS = 256;

export interface WireLayout {
  version: 'legacy' | 0;
  numRequiredSignatures: number;
  numStaticKeys: number;
  numLookupKeys: number;
}

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  u8(what: string): number {
    if (this.pos >= this.bytes.length) fail('SOLANA_MALFORMED', `truncated at ${what}`);
    return this.bytes[this.pos++]!;
  }

  /** compact-u16: 1-3 bytes, 7 bits each, minimal encoding, value ≤ 0xffff (as short_vec::decode_shortu16_len). */
  shortVec(what: string): number {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const byte = this.u8(what);
      value |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) fail('SOLANA_MALFORMED', `non-minimal compact-u16 at ${what}`);
        if (value > 0xffff) fail('SOLANA_MALFORMED', `compact-u16 overflow at ${what}`);
        return value;
      }
      if (i === 2) fail('SOLANA_MALFORMED', `compact-u16 longer than 3 bytes at ${what}`);
    }
    return fail('SOLANA_MALFORMED', `bad compact-u16 at ${what}`);
  }

  skip(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) fail('SOLANA_MALFORMED', `truncated in ${what}`);
    this.pos += n;
  }

  indexes(what: string): number[] {
    const n = this.shortVec(what);
    if (n > this.bytes.length - this.pos) fail('SOLANA_MALFORMED', `truncated in ${what}`);
    const out = Array.from(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }
}

/**
 * Reads the whole message and applies the sanitize rules; throws DecodeError on any violation.
 * Instruction data is not interpreted here.
 */
export function checkWire(bytes: Uint8Array): WireLayout {
  if (bytes.length > PACKET_DATA_SIZE) fail('MESSAGE_TOO_LARGE', `Solana message is ${bytes.length} bytes, at most ${PACKET_DATA_SIZE}`);
  const r = new Reader(bytes);
  const first = r.u8('prefix');
  let version: 'legacy' | 0 = 'legacy';
  let numRequiredSignatures = first;
  if (first & 0x80) {
    const v = first & VERSION_PREFIX_MASK;
    if (v !== 0) fail('SOLANA_UNSUPPORTED_VERSION', `message version ${v} is not supported`);
    version = 0;
    numRequiredSignatures = r.u8('header');
  }
  const numReadonlySigned = r.u8('header');
  const numReadonlyUnsigned = r.u8('header');

  const numStaticKeys = r.shortVec('account keys length');
  r.skip(32 * numStaticKeys, 'account keys');
  r.skip(32, 'recent blockhash');

  const numInstructions = r.shortVec('instructions length');
  const instructions: { programIdIndex: number; accounts: number[] }[] = [];
  for (let i = 0; i < numInstructions; i++) {
    const programIdIndex = r.u8(`instruction ${i} program id index`);
    const accounts = r.indexes(`instruction ${i} accounts`);
    r.skip(r.shortVec(`instruction ${i} data length`), `instruction ${i} data`);
    instructions.push({ programIdIndex, accounts });
  }

  let numLookupKeys = 0;
  if (version === 0) {
    const numLookups = r.shortVec('address table lookups length');
    for (let i = 0; i < numLookups; i++) {
      r.skip(32, `lookup ${i} table address`);
      const writable = r.indexes(`lookup ${i} writable indexes`);
      const readonly = r.indexes(`lookup ${i} readonly indexes`);
      if (writable.length + readonly.length === 0) fail('SOLANA_MALFORMED', `lookup ${i} loads no accounts`);
      numLookupKeys += writable.length + readonly.length;
    }
  }
  if (r.remaining !== 0) fail('SOLANA_TRAILING_BYTES', `${r.remaining} bytes after the end of the message`);

  // Header rules: at least one (writable) signer, the fee payer; counts fit in the static keys.
  if (numReadonlySigned >= numRequiredSignatures) {
    fail('SOLANA_MALFORMED', 'header: readonly signers must be fewer than required signatures');
  }
  if (numRequiredSignatures + numReadonlyUnsigned > numStaticKeys) {
    fail('SOLANA_MALFORMED', 'header: signer and readonly counts exceed the account keys');
  }
  const total = numStaticKeys + numLookupKeys;
  if (total > MAX_ACCOUNTS) fail('SOLANA_MALFORMED', `message loads ${total} accounts, at most ${MAX_ACCOUNTS}`);

  instructions.forEach(({ programIdIndex, accounts }, i) => {
    // Programs are static keys and never the fee payer (index 0).
    if (programIdIndex === 0 || programIdIndex >= numStaticKeys) {
      throw new DecodeError('SOLANA_INVALID_PROGRAM_INDEX', `instruction ${i} program id index ${programIdIndex} of ${numStaticKeys} static keys`);
    }
    for (const a of accounts) {
      if (a >= total) fail('SOLANA_ACCOUNT_INDEX_OUT_OF_RANGE', `instruction ${i} account index ${a} of ${total} accounts`);
    }
  });
  return { version, numRequiredSignatures, numStaticKeys, numLookupKeys };
}
