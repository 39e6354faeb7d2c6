import { describeGateStateContract } from '../../policy/test/helpers/gate-state-contract';
import { openPgGateState } from '../src';
import { testServer, type TestServer } from './helpers/pg-server';

/**
 * The contract every gate-state store keeps, on a real PostgreSQL, a new database per case. Its
 * clock is the database's, so the harness moves time by moving every stored time back.
 */
let server: TestServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});

describeGateStateContract('PostgreSQL', async () => {
  const staleReservationMs = 30_000;
  const opened = await openPgGateState({ url: await server.createDatabase(), staleReservationMs, feed: { pollMs: 0 } });
  return {
    store: opened.state,
    staleReservationMs,
    advance: async (ms) => {
      await opened.pool.query(
        'WITH a AS (UPDATE signing_ledger SET at = at - $1), b AS (UPDATE signing_ledger_amounts SET at = at - $1) UPDATE replay_cache SET expires_at = expires_at - $1',
        [ms],
      );
    },
    refresh: () => opened.state.refresh(),
    close: () => opened.close(),
  };
});
