import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { parseConfig } from '../src/config';
import { clientAddressResolver, trustProxyEntryProblem } from '../src/http/client-address';
import { createLogger } from '../src/log';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Whose address a request is kept under (per-source rate limit, aggregated refusals, access log):
 * the peer's, unless the peer is a trusted proxy (server.trustProxy); then the first address in
 * X-Forwarded-For, from the right, that is not a trusted proxy.
 */
const req = (peer: string, xff?: string | string[]) =>
  ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

describe('the resolver', () => {
  it('without trusted proxies: the peer address, whatever X-Forwarded-For says', () => {
    const resolve = clientAddressResolver([]);
    expect(resolve(req('192.0.2.1', '198.51.100.7'))).toBe('192.0.2.1');
    expect(resolve(req('::ffff:127.0.0.1', '198.51.100.7'))).toBe('::ffff:127.0.0.1');
  });

  it('with trusted proxies: the rightmost address that is not one of them', () => {
    const resolve = clientAddressResolver(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(resolve(req('127.0.0.1', '198.51.100.7'))).toBe('198.51.100.7');
    expect(resolve(req('::ffff:127.0.0.1', '198.51.100.7'))).toBe('198.51.100.7');
    expect(resolve(req('::1', '2001:db8::7'))).toBe('2001:db8::7');
    // Two trusted hops (the edge proxy at 10.1.2.3, then a local one); the leftmost entry is the client's own claim.
    expect(resolve(req('127.0.0.1', '203.0.113.66, 198.51.100.7, 10.1.2.3'))).toBe('198.51.100.7');
    expect(resolve(req('127.0.0.1', ['203.0.113.66, 198.51.100.7', '10.1.2.3']))).toBe('198.51.100.7');
    // Only proxies: the leftmost of them.
    expect(resolve(req('127.0.0.1', '10.9.9.9, 10.1.2.3'))).toBe('10.9.9.9');
    // No header: the proxy itself.
    expect(resolve(req('127.0.0.1'))).toBe('127.0.0.1');
  });

  it('an untrusted peer cannot set its address; a garbled hop ends the walk at the hop that reported it', () => {
    const resolve = clientAddressResolver(['127.0.0.1', '10.0.0.0/8']);
    expect(resolve(req('192.0.2.1', '10.1.2.3'))).toBe('192.0.2.1');
    expect(resolve(req('127.0.0.1', '198.51.100.7, unknown'))).toBe('127.0.0.1');
    expect(resolve(req('127.0.0.1', '198.51.100.7, unknown, 10.1.2.3'))).toBe('10.1.2.3');
    expect(resolve(req('127.0.0.1', ''))).toBe('127.0.0.1');
  });

  it('refuses entries that are not an address or CIDR', () => {
    expect(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '0.0.0.0/0'].map(trustProxyEntryProblem)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(trustProxyEntryProblem('localhost')).toMatch(/is not an IP address or CIDR/);
    expect(trustProxyEntryProblem('10.0.0.0/33')).toMatch(/prefix must be 0-32/);
    expect(trustProxyEntryProblem('10.0.0.0/8/1')).toMatch(/is not an IP address or CIDR/);
    expect(() =>
      parseConfig({ server: { trustProxy: ['127.0.0.1', 'nginx'] }, backends: [{ id: 'y', type: 'yubihsm', embedded: true }] }, 'kmsgate.yaml'),
    ).toThrow('invalid configuration in kmsgate.yaml: server.trustProxy.1: "nginx" is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8, ::1)');
  });
});

describe('a gateway behind a trusted proxy at 127.0.0.1', () => {
  let t: TestGateway;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    t = await startTestGateway({
      server: { trustProxy: ['127.0.0.1'] },
      // One request per source, then none for 1000 s: the third request of a source is refused.
      limits: { perSource: { requestsPerSecond: 0.001, burst: 2 } },
      logger: createLogger({ level: 'info', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  /** GET /version from `localAddress` (another loopback address is another peer), with an X-Forwarded-For. */
  const get = (localAddress: string, xff?: string) =>
    new Promise<number>((ok, fail) => {
      const url = new URL('/version', t.url);
      const r = request(
        { host: url.hostname, port: url.port, path: url.pathname, localAddress, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } },
        (res) => {
          res.resume();
          res.once('end', () => ok(res.statusCode!));
        },
      );
      r.once('error', fail);
      r.end();
    });

  it('keeps per-source rate limits under the forwarded client address', async () => {
    expect([await get('127.0.0.1', '198.51.100.1'), await get('127.0.0.1', '198.51.100.1'), await get('127.0.0.1', '198.51.100.1')]).toEqual([200, 200, 400]);
    // Another client behind the same proxy has its own bucket...
    expect(await get('127.0.0.1', '198.51.100.2')).toBe(200);
    // ...and the first cannot borrow it by writing the other's address to the left of its own.
    expect(await get('127.0.0.1', '198.51.100.2, 198.51.100.1')).toBe(400);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: a new header per request is still one source', async () => {
    const statuses = [];
    for (const fake of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) statuses.push(await get('127.0.0.2', fake));
    expect(statuses).toEqual([200, 200, 400]);
  });

  it('writes the client address to the access log', async () => {
    const key = t.newKey('admin');
    lines.length = 0;
    const r = await t.call('ListKeys', {}, { 'x-api-key': key.apiKey, 'x-forwarded-for': '198.51.100.9' });
    expect(r.status).toBe(200);
    expect(lines.filter((l) => l.msg === 'request')).toEqual([
      expect.objectContaining({ operation: 'ListKeys', principal: key.id, status: 200, client: '198.51.100.9' }),
    ]);
  });
});
