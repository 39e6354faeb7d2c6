/**
 * `npm run bench`. First, CPU per request: the gateway process (Sign with x-api-key) against a bare
 * Express 5 POST+JSON handler (scripts/bare-express.ts), same client, same run; the ratio is the
 * figure docs/performance.md tracks. Then Sign throughput and latency through the whole gateway (HTTP, SigV4, auth,
 * store, audit log, SCP03, connector protocol, simulator) against the backend alone, and how many
 * connector requests one Sign costs. The gateway runs in its own process, as in production; the
 * simulator runs in this process so its request counter can be read.
 *
 * Then audit history: two more gateways side by side, one on an empty data dir and one whose audit
 * chain already holds 1,000,000 records, measured in alternating rounds at concurrency 1 (so drift
 * and noise fall on both alike): appending must cost the same.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ApiKeyStore, GENESIS_HASH, KeyStore, auditRecordHash, loadOrCreateSealKey, openDb, verifyAuditChain, type AuditRecord, type Db } from '@kmsgate/store';
import { YubiHsmBackend } from '@kmsgate/yubihsm';
import { startSimulator } from '@kmsgate/yubihsm-sim';
import type { SupportedKeySpec, SupportedSigningAlgorithm } from '@kmsgate/core';

const ROOT = join(__dirname, '..');
const SIGNS = Number(process.env.BENCH_SIGNS ?? 1000);
const WARMUP = 100;
/** Audit records in the long-history gateway's chain (BENCH_AUDIT_RECORDS to change it). */
const AUDIT_RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000);
/** The audit-history rows alternate between the two gateways in this many rounds. */
const AUDIT_ROUNDS = 10;
/** BENCH_AUDIT_FSYNC=false runs the gateway with `audit.fsync: false` (docs/audit.md, durability). */
const AUDIT_FSYNC = process.env.BENCH_AUDIT_FSYNC !== 'false';
/** Unmeasured signs on each audit-history gateway before its rounds. */
const PREWARM = 500;
/** Requests per round of the CPU-per-request comparison (BENCH_CPU_REQUESTS to change it). */
const CPU_REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 4000);
/** The CPU comparison alternates between the gateway and bare Express in this many rounds. */
const CPU_ROUNDS = 3;
const CPU_CONCURRENCY = 32;
/** BENCH_CPU_PROF=<dir>: the CPU comparison's gateway runs with `node --cpu-prof` and writes its profile there. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/** BENCH_ONLY=cpu runs only the CPU-per-request comparison. */
const ONLY = process.env.BENCH_ONLY;

interface Result {
  label: string;
  concurrency: number;
  n: number;
  seconds: number;
  p50: number;
  p99: number;
  connectorPerSign: number;
  /** From the gateway's Server-Timing header: its own time per Sign, minus the backend call. */
  serverOverheadP50?: number;
  /** From the same header: the backend call as the gateway timed it. */
  serverBackendP50?: number;
}

interface ServerTimings {
  overhead: number[];
  backend: number[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(concurrency: number, n: number, op: () => Promise<unknown>, latencies?: number[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t0 = performance.now();
        await op();
        latencies?.push(performance.now() - t0);
      }
    }),
  );
}

async function measure(
  label: string,
  concurrency: number,
  n: number,
  op: () => Promise<unknown>,
  connectorRequests: () => number,
  timings?: ServerTimings,
): Promise<Result> {
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
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  return {
    label,
    concurrency,
    n,
    seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    connectorPerSign: (connectorRequests() - before) / n,
    ...(timings?.overhead.length ? { serverOverheadP50: median(timings.overhead), serverBackendP50: median(timings.backend) } : {}),
  };
}

/**
 * Extends the audit chain by `n` valid records (hash-linked from the current head) in one
 * transaction. Only SQLite is filled: the gateway appends to the JSONL mirror with O_APPEND, whose
 * cost does not depend on the file's length, and never reads the mirror while serving (at start it
 * begins a new mirror at the head).
 */
