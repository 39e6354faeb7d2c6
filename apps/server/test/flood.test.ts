import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { SignCommand } from '@aws-sdk/client-kms';
import { AGGREGATE_OPERATION } from '../src/auth/refusals';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { createKeyWithAlias, deviceRequests } from './helpers/signing';

/**
 * Abuse at the transport edge (issue 9): floods, throttling, slow and idle clients. Every
 * assertion is on counts and answers, never on how long anything took; the timeouts configured
 * here are short so Node's own timers fire, and the tests wait for the events they cause.
 */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  json: { __type?: string; message?: string } | undefined;
}

/** A raw HTTP call from a chosen loopback source address (127.0.0.0/8 all reaches the server). */
function call(t: TestGateway, opts: { from?: string; path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const url = new URL(t.url);
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: opts.path ?? '/',
        method: opts.method ?? 'POST',
        localAddress: opts.from ?? '127.0.0.1',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys', ...opts.headers },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => {
          let json: Answer['json'];
          try {
            json = JSON.parse(text) as Answer['json'];
          } catch {
            json = undefined;
          }
          ok({ status: res.statusCode!, headers: res.headers, json });
        });
      },
    );
    req.on('error', fail);
    req.end(opts.body ?? '{}');
  });
}

const auditCount = (t: TestGateway): number => (t.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
const aggregated = (t: TestGateway) =>
  (
    t.db.prepare('SELECT api_key_id AS apiKeyId, reason, summary FROM audit_log WHERE operation = ? ORDER BY seq').all(AGGREGATE_OPERATION) as {
      apiKeyId: string | null;
      reason: string;
      summary: string;
    }[]
  ).map((r) => ({ ...r, summary: JSON.parse(r.summary) as { source: string; count: number; operations: Record<string, number> } }));

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('a flood of unauthenticated requests', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ audit: { fsync: false, authRefusals: { intervalSeconds: 3600, maxEntries: 4 } } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('writes no record per request: one per source and reason at the flush, with exact counts', async () => {
    const before = auditCount(t);
    const kinds = [
      {}, // no credential
      { 'x-api-key': 'kmsgate_' + 'A'.repeat(43) }, // unknown API key
      { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAUNKNOWN0000000000/20250101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00' },
    ];
    const answers: Answer[] = [];
    for (let i = 0; i < 300; i += 10) {
      answers.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => call(t, { headers: kinds[(i + j) % 3]! as Record<string, string> })))));
    }
    expect(answers.every((a) => a.status >= 400 && a.status < 500 && a.json?.__type === a.headers['x-amzn-errortype'])).toBe(true);
    // Nothing durable yet: the flood cost counters only.
    expect(auditCount(t)).toBe(before);
    expect(t.gateway.authRefusals.pending).toBeLessThanOrEqual(4);
    await t.gateway.authRefusals.flush();
    const records = aggregated(t);
    expect(auditCount(t) - before).toBe(records.length);
    expect(records.length).toBeLessThanOrEqual(4);
    expect(records.reduce((n, r) => n + r.summary.count, 0)).toBe(300);
    expect(records.every((r) => r.apiKeyId === null && r.summary.source === '127.0.0.1' && r.summary.operations.ListKeys! > 0)).toBe(true);
    expect(await t.gateway.audit.verify()).toMatchObject({ ok: true });
  });

  it('keeps at most maxEntries sources apart; the rest are counted together, none lost', async () => {
    const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
    const first = auditCount(t);
    for (const from of sources) await call(t, { from, headers: { 'x-api-key': 'kmsgate_' + 'B'.repeat(43) } });
    await t.gateway.authRefusals.flush();
    const records = aggregated(t).slice(-(auditCount(t) - first));
    expect(records.map((r) => r.summary.source)).toEqual([...sources.slice(0, 4), '(other sources)']);
    expect(records.reduce((n, r) => n + r.summary.count, 0)).toBe(sources.length);
  });

  it('answers a bad credential before reading the body (a body that never comes)', async () => {
    const url = new URL(t.url);
    for (const auth of [{ 'x-api-key': 'kmsgate_' + 'C'.repeat(43) }, {}]) {
      const answer = await new Promise<Answer>((ok, fail) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Sign', 'content-length': '100000', ...auth },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => {
              text += c.toString();
            });
            res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, json: JSON.parse(text) as Answer['json'] }));
          },
        );
        req.on('error', fail);
        req.flushHeaders(); // the head only; the 100,000 bytes announced are never sent
      });
      expect(answer.status).toBe(400);
      expect(answer.headers.connection).toBe('close');
      expect(answer.json?.__type).toMatch(/^(UnrecognizedClientException|MissingAuthenticationTokenException)$/);
    }
  });

  it('keeps the connection of a refused request with a small body: the next request on it is answered', async () => {
    const url = new URL(t.url);
    const s = connect(Number(url.port), url.hostname);
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
    });
    await new Promise<void>((ok) => s.once('connect', ok));
    const body = '{"KeyId":"alias/x","Message":"AA==","SigningAlgorithm":"ECDSA_SHA_256"}';
    const anonymous = `POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.Sign\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    s.write(anonymous + anonymous);
    while ((got.match(/MissingAuthenticationTokenException"/g) ?? []).length < 2) await new Promise((r) => s.once('data', r));
    expect(got).not.toMatch(/Connection: close/i);
    s.write('GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise<void>((ok) => s.once('close', () => ok()));
    expect(got).toMatch(/HTTP\/1\.1 200 OK[\s\S]*"name":"kmsgate"/);
  });
});

describe('rate limits', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      audit: { fsync: false },
      // A bucket that practically never refills: the counts are exact however slow the machine.
      limits: { perSource: { requestsPerSecond: 1000, burst: 1000 }, perApiKey: { requestsPerSecond: 0.001, burst: 4 } },
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('a throttled API key gets ThrottlingException, no signature, no device call, no record per request; other keys go on', async () => {
    const keyId = await createKeyWithAlias(t, 'ECC_NIST_P256', 'alias/limited');
    const signer = t.newKey('signer', 'limited');
    const kms = t.client(signer);
    const sign = () => kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    for (let i = 0; i < 4; i++) await sign();
    const device = deviceRequests(t);
    const records = auditCount(t);
    for (let i = 0; i < 5; i++)
      await expect(sign()).rejects.toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    expect(deviceRequests(t)).toBe(device);
    expect(auditCount(t)).toBe(records);
    // Another key has its own bucket.
    const other = t.client(t.newKey('signer', 'other'));
    expect((await other.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature).toBeDefined();
    await t.gateway.authRefusals.flush();
    expect(aggregated(t).filter((r) => r.apiKeyId === signer.id)).toEqual([
      expect.objectContaining({ reason: 'ThrottlingException', summary: expect.objectContaining({ count: 5, operations: { Sign: 5 } }) }),
    ]);
  });
});

describe('per source', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ audit: { fsync: false }, limits: { perSource: { requestsPerSecond: 0.001, burst: 3 } } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('a source over its rate gets ThrottlingException before anything else; another source is not affected', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await call(t, { from: '127.0.0.9', headers: { 'x-api-key': t.admin.apiKey } }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 400, 400]);
    expect(answers[4]!.json).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
    expect((await call(t, { from: '127.0.0.10', headers: { 'x-api-key': t.admin.apiKey } })).status).toBe(200);
  });
});

describe('slow, oversized and idle clients', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ server: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Opens a raw socket and collects what the server sends until it closes the connection. */
  const raw = async (write: (s: Socket) => void): Promise<string> => {
    const url = new URL(t.url);
    const s = connect(Number(url.port), url.hostname);
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
    });
    s.on('error', () => undefined);
    await new Promise<void>((ok) => s.once('connect', ok));
    write(s);
    await new Promise<void>((ok) => s.once('close', () => ok()));
    return got;
  };

  it('slow headers: 408 and the connection is closed', async () => {
    const got = await raw((s) => s.write('POST / HTTP/1.1\r\nHost: x\r\n'));
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('slow body: 408 and the connection is closed', async () => {
    const got = await raw((s) =>
      s.write(`POST / HTTP/1.1\r\nHost: x\r\nx-api-key: ${t.admin.apiKey}\r\nx-amz-target: TrentService.ListKeys\r\nContent-Length: 100\r\n\r\n{"Li`),
    );
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('oversized body: 413 RequestEntityTooLargeException, AWS-shaped', async () => {
    const r = await t.call('ListKeys', 'x'.repeat(600 * 1024));
    expect(r.status).toBe(413);
    expect(r.json.__type).toBe('RequestEntityTooLargeException');
  });
});

