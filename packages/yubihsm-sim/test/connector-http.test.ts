// The yubihsm-connector 3.0.7 HTTP surface (api.go): endpoints, methods, limits, headers.
import { request } from 'node:http';
import { Command, DeviceInfo, Echo, frame } from '@kmsgate/yubihsm';
import { startSimulator, type RunningSimulator } from '../src';
import { plain, post } from './helpers/client';

let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ host: '127.0.0.1', port: 0, serial: 7550140 });
});
afterAll(() => sim.close());

/** A raw request, so the test controls Content-Length and chunking that fetch would set itself. */
function rawRequest(
  method: string,
  path: string,
  options: { body?: Buffer; headers?: Record<string, string>; chunked?: boolean } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sim.port, method, path, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (options.chunked) {
      req.write(options.body ?? Buffer.alloc(0));
    } else if (options.body !== undefined) {
      req.setHeader('Content-Length', options.body.length);
      req.write(options.body);
    }
    req.end();
  });
}

describe('GET /connector/status', () => {
  test('lists status, serial, version, pid, address and port, one key=value per line, then the simulator marker', async () => {
    const res = await fetch(`${sim.url}/connector/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    expect(text).toBe(`status=OK\nserial=*\nversion=3.0.7\npid=${process.pid}\naddress=127.0.0.1\nport=${sim.port}\nsimulator=kmsgate-yubihsm-sim\n`);
    // libyubihsm's parse_status_data requires the body to fit in 256 bytes.
    expect(Buffer.byteLength(text)).toBeLessThan(256);
  });

  test.each(['POST', 'PUT', 'DELETE'])('%s is 405 with Allow: GET', async (method) => {
    const res = await rawRequest(method, '/connector/status', { body: Buffer.from('x') });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.body.toString()).toBe('Method Not Allowed\n');
  });
});

describe('POST /connector/api', () => {
  test('answers plaintext DEVICE_INFO with firmware 2.4.0, the serial and the algorithm list', async () => {
    const res = await fetch(`${sim.url}/connector/api`, { method: 'POST', body: frame(Command.DEVICE_INFO, new Uint8Array(0)) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const info = DeviceInfo.decodeResponse(await plain(sim.url, Command.DEVICE_INFO));
    expect(info).toMatchObject({ major: 2, minor: 4, build: 0, serial: 7550140, logTotal: 62 });
    expect(info.algorithms).toEqual(expect.arrayContaining([12, 13, 14, 15, 38, 43, 46]));
  });

  test('answers DEVICE_INFO page 1 with a part number string (python-yubihsm asks on firmware 2.4)', async () => {
    const page1 = await plain(sim.url, Command.DEVICE_INFO, DeviceInfo.encodePageRequest(DeviceInfo.PART_NUMBER_PAGE));
    expect(DeviceInfo.decodePartNumberResponse(page1)).toBe('KMSGATE-YUBIHSM-SIM');
  });

  test('echoes in the clear', async () => {
    const data = Uint8Array.from([1, 2, 3, 0xff]);
    const echoed = Echo.decodeResponse(await plain(sim.url, Command.ECHO, Echo.encodeRequest({ data })));
    expect(echoed.data).toEqual(data);
  });

  test('echoes a maximal 3136-byte message', async () => {
    const data = new Uint8Array(3133).fill(0xa5);
    const echoed = await plain(sim.url, Command.ECHO, data);
    expect(echoed).toEqual(data);
  });

  test.each(['GET', 'PUT', 'DELETE'])('%s is 405 with Allow: POST', async (method) => {
    const res = await rawRequest(method, '/connector/api');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  test.each([
    ['empty', 0],
    ['2 bytes', 2],
    ['3140 bytes', 3140],
  ])('a %s body is 400', async (_name, length) => {
    const res = await rawRequest('POST', '/connector/api', { body: Buffer.alloc(length, 1) });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toBe('Bad Request\n');
  });

  test('a body without Content-Length (chunked) is 400, like Go with ContentLength -1', async () => {
    const res = await rawRequest('POST', '/connector/api', { body: Buffer.from([1, 0, 1, 9]), chunked: true });
    expect(res.status).toBe(400);
  });

  test('a 3139-byte body reaches the device, which refuses it as too long', async () => {
    const res = await rawRequest('POST', '/connector/api', { body: Buffer.concat([Buffer.from([1, 0x0c, 0x40]), Buffer.alloc(3136)]) });
    expect(res.status).toBe(200);
    expect([...res.body]).toEqual([0x7f, 0, 1, 0x08]);
  });

  test('echoes X-Request-ID, or generates a UUIDv4', async () => {
    const given = await rawRequest('POST', '/connector/api', { body: Buffer.from([1, 0, 1, 7]), headers: { 'X-Request-ID': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const generated = await rawRequest('GET', '/connector/status');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

test.each(['/', '/connector', '/connector/api/', '/connector/statusx', '/health'])('%s is 404', async (path) => {
  const res = await rawRequest('GET', path);
  expect(res.status).toBe(404);
  expect(res.body.toString()).toBe('404 page not found\n');
});

test('stats().apiRequests counts POST /connector/api calls only', async () => {
  const before = sim.stats().apiRequests;
  await post(sim.url, frame(Command.ECHO, Uint8Array.of(1)));
  await fetch(`${sim.url}/connector/status`);
  await post(sim.url, frame(Command.ECHO, Uint8Array.of(2)));
  expect(sim.stats().apiRequests).toBe(before + 2);
});

test('concurrent requests are all answered, each with its own response', async () => {
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => plain(sim.url, Command.ECHO, Uint8Array.of(i, i, i))));
  replies.forEach((r, i) => expect([...r]).toEqual([i, i, i]));
});

test('close() resolves even with idle keep-alive connections open', async () => {
  const other = await startSimulator({ host: '127.0.0.1', port: 0 });
  await fetch(`${other.url}/connector/status`);
  await other.close();
  await expect(fetch(`${other.url}/connector/status`)).rejects.toThrow();
});