function prefillAudit(db: Db, n: number, keyId: string): number {
  const started = performance.now();
  const insert = db.prepare(`INSERT INTO audit_log (seq, at, request_id, api_key_id, operation, key_id, decision, gate, reason,
    summary, signed_digest, prev_hash, hash) VALUES (@seq, @at, @requestId, @apiKeyId, @operation, @keyId, @decision, @gate,
    @reason, @summary, @signedDigest, @prevHash, @hash)`);
  db.transaction(() => {
    const head = db.prepare('SELECT seq, hash FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)').get() as { seq: number; hash: string } | undefined;
    let seq = head?.seq ?? 0;
    let prevHash = head?.hash ?? GENESIS_HASH;
    const at = Date.now();
    for (let i = 0; i < n; i++) {
      seq++;
      const r: Omit<AuditRecord, 'hash'> = {
        seq,
        at,
        requestId: `00000000-0000-4000-8000-${seq.toString(16).padStart(12, '0')}`,
        apiKeyId: 'ak_0000000000000000',
        operation: 'Sign',
        keyId,
        decision: 'accept',
        gate: null,
        reason: null,
        summary: null,
        signedDigest: prevHash, // any 64 hex characters: the size of a real one
        prevHash,
      };
      prevHash = auditRecordHash(r);
      insert.run({ ...r, hash: prevHash });
    }
  }).immediate();
  db.pragma('wal_checkpoint(TRUNCATE)');
  return (performance.now() - started) / 1000;
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gateway did not become healthy');
}

