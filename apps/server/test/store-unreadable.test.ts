import { createLogger } from '../src/log';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * A store the gateway cannot read when a request arrives (issue 14, "the database unreachable
 * mid-request"): the request is answered KMSInternalException before its credential is looked at,
 * nothing reaches an operation, and only the log says why. Here the SQLite file loses the change
 * counter every request's refresh reads (a damaged store); a shared database that is down fails the
 * same refresh.
 */
let t: TestGateway;
const lines: string[] = [];

beforeAll(async () => {
  t = await startTestGateway({ logger: createLogger({ level: 'error', sink: (l) => lines.push(l) }) });
});
afterAll(async () => {
  await t.stop();
});

test('a request that finds the store unreadable gets an AWS-shaped 500, and the cause goes to the log only', async () => {
  expect((await t.call('ListKeys', {})).status).toBe(200);
  t.db.exec('DROP TABLE store_version');

  const r = await t.call('ListKeys', {});
  expect(r.status).toBe(500);
  expect(r.headers.get('x-amzn-errortype')).toBe('KMSInternalException');
  const requestId = r.headers.get('x-amzn-requestid');
  expect(r.json).toEqual({ __type: 'KMSInternalException', message: `An internal error occurred. The request id is ${requestId}.` });
  expect(r.text).not.toContain('store_version');

  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === requestId);
  expect(logged).toMatchObject({ msg: 'request refused: the store could not be read', error: expect.stringContaining('store_version') });
});
