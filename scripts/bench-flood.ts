/**
 * `npm run bench`, part 2: a legitimate signer under a flood of anonymous requests (issue 9).
 * The gateway runs as `npm start` does, in its own process, with its default limits. The signer
 * (x-api-key, concurrency 1) measures its Sign p50 alone, then while a second client sends about
 * BENCH_FLOOD_RPS anonymous Sign requests per second from another loopback address (127.0.0.2, so
 * it is a different source); the audit log's growth is counted during the flood and after the
 * shutdown flush.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore, loadOrCreateSealKey, openDb, resolveDbPath } from '@kmsgate/store';

const ROOT = join(__dirname, '..');
const SIGNS = Number(process.env.BENCH_FLOOD_SIGNS ?? 400);
const FLOOD_RPS = Number(process.env.BENCH_FLOOD_RPS ?? 2000);
const TICK_MS = 10;

interface Reply { status: number; body: string }

function post(agent: Agent, url: URL, headers: Record<string, string>, body: string, localAddress?: string): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', method: 'POST', agent, headers, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => ok({ status: res.statusCode!, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

async function startGateway(dataDir: string): Promise<{ child: ChildProcess; url: URL; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'apps', 'server', 'src', 'main.ts')], {
    env: { ...process.env, KMSGATE_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', KMSGATE_CONFIG: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const url = await new Promise<URL>((ok, fail) => {
    let buffered = '';
    let found = false;
    // Drained for the whole run (a full pipe would block the gateway), kept only until the URL shows.
    child.stderr!.on('data', (c: Buffer) => {
      if (found) return;
      buffered += c.toString();
      const m = /"url":"([^"]+)"/.exec(buffered);
      if (m) {
        found = true;
        ok(new URL(m[1]!));
      }
    });
    void exited.then((code) => fail(new Error(`gateway exited (${code}): ${buffered}`)));
  });
  return { child, url, exited };
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-flood-'));
  const env = { KMSGATE_DATA_DIR: dataDir } as NodeJS.ProcessEnv;
  const db0 = openDb(resolveDbPath(env));
  const admin = new ApiKeyStore(db0, loadOrCreateSealKey(dataDir)).generate({ label: 'bench', role: 'admin' });
  db0.close();
  const gw = await startGateway(dataDir);
  try {
    const legit = new Agent({ keepAlive: true, maxSockets: 1 });
    const h = (target: string) => ({ 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${target}`, 'x-api-key': admin.apiKey });
    const created = await post(legit, gw.url, h('CreateKey'), JSON.stringify({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const keyId = (JSON.parse(created.body) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const signBody = JSON.stringify({ KeyId: keyId, Message: Buffer.from('bench').toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' });
    const signs = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = await post(legit, gw.url, h('Sign'), signBody);
        if (r.status !== 200) throw new Error(`legitimate Sign failed: ${r.status} ${r.body}`);
        out.push(performance.now() - t0);
      }
      return out;
    };
    await signs(50); // warm-up
    const quiet = await signs(SIGNS);

    const db = openDb(resolveDbPath(env));
    const rows = () => (db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
    const jsonlBytes = () => statSync(join(dataDir, 'audit.jsonl')).size;
    const rowsBefore = rows();
    const bytesBefore = jsonlBytes();

    // The flood runs in a process of its own, as an attacker's would: its client work does not
    // slow the signer's client down.
    const flood = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), __filename, '--flood', gw.url.href, signBody], { stdio: ['pipe', 'pipe', 'inherit'] });
    let floodOut = '';
    flood.stdout!.on('data', (c: Buffer) => { floodOut += c.toString(); });
    await new Promise<void>((ok) => flood.stdout!.once('data', () => ok())); // "started", after reaching its rate
    const flooded = await signs(SIGNS);
    flood.stdin!.end();
    await new Promise((ok) => flood.once('exit', ok));
    const stats = JSON.parse(floodOut.trim().split('\n').at(-1)!) as { sent: number; seconds: number; statuses: Record<string, number> };
    const rowsDuring = rows() - rowsBefore - SIGNS; // the signer's own accept records are not the flood's
    const bytesDuring = jsonlBytes() - bytesBefore;
    db.close();

    gw.child.kill('SIGTERM');
    await gw.exited;
    const db2 = openDb(resolveDbPath(env));
    const aggregated = (db2.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE operation = '*'").get() as { n: number }).n;
    db2.close();

    const fmt = (x: number, d = 2) => x.toFixed(d);
    console.log(`\nkmsgate flood benchmark — legitimate Sign (P-256, x-api-key, concurrency 1, ${SIGNS} signs) alone and under an anonymous flood, node ${process.version}`);
    console.log('| case | legitimate Sign p50 ms | flood sent/s | flood answered/s |');
    console.log('|---|---:|---:|---:|');
    console.log(`| unflooded | ${fmt(p50(quiet))} | — | — |`);
    console.log(`| flooded | ${fmt(p50(flooded))} | ${fmt(stats.sent / stats.seconds, 0)} | ${fmt(Object.values(stats.statuses).reduce((a, b) => a + b, 0) / stats.seconds, 0)} |`);
    console.log(`p50 ratio flooded / unflooded: ${fmt(p50(flooded) / p50(quiet))}×`);
    console.log(`flood answers: ${Object.entries(stats.statuses).map(([k, v]) => `${k} ${v}`).join(', ')} (of ${stats.sent} sent)`);
    console.log(`audit log during the flood: ${rowsDuring} records beyond the signer's own ${SIGNS} (audit.jsonl grew ${bytesDuring} B in all); aggregated records written at shutdown: ${aggregated}`);
  } finally {
    gw.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The flooding process: FLOOD_RPS anonymous Sign requests per second from 127.0.0.2 until stdin closes. */
async function floodMain(url: URL, body: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const statuses: Record<string, number> = {};
  let sent = 0;
  let stop = false;
  process.stdin.resume();
  process.stdin.on('end', () => { stop = true; });
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  let due = started;
  let announced = false;
  while (!stop) {
    for (let i = 0; i < (FLOOD_RPS * TICK_MS) / 1000; i++) {
      sent += 1;
      const p: Promise<void> = post(agent, url, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Sign' }, body, '127.0.0.2')
        .then((r) => r.status === 200 ? 'ok' : (JSON.parse(r.body) as { __type: string }).__type, (e: unknown) => `error ${(e as Error).message}`)
        .then((k) => { statuses[k] = (statuses[k] ?? 0) + 1; })
        .finally(() => { inflight.delete(p); });
      inflight.add(p);
    }
    due += TICK_MS;
    if (!announced && performance.now() - started > 1000) {
      announced = true;
      process.stdout.write('started\n');
    }
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(inflight);
  process.stdout.write(JSON.stringify({ sent, seconds: (performance.now() - started) / 1000, statuses }) + '\n');
  agent.destroy();
}

(process.argv[2] === '--flood' ? floodMain(new URL(process.argv[3]!), process.argv[4]!) : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