/** A gateway in its own process on `dir`, against the simulator at `connectorUrl`. */
async function startGatewayProcess(
  dir: string,
  connectorUrl: string,
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const port = 18000 + Math.floor(Math.random() * 2000);
  const configPath = join(dir, 'kmsgate.yaml');
  writeFileSync(
    configPath,
    [
      'server:',
      `  port: ${port}`,
      'backends:',
      '  - id: yubihsm',
      '    type: yubihsm',
      `    connectorUrl: ${connectorUrl}`,
      '    passwordEnv: BENCH_YUBIHSM_PASSWORD',
      'audit:',
      `  fsync: ${AUDIT_FSYNC}`,
      // The token buckets still run on every request, but above what one load generator on this
      // machine can offer: the bench measures the cost of a Sign, not the default 1,000/s limit.
      'limits:',
      '  perSource: { requestsPerSecond: 1000000, burst: 1000000 }',
      '  perApiKey: { requestsPerSecond: 1000000, burst: 1000000 }',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'apps/server/src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, KMSGATE_CONFIG: configPath, KMSGATE_DATA_DIR: dir, BENCH_YUBIHSM_PASSWORD: 'password', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopProcess(child);
  try {
    await waitForHealth(url, child);
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, url, stop };
}

/** How long a stopped server gets to drain and exit before it is killed (the benchmark never waits on a hung child). */
const STOP_GRACE_MS = 15_000;

/** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process has exited. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`process ${child.pid} did not exit ${STOP_GRACE_MS} ms after SIGTERM; killing it`);
    child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** An SDK client with a new admin credential in `db`, collecting the gateway's Server-Timing figures. */
function sdkClient(url: string, db: Db, dir: string): { kms: KMSClient; timings: ServerTimings } {
  const creds = new ApiKeyStore(db, loadOrCreateSealKey(dir)).generate({ label: 'bench', role: 'admin' });
  const kms = new KMSClient({
    endpoint: url,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
  const timings: ServerTimings = { overhead: [], backend: [] };
  kms.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const timing = (out.response as { headers?: Record<string, string> }).headers?.['server-timing'] ?? '';
      const total = /total;dur=([\d.]+)/.exec(timing);
      const backendMs = /backend;dur=([\d.]+)/.exec(timing);
      if (total && backendMs) {
        timings.overhead.push(Number(total[1]) - Number(backendMs[1]));
        timings.backend.push(Number(backendMs[1]));
      }
      return out;
    },
    { step: 'deserialize', name: 'serverTiming' },
  );
  return { kms, timings };
}

/**
 * P-256 Sign at concurrency 1 through two gateways that differ only in their audit history: one
 * on an empty data dir, one whose chain holds AUDIT_RECORDS records. Each is warmed up, then they
 * are measured in alternating rounds. Afterwards the long chain (which the gateway extended from
 * the prefilled head) must still verify.
 */
async function auditHistoryRows(connectorUrl: string, message: Uint8Array): Promise<{ rows: Result[]; fillSeconds: number; verifySeconds: number }> {
  const setups = [
    { label: 'empty', records: 0 },
    { label: `${AUDIT_RECORDS.toLocaleString('en-US')} records`, records: AUDIT_RECORDS },
  ];
  let fillSeconds = 0;
  const gateways = [];
  try {
    for (const setup of setups) {
      const dir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-audit-'));
      const db = openDb(join(dir, 'kms.db'));
      if (setup.records > 0) fillSeconds = prefillAudit(db, setup.records, '00000000-0000-4000-8000-000000000000');
      const gw = await startGatewayProcess(dir, connectorUrl);
      const { kms, timings } = sdkClient(gw.url, db, dir);
      gateways.push({ ...setup, dir, db, gw, kms, timings, latencies: [] as number[], overhead: [] as number[], seconds: 0 });
    }
    for (const g of gateways) {
      const { KeyMetadata } = await g.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
      const sign = () =>
        g.kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId!, Message: message, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
      await run(1, PREWARM, sign);
      Object.assign(g, { sign });
    }
    const perRound = Math.max(1, Math.ceil(SIGNS / AUDIT_ROUNDS));
    for (let round = 0; round < AUDIT_ROUNDS; round++) {
      for (const g of gateways) {
        g.timings.overhead.length = 0;
        const t0 = performance.now();
        await run(1, perRound, (g as unknown as { sign: () => Promise<unknown> }).sign, g.latencies);
        g.seconds += (performance.now() - t0) / 1000;
        g.overhead.push(...g.timings.overhead);
      }
    }
    const started = performance.now();
    const check = verifyAuditChain(gateways[1]!.db);
    const verifySeconds = (performance.now() - started) / 1000;
    if (!check.ok) throw new Error(`audit chain broken after the benchmark: ${check.reason}`);
    const rows = gateways.map((g): Result => {
      g.latencies.sort((a, b) => a - b);
      return {
        label: `P-256 gateway, audit log ${g.label}`,
        concurrency: 1,
        n: g.latencies.length,
        seconds: g.seconds,
        p50: percentile(g.latencies, 50),
        p99: percentile(g.latencies, 99),
        connectorPerSign: NaN,
        serverOverheadP50: percentile(
          [...g.overhead].sort((a, b) => a - b),
          50,
        ),
      };
    });
    return { rows, fillSeconds, verifySeconds };
  } finally {
    for (const g of gateways) {
      g.kms.destroy();
      await g.gw.stop();
      g.db.close();
      rmSync(g.dir, { recursive: true, force: true });
    }
  }
}

/** utime + stime of a process so far, in microseconds (/proc/<pid>/stat fields 14 and 15, in clock ticks). */
function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}
/** sysconf(_SC_CLK_TCK): 100 on every Linux this runs on (there is no Node API for it). */
const CLOCK_TICKS = 100;

function post(agent: Agent, port: number, headers: Record<string, string>, body: string): Promise<void> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const body: Buffer[] = [];
        res.on('data', (c: Buffer) => body.push(c));
        res.on('end', () =>
          res.statusCode === 200 ? ok() : fail(new Error(`HTTP ${res.statusCode} from port ${port}: ${Buffer.concat(body).toString().slice(0, 200)}`)),
        );
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** The bare Express 5 server of scripts/bare-express.ts, in its own process. */
async function startBareExpress(): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bare-express.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((ok, fail) => {
    child.stdout!.once('data', (d: Buffer) => ok(Number(String(d).trim())));
    child.once('exit', () => fail(new Error('bare Express exited before listening')));
  });
  return { child, port, stop: () => stopProcess(child) };
}

