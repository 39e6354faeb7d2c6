/**
 * A gateway that dies mid-signature, for faults.test.ts: it reserves (a reservation claiming a
 * fingerprint), then takes the key's advisory lock in a transaction it never ends, says "ready",
 * and waits to be killed.
 */
import pg from 'pg';
import { LEDGER_LOCK_NAMESPACE, openPgGateState } from '../../src';

async function main(): Promise<void> {
  const [url, keyId, fingerprintHex] = process.argv.slice(-3) as [string, string, string];
  const { state } = await openPgGateState({ url, feed: { pollMs: 0 } });
  const admission = await state.admit({
    keyId,
    requestId: 'killed',
    fingerprint: Buffer.from(fingerprintHex, 'hex'),
    replayWindowMs: 60_000,
    rateLimits: [],
    caps: [],
    amounts: [{ asset: 'native', amount: 5n }],
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LEDGER_LOCK_NAMESPACE, keyId]);
  process.stdout.write(`ready ${admission.kind}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
