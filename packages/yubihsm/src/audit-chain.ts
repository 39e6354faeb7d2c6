/**
 * Checking the device audit log's hash chain on the host, as python-yubihsm's
 * `get_log_entries(previous_entry)` does: every entry must follow the one before it by number and
 * by digest. An auditor who kept the last entry of the previous read passes it as `previous`, so
 * no entry can be dropped or altered between two reads.
 */
import { encodeLogEntryData, type LogEntry, logEntryDigest } from './commands/get-log-entries';
import { ProtocolError } from './errors';
import { timingSafeEqual } from 'node:crypto';

export function verifyLogChain(entries: readonly LogEntry[], previous?: LogEntry): void {
  let before = previous;
  for (const entry of entries) {
    if (before !== undefined) {
      if (((entry.number - before.number) & 0xffff) !== 1) {
        throw new ProtocolError('log-chain', `log entry ${entry.number} does not follow entry ${before.number}`);
      }
      const expected = logEntryDigest(encodeLogEntryData(entry), before.digest);
      if (entry.digest.length !== expected.length || !timingSafeEqual(entry.digest, expected)) {
        throw new ProtocolError('log-chain', `log entry ${entry.number} has a digest that does not chain to entry ${before.number}`);
      }
    }
    before = entry;
  }
}