describe('many idle connections', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ server: { keepAliveTimeoutMs: 600_000, maxConnections: 4 } });
  });
  afterAll(async () => {
    await t.stop();
  });

  const raw = async (write: (s: Socket) => void): Promise<string> => {
    const url = new URL(t.url);
    const s = connect(Number(url.port), url.hostname);
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
    });
    s.on('error', () => undefined);
    await new Promise<void>((ok) => s.once('connect', ok));
    write(s);
    await new Promise<void>((ok) => s.once('close', () => ok()));
    return got;
  };

  it('idle connections are capped at maxConnections; a connection over the cap is closed unanswered', async () => {
    const url = new URL(t.url);
    const open: Socket[] = [];
    try {
      // Each held connection has been served once, so the server has certainly accepted it.
      for (let i = 0; i < 4; i++) {
        const s = connect(Number(url.port), url.hostname);
        open.push(s);
        await new Promise<void>((ok) => {
          s.once('data', () => ok());
          s.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n');
        });
      }
      const got = await raw((s) => s.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n'));
      expect(got).toBe('');
    } finally {
      for (const s of open) s.destroy();
    }
    // Below the cap again (once the server has seen the closes): served.
    let got = '';
    while (!got.startsWith('HTTP/1.1 200')) got = await raw((s) => s.write('GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  });
});

describe('open endpoints and health', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ limits: { openEndpointsConcurrency: 1, healthCacheMs: 60_000 } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('/attestation has its own small budget: over it, ThrottlingException at once, no TEE call', async () => {
    const sim = t.gateway.backends.teeSimulators.get('tee')!;
    sim.faults.inject({ kind: 'hold', cmd: 'getAttestation' });
    const held = fetch(`${t.url}/attestation?nonce=00ff`);
    await until(() => sim.faults.holding === 1);
    const requests = sim.stats().requests;
    const refused = await fetch(`${t.url}/attestation?nonce=0102`);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
    expect(sim.stats().requests).toBe(requests);
    sim.faults.release();
    expect((await held).status).toBe(200);
    expect((await fetch(`${t.url}/attestation?nonce=0304`)).status).toBe(200);
  });

  it('/health answers from its cache: a burst of calls opens no device session', async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    const device = deviceRequests(t);
    const tee = t.gateway.backends.teeSimulators.get('tee')!.stats().requests;
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${t.url}/health`)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(deviceRequests(t)).toBe(device);
    expect(t.gateway.backends.teeSimulators.get('tee')!.stats().requests).toBe(tee);
  });
});
