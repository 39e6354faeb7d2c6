import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { ApiKeyStore, loadOrCreateSealKey, openDb, resolveDbPath, readAuditTail } from '@kmsgate/store';
import { startTeeSimulator, type RunningTeeSimulator } from '@kmsgate/tee-sim';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { runMain, spawnMain } from './helpers/main-process';

/**
 * Graceful shutdown: the requests in flight when the gateway is told to stop get their answers;
 * what arrives after is refused at the socket; the deadline cuts what takes too long. The slow
 * device call is a TEE simulator `hold` fault, released by the test: ordered by events, not timers.
 */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('in process', () => {
  let t: TestGateway;
  let sim: RunningTeeSimulator;
  beforeEach(async () => {
    t = await startTestGateway();
    sim = t.gateway.backends.teeSimulators.get('tee')!;
  });
  afterEach(async () => {
    sim.faults.release();
    await t.stop().catch(() => undefined);
  });

  it('a Sign in flight when close() starts completes, with its audit record; new connections are refused', async () => {
    const kms = t.client();
    const key = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }));
    sim.faults.inject({ kind: 'hold', cmd: 'sign' });
    const signing = kms.send(new SignCommand({ KeyId: key.KeyMetadata!.KeyId!, Message: Buffer.from('in flight'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    await until(() => sim.faults.holding === 1);
    const url = t.url;
    const closing = t.gateway.close();
    let closed = false;
    void closing.then(() => {
      closed = true;
    });
    // Stopped accepting: a new connection is refused while the Sign is still held.
    await expect(fetch(url + '/version')).rejects.toThrow();
    expect(closed).toBe(false);
    expect(t.gateway.inflight).toBe(1);
    sim.faults.release();
    const out = await signing;
    expect(out.Signature!.length).toBeGreaterThan(8);
    expect(await closing).toEqual({ abandoned: 0 });
    const db = openDb(resolveDbPath({ KMSGATE_DATA_DIR: t.dataDir } as NodeJS.ProcessEnv));
    try {
      expect(readAuditTail(db, 1)[0]).toMatchObject({ operation: 'Sign', decision: 'accept', keyId: key.KeyMetadata!.KeyId! });
    } finally {
      db.close();
    }
  });

  it('the deadline cuts a request that takes longer, and close() still finishes', async () => {
    sim.faults.inject({ kind: 'hold', cmd: 'generateKey' });
    const creating = t.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }));
    const outcome = creating.then(
      () => 'answered',
      () => 'cut',
    );
    await until(() => sim.faults.holding === 1);
    expect(await t.gateway.close({ deadlineMs: 50 })).toEqual({ abandoned: 1 });
    expect(await outcome).toBe('cut');
  });
});

describe('the real process', () => {
  let dir: string;
  let sim: RunningTeeSimulator;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmsgate-shutdown-'));
    sim = await startTeeSimulator({ socketPath: join(dir, 'tee.sock') });
  });
  afterEach(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM during a CreateKey: the client gets its key, the audit has it, the log says stopped, exit 0', async () => {
    const dataDir = join(dir, 'data');
    const env = { KMSGATE_DATA_DIR: dataDir, KMSGATE_TEE_SOCKET: sim.socketPath, PORT: '0', HOST: '127.0.0.1', KMSGATE_CONFIG: '' };
    // The store exists before the gateway starts, so the admin key is there when it does.
    const db = openDb(resolveDbPath(env as NodeJS.ProcessEnv));
    const admin = new ApiKeyStore(db, loadOrCreateSealKey(dataDir)).generate({ label: 'admin', role: 'admin' });
    db.close();

    const child = spawnMain({ ...env });
    const lines: { msg: string; url?: string }[] = [];
    let buffered = '';
    child.stderr!.on('data', (c: Buffer) => {
      buffered += c.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as { msg: string });
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    try {
      await until(() => lines.some((l) => l.msg === 'kmsgate listening') || child.exitCode !== null);
      const url = lines.find((l) => l.msg === 'kmsgate listening')!.url!;

      sim.faults.inject({ kind: 'hold', cmd: 'generateKey' });
      const creating = fetch(url + '/', {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey', 'x-api-key': admin.apiKey },
        body: JSON.stringify({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'tee' }),
      });
      await until(() => sim.faults.holding === 1);
      child.kill('SIGTERM');
      await until(() => lines.some((l) => l.msg === 'shutting down'));
      sim.faults.release();
      const res = await creating;
      expect(res.status).toBe(200);
      const keyId = ((await res.json()) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
      expect(await exited).toBe(0);
      expect(lines.at(-1)).toMatchObject({ msg: 'stopped', abandoned: 0 });
      const after = openDb(resolveDbPath(env as NodeJS.ProcessEnv));
      try {
        expect(readAuditTail(after, 1)[0]).toMatchObject({ operation: 'CreateKey', decision: 'admin', keyId });
      } finally {
        after.close();
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('a busy port is one line naming the port and PORT, exit 1', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { status, stderr } = await runMain({
        KMSGATE_DATA_DIR: join(dir, 'data'),
        KMSGATE_TEE_SOCKET: sim.socketPath,
        PORT: String(port),
        HOST: '127.0.0.1',
        KMSGATE_CONFIG: '',
      });
      expect(status).toBe(1);
      const last = stderr.trim().split('\n').at(-1)!;
      expect(last).toBe(
        `kmsgate failed to start: port ${port} on 127.0.0.1 is already in use: stop what listens there, or set PORT (or server.port in the configuration) to a free port`,
      );
    } finally {
      blocker.close();
    }
  });
});
