import { startTestGateway, type TestGateway } from './helpers/gateway';

/** GET /metrics on a real gateway: the series exist and count what happened. */
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(gw: TestGateway = t): Promise<(name: string, labels?: Record<string, string>) => number> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = parse(await res.text());
  return (name, labels = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

async function signingKey(): Promise<string> {
  const r = await t.call('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  return r.json.KeyMetadata.KeyId as string;
}

const sign = (keyId: string, headers: Record<string, string | null> = {}) =>
  t.call('Sign', { KeyId: keyId, Message: 'AQID', SigningAlgorithm: 'ECDSA_SHA_256' }, headers);

it('is open (no credential) and lists every kmsgate series and the process metrics', async () => {
  const res = await fetch(`${t.url}/metrics`);
  const text = await res.text();
  for (const name of [
    'kmsgate_requests_total',
    'kmsgate_request_duration_seconds',
    'kmsgate_denials_total',
    'kmsgate_replay_hits_total',
    'kmsgate_backend_call_duration_seconds',
    'kmsgate_backend_up',
    'kmsgate_inflight_requests',
    'process_cpu_user_seconds_total',
    'nodejs_eventloop_lag_seconds',
  ])
    expect(text).toContain(`# TYPE ${name} `);
});

it('counts a Sign, its duration and its device call', async () => {
  const keyId = await signingKey();
  const before = await scrape();
  expect((await sign(keyId)).status).toBe(200);
  const after = await scrape();
  const delta = (name: string, labels?: Record<string, string>) => after(name, labels) - before(name, labels);
  expect(delta('kmsgate_requests_total', { operation: 'Sign', outcome: 'ok' })).toBe(1);
  expect(delta('kmsgate_request_duration_seconds_count', { operation: 'Sign' })).toBe(1);
  expect(delta('kmsgate_backend_call_duration_seconds_count', { backend: 'yubihsm', operation: 'Sign' })).toBe(1);
  expect(delta('kmsgate_backend_call_duration_seconds_sum', { backend: 'yubihsm', operation: 'Sign' })).toBeGreaterThan(0);
  expect(after('kmsgate_inflight_requests')).toBe(0);
});

it('counts a denial by gate and reason, and the request by its error type', async () => {
  const keyId = await signingKey();
  const before = await scrape();
  const r = await sign(keyId, { 'x-api-key': 'kmsgate_' + 'B'.repeat(43) });
  expect(r.json.__type).toBe('UnrecognizedClientException');
  const after = await scrape();
  const labels = { gate: 'auth', reason: 'UnrecognizedClientException' };
  expect(after('kmsgate_denials_total', labels) - before('kmsgate_denials_total', labels)).toBe(1);
  const req = { operation: 'Sign', outcome: 'UnrecognizedClientException' };
  expect(after('kmsgate_requests_total', req) - before('kmsgate_requests_total', req)).toBe(1);
});

it('labels an operation kmsgate does not know as unknown (clients cannot mint series)', async () => {
  await t.call('Made.Up-Operation', {});
  const after = await scrape();
  expect(after('kmsgate_requests_total', { operation: 'unknown', outcome: 'UnknownOperationException' })).toBeGreaterThanOrEqual(1);
  expect(after('kmsgate_requests_total', { operation: 'Made.Up-Operation' })).toBe(0);
});

it('reports each backend up (set at start, every 15 s and by /health)', async () => {
  expect((await fetch(`${t.url}/health`)).status).toBe(200);
  const m = await scrape();
  expect(m('kmsgate_backend_up', { backend: 'yubihsm' })).toBe(1);
  expect(m('kmsgate_backend_up', { backend: 'tee' })).toBe(1);
  expect(m('kmsgate_replay_hits_total')).toBe(0);
});

it("keeps each gateway's metrics apart (a private registry per gateway)", async () => {
  const other = await startTestGateway();
  try {
    const fresh = await scrape(other);
    expect(fresh('kmsgate_requests_total', { operation: 'Sign' })).toBe(0);
    expect((await scrape())('kmsgate_requests_total', { operation: 'Sign' })).toBeGreaterThan(0);
  } finally {
    await other.stop();
  }
});