interface CpuRow {
  label: string;
  requests: number;
  cpuMicros: number;
}

/**
 * CPU per request of the gateway process (Sign with x-api-key, the simulator in another process)
 * against a bare Express 5 POST+JSON handler, the same client driving both at the same
 * concurrency, alternating in rounds so load from other processes falls on both alike.
 */
async function cpuComparison(connectorUrl: string): Promise<{ rows: CpuRow[]; load: [number[], number[]] }> {
  const dir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-cpu-'));
  const nodeArgs = CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : [];
  const gw = await startGatewayProcess(dir, connectorUrl, nodeArgs);
  const bare = await startBareExpress();
  const db = openDb(join(dir, 'kms.db'));
  const { kms } = sdkClient(gw.url, db, dir);
  const agent = new Agent({ keepAlive: true, maxSockets: CPU_CONCURRENCY });
  const load: [number[], number[]] = [loadavg(), []];
  try {
    const signer = new ApiKeyStore(db, loadOrCreateSealKey(dir)).generate({ label: 'bench-cpu', role: 'signer' });
    const gatewayPort = Number(new URL(gw.url).port);
    const message = Buffer.alloc(32, 0x42).toString('base64');
    const targets: { label: string; pid: number; port: number; headers: Record<string, string>; body: string }[] = [
      { label: 'bare Express 5 (POST + JSON)', pid: bare.child.pid!, port: bare.port, headers: { 'content-type': 'application/json' }, body: '' },
    ];
    for (const [name, spec, alg, type] of [
      ['P-256', 'ECC_NIST_P256', 'ECDSA_SHA_256', 'DIGEST'],
      ['Ed25519', 'ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', 'RAW'],
    ] as const) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' }));
      targets.push({
        label: `gateway Sign ${name} (x-api-key)`,
        pid: gw.child.pid!,
        port: gatewayPort,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Sign', 'x-api-key': signer.apiKey },
        body: JSON.stringify({ KeyId: KeyMetadata!.KeyId, Message: message, MessageType: type, SigningAlgorithm: alg }),
      });
    }
    // The yardstick parses the same JSON the gateway does.
    targets[0]!.body = targets[1]!.body;
    const rows = targets.map((t): CpuRow => ({ label: t.label, requests: 0, cpuMicros: 0 }));
    for (const t of targets) await run(CPU_CONCURRENCY, WARMUP * 5, () => post(agent, t.port, t.headers, t.body));
    for (let round = 0; round < CPU_ROUNDS; round++) {
      for (const [i, t] of targets.entries()) {
        const before = processCpuMicros(t.pid);
        await run(CPU_CONCURRENCY, CPU_REQUESTS, () => post(agent, t.port, t.headers, t.body));
        rows[i]!.cpuMicros += processCpuMicros(t.pid) - before;
        rows[i]!.requests += CPU_REQUESTS;
      }
    }
    load[1] = loadavg();
    return { rows, load };
  } finally {
    agent.destroy();
    kms.destroy();
    db.close();
    await bare.stop();
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-'));
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, statePath: join(dir, 'sim.json') });
  const results: Result[] = [];
  let audit: Awaited<ReturnType<typeof auditHistoryRows>> | undefined;
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  let cpu: Awaited<ReturnType<typeof cpuComparison>> | undefined;
  try {
    cpu = await cpuComparison(sim.url);
    if (ONLY === 'cpu') return;
    gateway = await startGatewayProcess(dir, sim.url);
    const db = openDb(join(dir, 'kms.db'));
    const { kms, timings } = sdkClient(gateway.url, db, dir);
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
      const viaGateway = () =>
        kms.send(new SignCommand({ KeyId: record.keyId, Message: message, MessageType: alg === 'ECDSA_SHA_256' ? 'DIGEST' : 'RAW', SigningAlgorithm: alg }));
      const direct = () => backend.sign(record.handle, spec, alg, message, record.publicKey);
      for (const c of [1, 32]) {
        results.push(await measure(`${name} gateway (HTTP+SigV4)`, c, SIGNS, viaGateway, () => sim.stats().apiRequests, timings));
        results.push(await measure(`${name} backend only`, c, SIGNS, direct, () => sim.stats().apiRequests));
      }
    }
    kms.destroy();
    await backend.close();
    db.close();
    await gateway.stop();
    audit = await auditHistoryRows(sim.url, message);
  } finally {
    await gateway?.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
    if (cpu) printCpu(cpu);
  }

  const fmt = (n: number, d = 2) => n.toFixed(d);
  console.log(`\nkmsgate Sign benchmark — ${SIGNS} signs per row, node ${process.version}, simulator backend\n`);
  console.log(
    '| case | concurrency | signs/s | p50 ms | p99 ms | connector requests / Sign | backend call p50 ms (gateway-timed) | gateway overhead p50 ms (server-side) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const opt = (v: number | undefined) => (v === undefined ? '' : fmt(v, 3));
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.concurrency} | ${fmt(r.n / r.seconds, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.connectorPerSign)} | ${opt(r.serverBackendP50)} | ${opt(r.serverOverheadP50)} |`,
    );
  }
  console.log('\nAt concurrency 1, client-observed p50 through the gateway minus backend-only p50');
  console.log("(includes the AWS SDK's own request building and SigV4 signing on the client side):");
  for (const name of ['P-256', 'Ed25519']) {
    const g = results.find((r) => r.label.startsWith(name) && r.label.includes('gateway') && r.concurrency === 1)!;
    const b = results.find((r) => r.label.startsWith(name) && r.label.includes('backend') && r.concurrency === 1)!;
    console.log(`  ${name}: ${fmt(g.p50 - b.p50, 3)} ms`);
  }
  if (audit) {
    console.log(
      `\nAudit history: P-256 Sign at concurrency 1 through two gateways side by side, ${SIGNS} signs each in ${AUDIT_ROUNDS} alternating rounds, audit.fsync ${AUDIT_FSYNC}`,
    );
    console.log('| audit log | signs/s | p50 ms | p99 ms | gateway overhead p50 ms (server-side) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of audit.rows) {
      console.log(`| ${r.label.replace(/^.*audit log /, '')} | ${fmt(r.n / r.seconds, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${opt(r.serverOverheadP50)} |`);
    }
    console.log(`(writing the ${AUDIT_RECORDS} records took ${fmt(audit.fillSeconds, 1)} s; verifying the chain afterwards, ${fmt(audit.verifySeconds, 1)} s)`);
  }
  console.log(`\n(this part of the benchmark took ${fmt((performance.now() - benchStarted) / 1000, 0)} s)`);
}

function printCpu({ rows, load }: Awaited<ReturnType<typeof cpuComparison>>): void {
  const perRequest = (r: CpuRow) => r.cpuMicros / r.requests;
  const bare = perRequest(rows[0]!);
  console.log(`\nCPU per request of the server process (utime + stime from /proc/<pid>/stat), concurrency ${CPU_CONCURRENCY},`);
  console.log(
    `${CPU_ROUNDS} alternating rounds of ${CPU_REQUESTS} requests; load average ${load[0].map((l) => l.toFixed(1)).join(' ')} before, ${load[1].map((l) => l.toFixed(1)).join(' ')} after`,
  );
  console.log('| server | requests | CPU µs / request | × bare Express |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.label} | ${r.requests} | ${perRequest(r).toFixed(0)} | ${(perRequest(r) / bare).toFixed(2)} |`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
