/**
 * `npm run bench`: Sign throughput and latency through the whole gateway (HTTP, SigV4, auth,
 * store, SCP03, connector protocol, simulator) against the backend alone, and how many connector
 * requests one Sign costs. The gateway runs in its own process, as in production; the simulator
 * runs in this process so its request counter can be read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ApiKeyStore, KeyStore, loadOrCreateSealKey, openDb } from '@kmsgate/store';
import { YubiHsmBackend } from '@kmsgate/yubihsm';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import type { SupportedKeySpec, SupportedSigningAlgorithm } from '@kmsgate/core';

const ROOT = join(__dirname, '..');
const SIGNS = Number(process.env.BENCH_SIGNS ?? 2000);
const WARMUP = 100;

interface Result {
  label: string; concurrency: number; n: number; seconds: number; p50: number; p99: number;
  connectorPerSign: number;
  /** From the gateway's Server-Timing header: its own time per Sign, minus the backend call. */
  serverOverheadP50?: number;
  /** From the same header: the backend call as the gateway timed it. */
  serverBackendP50?: number;
}

interface ServerTimings { overhead: number[]; backend: number[] }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(concurrency: number, n: number, op: () => Promise<unknown>, latencies?: number[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      await op();
      latencies?.push(performance.now() - t0);
    }
  }));
}

async function measure(label: string, concurrency: number, n: number, op: () => Promise<unknown>, connectorRequests: () => number, timings?: ServerTimings): Promise<Result> {
  // Warm up at the measured concurrency, so the session pool has grown before counting starts.
  await run(concurrency, WARMUP, op);
  if (timings) {
    timings.overhead.length = 0;
    timings.backend.length = 0;
  }
  const latencies: number[] = [];
  const before = connectorRequests();
  const started = performance.now();
  await run(concurrency, n, op, latencies);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  return {
    label, concurrency, n, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99),
    connectorPerSign: (connectorRequests() - before) / n,
    ...(timings?.overhead.length ? { serverOverheadP50: median(timings.overhead), serverBackendP50: median(timings.backend) } : {}),
  };
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gateway did not become healthy');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-'));
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath: join(dir, 'sim.json') });
  const port = 18000 + Math.floor(Math.random() * 2000);
  const configPath = join(dir, 'kmsgate.yaml');
  writeFileSync(configPath, [
    'server:', `  port: ${port}`,
    'backends:', '  - id: yubihsm', '    type: yubihsm', `    connectorUrl: ${sim.url}`, '    passwordEnv: BENCH_YUBIHSM_PASSWORD',
  ].join('\n'));
  const gateway = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/server/src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, KMSGATE_CONFIG: configPath, KMSGATE_DATA_DIR: dir, BENCH_YUBIHSM_PASSWORD: 'password', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const results: Result[] = [];
  try {
    await waitForHealth(url, gateway);
    const db = openDb(join(dir, 'kms.db'));
    const creds = new ApiKeyStore(db, loadOrCreateSealKey(dir)).generate({ label: 'bench', role: 'admin' });
    const kms = new KMSClient({
      endpoint: url, region: 'us-east-1', maxAttempts: 1,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    });
    const timings: ServerTimings = { overhead: [], backend: [] };
    kms.middlewareStack.add((next) => async (args) => {
      const out = await next(args);
      const timing = (out.response as { headers?: Record<string, string> }).headers?.['server-timing'] ?? '';
      const total = /total;dur=([\d.]+)/.exec(timing);
      const backendMs = /backend;dur=([\d.]+)/.exec(timing);
      if (total && backendMs) {
        timings.overhead.push(Number(total[1]) - Number(backendMs[1]));
        timings.backend.push(Number(backendMs[1]));
      }
      return out;
    }, { step: 'deserialize', name: 'serverTiming' });
    const backend = new YubiHsmBackend({ id: 'bench', name: 'bench', connectorUrl: sim.url, authKeyId: 1, password: 'password', maxSessions: 4 });
    const keys = new KeyStore(db);
    const cases: [string, SupportedKeySpec, SupportedSigningAlgorithm][] = [
      ['P-256', 'ECC_NIST_P256', 'ECDSA_SHA_256'],
      ['Ed25519', 'ECC_NIST_EDWARDS25519', 'ED25519_SHA_512'],
    ];
    const message = new Uint8Array(32).fill(0x42);
    for (const [name, spec, alg] of cases) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }));
      const record = keys.getKey(KeyMetadata!.KeyId!)!;
      const viaGateway = () => kms.send(new SignCommand({ KeyId: record.keyId, Message: message, MessageType: alg === 'ECDSA_SHA_256' ? 'DIGEST' : 'RAW', SigningAlgorithm: alg }));
      const direct = () => backend.sign(record.handle, spec, alg, message);
      for (const c of [1, 32]) {
        results.push(await measure(`${name} gateway (HTTP+SigV4)`, c, SIGNS, viaGateway, () => sim.stats().apiRequests, timings));
        results.push(await measure(`${name} backend only`, c, SIGNS, direct, () => sim.stats().apiRequests));
      }
    }
    kms.destroy();
    await backend.close();
    db.close();
  } finally {
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const fmt = (n: number, d = 2) => n.toFixed(d);
  console.log(`\nkmsgate Sign benchmark — ${SIGNS} signs per row, node ${process.version}, simulator backend\n`);
  console.log('| case | concurrency | signs/s | p50 ms | p99 ms | connector requests / Sign | backend call p50 ms (gateway-timed) | gateway overhead p50 ms (server-side) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const opt = (v: number | undefined) => (v === undefined ? '' : fmt(v, 3));
  for (const r of results) {
    console.log(`| ${r.label} | ${r.concurrency} | ${fmt(r.n / r.seconds, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.connectorPerSign)} | ${opt(r.serverBackendP50)} | ${opt(r.serverOverheadP50)} |`);
  }
  console.log('\nAt concurrency 1, client-observed p50 through the gateway minus backend-only p50');
  console.log('(includes the AWS SDK\'s own request building and SigV4 signing on the client side):');
  for (const name of ['P-256', 'Ed25519']) {
    const g = results.find((r) => r.label.startsWith(name) && r.label.includes('gateway') && r.concurrency === 1)!;
    const b = results.find((r) => r.label.startsWith(name) && r.label.includes('backend') && r.concurrency === 1)!;
    console.log(`  ${name}: ${fmt(g.p50 - b.p50, 3)} ms`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
