// The audit log hash chain and entry layout against entries published by Yubico (the Get Log
// Entries page's shell example) and python-yubihsm's TestLogCorrect vectors.
import { createHash } from 'node:crypto';
import { verifyLogChain } from '../src/audit-chain';
import * as GetLogEntries from '../src/commands/get-log-entries';
import { ProtocolError } from '../src/errors';
import { hex, loadVectors, unhex } from './helpers/vectors';

interface ChainCase {
  previous: string;
  entry: string;
}

const vectors = loadVectors<ChainCase>('yubico-log-chain');

/** One 32-byte entry through the response codec, as GET_LOG_ENTRIES would carry it. */
function parseEntry(h: string): GetLogEntries.LogEntry {
  const res = GetLogEntries.decodeResponse(Uint8Array.of(0, 0, 0, 0, 1, ...unhex(h)));
  expect(res.entries).toHaveLength(1);
  return res.entries[0]!;
}

describe.each(vectors.cases)('$comment', (c) => {
  const previous = parseEntry(c.previous);
  const entry = parseEntry(c.entry);

  it('round-trips the 32 wire bytes', () => {
    const bytes = GetLogEntries.encodeResponse({ unloggedBoots: 0, unloggedAuths: 0, entries: [entry] });
    expect(hex(bytes.subarray(5))).toBe(c.entry);
    expect(hex(GetLogEntries.encodeLogEntryData(entry))).toBe(c.entry.slice(0, 32));
  });

  it(`verifyLogChain says ${c.result}`, () => {
    if (c.result === 'valid') {
      expect(() => verifyLogChain([entry], previous)).not.toThrow();
      expect(() => verifyLogChain([previous, entry])).not.toThrow();
    } else {
      expect(() => verifyLogChain([entry], previous)).toThrow(ProtocolError);
      expect(() => verifyLogChain([previous, entry])).toThrow(/log entry/);
    }
  });

  it('logEntryDigest agrees with SHA-256 computed here', () => {
    const independent = createHash('sha256')
      .update(unhex(c.entry.slice(0, 32)))
      .update(previous.digest)
      .digest()
      .subarray(0, 16);
    const ours = GetLogEntries.logEntryDigest(GetLogEntries.encodeLogEntryData(entry), previous.digest);
    expect(hex(ours)).toBe(hex(independent));
    // Every invalid case here also breaks the digest, not only the numbering.
    expect(hex(ours) === hex(entry.digest)).toBe(c.result === 'valid');
  });
});

test('the Yubico example decodes field by field (item 47, PUT_WRAP_KEY)', () => {
  const entry = parseEntry(vectors.cases[0]!.entry);
  expect(entry).toEqual({
    number: 47,
    command: 0x4c,
    length: 77,
    sessionKey: 0x0001,
    targetKey: 0xaff7,
    secondKey: 0xffff,
    result: 0xcc,
    tick: 351714,
    digest: unhex('5496a60d478c2b9c801d8d32ca66b554'),
  });
});

test('a GET_LOG_ENTRIES response whose count does not match its bytes is refused', () => {
  const one = unhex(vectors.cases[0]!.entry);
  expect(() => GetLogEntries.decodeResponse(Uint8Array.of(0, 0, 0, 0, 2, ...one))).toThrow(/truncated/);
  expect(() => GetLogEntries.decodeResponse(Uint8Array.of(0, 0, 0, 0, 0, ...one))).toThrow(/trailing/);
  expect(GetLogEntries.decodeResponse(Uint8Array.of(0, 1, 0, 2, 0))).toEqual({ unloggedBoots: 1, unloggedAuths: 2, entries: [] });
});
