/**
 * `npm run bench`, part 2: a legitimate signer under a flood of anonymous requests (issue 9).
 * The gateway runs as `npm start` does, in its own process, with its default limits. The signer
 * (x-api-key, concurrency 1) measures its Sign p50 alone, then while another process offers
 * BENCH_FLOOD_RPS anonymous Sign requests per second from another loopback address (127.0.0.2, so
 * it is a different source). The flooding process writes prebuilt requests on raw keep-alive
 * sockets (BENCH_FLOOD_CONNECTIONS of them) on a 10 ms schedule, so it costs little CPU and keeps
 * offering its rate however slowly the gateway answers; what it could not send because every
 * connection was waiting is reported as not offered. Printed: the offered and answered rates, the
 * signer's p50 unflooded and flooded and their ratio, the audit log's growth in records and bytes
 * during the flood and at the shutdown flush, and the gateway's RSS before and at most during it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore, loadOrCreateSealKey, openDb, resolveDbPath } from '@kmsgate/store';

const ROOT = join(__dirname, '..');
const SIGNS = Number(process.env.BENCH_FLOOD_SIGNS ?? 400);
const FLOOD_RPS = Number(process.env.BENCH_FLOOD_RPS ?? 2000);
const CONNECTIONS = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 128);
const TICK_MS = 10;

interface Reply {
  status: number;
  body: string;
}

function post(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => ok({ status: res.statusCode!, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** The gateway as `npm start` runs it, in a process of its own whose pid is the gateway's (for its RSS). */
async function startGateway(dataDir: string): Promise<{ child: ChildProcess; url: URL; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps', 'server', 'src', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, KMSGATE_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', KMSGATE_CONFIG: '', LOG_LEVEL: 'info' },
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
    setTimeout(() => fail(new Error(`the gateway did not say where it listens within 60 s: ${buffered}`)), 60_000).unref();
  });
  return { child, url, exited };
}

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Resident set size of a process in MiB (/proc/<pid>/status VmRSS). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface FloodStats {
  sent: number;
  answered: number;
  notOffered: number;
  seconds: number;
  statuses: Record<string, number>;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-bench-flood-'));
  const env = { KMSGATE_DATA_DIR: dataDir } as NodeJS.ProcessEnv;
  const db0 = openDb(resolveDbPath(env));
  const admin = new ApiKeyStore(db0, loadOrCreateSealKey(dataDir)).generate({ label: 'bench', role: 'admin' });
  db0.close();
  const gw = await startGateway(dataDir);
  const pid = gw.child.pid!;
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
    const load = [loadavg()];
    const quiet = await signs(SIGNS);
    const rssBefore = rssMiB(pid);

    const db = openDb(resolveDbPath(env));
    const rows = () => (db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
    const jsonlBytes = () => statSync(join(dataDir, 'audit.jsonl')).size;
    const rowsBefore = rows();
    const bytesBefore = jsonlBytes();

    // The flood runs in a process of its own, as an attacker's would: its client work does not
    // slow the signer's client down.
    const flood = spawn(process.execPath, ['--import', 'tsx', __filename, '--flood', gw.url.href, signBody], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    let floodOut = '';
    flood.stdout!.on('data', (c: Buffer) => {
      floodOut += c.toString();
    });
    await new Promise<void>((ok) => flood.stdout!.once('data', () => ok())); // "started", after its first second
    let rssMax = rssMiB(pid);
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, rssMiB(pid));
    }, 200);
    const flooded = await signs(SIGNS);
    clearInterval(sampler);
    load.push(loadavg());
    flood.stdin!.end();
    await new Promise((ok) => flood.once('exit', ok));
    const stats = JSON.parse(floodOut.trim().split('\n').at(-1)!) as FloodStats;
    const rowsDuring = rows() - rowsBefore - SIGNS; // the signer's own accept records are not the flood's
    const bytesDuring = jsonlBytes() - bytesBefore;
    db.close();

    gw.child.kill('SIGTERM');
    await gw.exited;
    const db2 = openDb(resolveDbPath(env));
    const aggregated = (db2.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE operation = '*'").get() as { n: number }).n;
    db2.close();
    const bytesAfter = jsonlBytes() - bytesBefore;

    const fmt = (x: number, d = 2) => x.toFixed(d);
    console.log(
      `\nkmsgate flood benchmark — legitimate Sign (P-256, x-api-key, concurrency 1, ${SIGNS} signs) alone and under an anonymous flood of ${FLOOD_RPS}/s on ${CONNECTIONS} keep-alive connections, node ${process.version}`,
    );
    console.log(`load average ${load[0]!.map((l) => l.toFixed(1)).join(' ')} before, ${load[1]!.map((l) => l.toFixed(1)).join(' ')} at the end of the flood`);
    console.log('| case | legitimate Sign p50 ms | flood offered/s | flood answered/s | gateway RSS MiB |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(`| unflooded | ${fmt(p50(quiet))} | — | — | ${fmt(rssBefore, 0)} |`);
    console.log(
      `| flooded | ${fmt(p50(flooded))} | ${fmt(stats.sent / stats.seconds, 0)} | ${fmt(stats.answered / stats.seconds, 0)} | ${fmt(rssMax, 0)} (max) |`,
    );
    console.log(`p50 ratio flooded / unflooded: ${fmt(p50(flooded) / p50(quiet))}×`);
    console.log(
      `flood: ${stats.sent} sent in ${fmt(stats.seconds, 1)} s, ${stats.notOffered} not offered (every connection was waiting); answers: ${Object.entries(
        stats.statuses,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    console.log(
      `audit log during the flood: ${rowsDuring} records beyond the signer's own ${SIGNS}; audit.jsonl grew ${bytesDuring} B with the signer's records, ${bytesAfter} B after the shutdown flush (${aggregated} aggregated refusal records in all)`,
    );
  } finally {
    gw.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One keep-alive connection of the flood: a prebuilt request out, the answer's status and __type back. */
class FloodConnection {
  busy = false;
  #socket: Socket;
  #buffer = '';

  constructor(
    private readonly url: URL,
    private readonly requestBytes: Buffer,
    private readonly onAnswer: (kind: string) => void,
  ) {
    this.#socket = this.#open();
  }

  #open(): Socket {
    const s = connect({ host: this.url.hostname, port: Number(this.url.port), localAddress: '127.0.0.2' });
    s.setNoDelay(true);
    s.setEncoding('latin1');
    s.on('data', (chunk: string) => this.#read(chunk));
    s.on('error', () => undefined);
    s.on('close', () => {
      // The gateway closed it (an answer with Connection: close, or a limit): the request in flight is lost.
      if (this.busy) this.onAnswer('connection closed');
      this.busy = false;
      this.#buffer = '';
      if (!stopping) this.#socket = this.#open();
    });
    return s;
  }

  send(): void {
    this.busy = true;
    this.#socket.write(this.requestBytes);
  }

  /** Answers are small and complete when Content-Length bytes follow the head. */
  #read(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#buffer.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.#buffer.length < end + 4 + length) return;
      const body = this.#buffer.slice(end + 4, end + 4 + length);
      this.#buffer = this.#buffer.slice(end + 4 + length);
      const status = head.slice(9, 12);
      const type = /"__type":"([^"]+)"/.exec(body)?.[1];
      this.busy = false;
      this.onAnswer(status === '200' ? 'ok' : (type ?? `HTTP ${status}`));
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

let stopping = false;

/** The flooding process: FLOOD_RPS anonymous Sign requests per second from 127.0.0.2 until stdin closes. */
async function floodMain(url: URL, body: string): Promise<void> {
  const requestBytes = Buffer.from(
    `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.Sign\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    'latin1',
  );
  const statuses: Record<string, number> = {};
  let answered = 0;
  const connections = Array.from(
    { length: CONNECTIONS },
    () =>
      new FloodConnection(url, requestBytes, (kind) => {
        statuses[kind] = (statuses[kind] ?? 0) + 1;
        if (kind !== 'connection closed') answered++;
      }),
  );
  let sent = 0;
  let notOffered = 0;
  process.stdin.resume();
  const done = new Promise<void>((ok) => process.stdin.on('end', () => ok()));
  const started = performance.now();
  let announced = false;
  let due = 0;
  let next = 0;
  const tick = () => {
    // The requests due by now on the schedule; those no connection was free for are dropped, not saved up.
    due = (FLOOD_RPS * (performance.now() - started)) / 1000 - sent - notOffered;
    for (let tried = 0; due >= 1 && tried < connections.length; tried++) {
      const c = connections[next]!;
      next = (next + 1) % connections.length;
      if (c.busy) continue;
      c.send();
      sent++;
      due--;
    }
    if (due >= 1) notOffered += Math.floor(due);
    if (!announced && performance.now() - started > 1000) {
      announced = true;
      process.stdout.write('started\n');
    }
  };
  const timer = setInterval(tick, TICK_MS);
  await done;
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  // The answers still on their way are counted for a moment, then the connections go.
  await new Promise((r) => setTimeout(r, 500));
  stopping = true;
  for (const c of connections) c.close();
  process.stdout.write(JSON.stringify({ sent, answered, notOffered, seconds, statuses } satisfies FloodStats) + '\n');
}

(process.argv[2] === '--flood' ? floodMain(new URL(process.argv[3]!), process.argv[4]!) : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
