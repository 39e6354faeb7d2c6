import { execFile, type ChildProcess } from 'node:child_process';
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient, ListKeysCommand, SignCommand } from '@aws-sdk/client-kms';
import { runMain, spawnMain } from './helpers/main-process';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { createTestPki, type TestPki } from './helpers/test-pki';

/**
 * server.tls: the gateway serving HTTPS to the real AWS SDK for JavaScript v3 and the real AWS CLI,
 * both trusting a test CA made for this run; start-up refusals of a bad key; SIGHUP reloading the
 * certificate in the real entry point (waited for by its log line, never by time).
 */
let dir: string;
let pki: TestPki;
let a: { certFile: string; keyFile: string };
let b: { certFile: string; keyFile: string };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-tls-'));
  pki = await createTestPki(dir);
  [a, b] = await Promise.all([pki.issue('gateway-a'), pki.issue('gateway-b')]);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a gateway serving HTTPS', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ server: { tls: a } });
  });
  afterAll(async () => {
    await t.stop();
  });

  const sdk = (ca?: Buffer) =>
    new KMSClient({
      endpoint: t.url,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: t.admin.accessKeyId, secretAccessKey: t.admin.secretAccessKey },
      requestHandler: { httpsAgent: new Agent(ca ? { ca } : {}) },
    });

  it('@aws-sdk/client-kms trusting the test CA creates a key and signs over TLS', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const kms = sdk(readFileSync(pki.caFile));
    try {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
      const message = Buffer.from('over TLS');
      const { Signature } = await kms.send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: KeyMetadata!.KeyId }));
      expect(verify('sha256', message, createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' }), Signature!)).toBe(true);
    } finally {
      kms.destroy();
    }
  });

  it('a client that does not trust the CA is refused by its own TLS check; plain HTTP gets no KMS answer', async () => {
    const kms = sdk();
    try {
      await expect(kms.send(new ListKeysCommand({}))).rejects.toThrow(/unable to verify the first certificate/);
    } finally {
      kms.destroy();
    }
    await expect(fetch(t.url.replace('https:', 'http:') + '/health')).rejects.toThrow();
  });

  it('the AWS CLI with --ca-bundle signs over TLS, addressing the gateway as localhost', async () => {
    const endpoint = t.url.replace('127.0.0.1', 'localhost');
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: t.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: t.admin.secretAccessKey,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const aws = async (...args: string[]) =>
      (await promisify(execFile)('aws', ['--ca-bundle', pki.caFile, '--endpoint-url', endpoint, '--output', 'json', 'kms', ...args], { env, encoding: 'utf8' }))
        .stdout;
    const keyId = JSON.parse(await aws('create-key', '--key-spec', 'ECC_SECG_P256K1', '--key-usage', 'SIGN_VERIFY')).KeyMetadata.KeyId as string;
    const message = join(dir, 'cli-message');
    writeFileSync(message, 'aws cli over TLS');
    const signed = JSON.parse(
      await aws('sign', '--key-id', keyId, '--message', `fileb://${message}`, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256'),
    );
    const spki = Buffer.from(JSON.parse(await aws('get-public-key', '--key-id', keyId)).PublicKey, 'base64');
    expect(verify('sha256', readFileSync(message), createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(signed.Signature, 'base64'))).toBe(
      true,
    );
  });
});

describe('start-up refusals (exit 2, one line)', () => {
  const startWith = (tls: { certFile: string; keyFile: string }) => {
    const config = join(dir, `refused-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      config,
      [
        'server:',
        '  tls:',
        `    certFile: ${tls.certFile}`,
        `    keyFile: ${tls.keyFile}`,
        'backends:',
        '  - id: yubihsm',
        '    type: yubihsm',
        '    embedded: true',
        '',
      ].join('\n'),
    );
    return runMain({ KMSGATE_CONFIG: config, KMSGATE_DATA_DIR: join(dir, 'refused-data'), PORT: '0' });
  };

  it.each([
    [
      'a key file group members may read',
      () => {
        const keyFile = join(dir, 'group-readable.key');
        copyFileSync(a.keyFile, keyFile);
        chmodSync(keyFile, 0o640);
        return { certFile: a.certFile, keyFile };
      },
      /server\.tls\.keyFile .*group-readable\.key is readable by group or others \(mode 640\); chmod 600 it/,
    ],
    [
      "a key that is not the certificate's",
      () => ({ certFile: a.certFile, keyFile: b.keyFile }),
      /server\.tls\.keyFile .*gateway-b\.key is not the private key of the certificate in .*gateway-a\.pem/,
    ],
    [
      'a certificate file that holds no certificate',
      () => ({ certFile: a.keyFile, keyFile: a.keyFile }),
      /server\.tls\.certFile .*gateway-a\.key does not hold a PEM certificate/,
    ],
  ])('%s', async (_what, files, line) => {
    const { status, stderr } = await startWith(files());
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(line);
    expect(status).toBe(2);
  });
});

describe('SIGHUP reloads the certificate', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  /** The certificate a new TLS connection is served (fingerprint), trusting the test CA. */
  const served = (port: number) =>
    new Promise<string>((ok, fail) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caFile) }, () => {
        ok(socket.getPeerX509Certificate()!.fingerprint256);
        socket.end();
      });
      socket.once('error', fail);
    });
  const fingerprint = (certFile: string) => new X509Certificate(readFileSync(certFile)).fingerprint256;

  it('serves the new pair to new connections, and keeps the old one when the new pair is refused', async () => {
    const live = { certFile: join(dir, 'live.pem'), keyFile: join(dir, 'live.key') };
    const install = (from: { certFile: string; keyFile: string }) => {
      copyFileSync(from.certFile, live.certFile);
      copyFileSync(from.keyFile, live.keyFile);
      chmodSync(live.keyFile, 0o600);
    };
    install(a);
    const config = join(dir, 'live.yaml');
    writeFileSync(
      config,
      [
        'server:',
        '  tls:',
        `    certFile: ${live.certFile}`,
        `    keyFile: ${live.keyFile}`,
        'backends:',
        '  - id: yubihsm',
        '    type: yubihsm',
        '    embedded: true',
        '',
      ].join('\n'),
    );
    child = spawnMain({ KMSGATE_CONFIG: config, KMSGATE_DATA_DIR: join(dir, 'live-data'), PORT: '0' });
    const lines: Record<string, any>[] = [];
    const waiters: { match: (l: Record<string, any>) => boolean; ok: (l: Record<string, any>) => void }[] = [];
    createInterface({ input: child.stderr! }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, any>;
      lines.push(line);
      for (const w of waiters.splice(0))
        if (w.match(line)) w.ok(line);
        else waiters.push(w);
    });
    const logged = (msg: string) =>
      new Promise<Record<string, any>>((ok) => {
        const seen = lines.find((l) => l.msg === msg);
        if (seen) ok(seen);
        else waiters.push({ match: (l) => l.msg === msg, ok });
      });

    const started = await logged('kmsgate listening');
    expect(started.tls).toEqual({ subject: 'CN=gateway-a', notAfter: expect.any(String), sha256: fingerprint(a.certFile) });
    const port = Number(new URL(started.url).port);
    expect(await served(port)).toBe(fingerprint(a.certFile));

    install(b);
    child.kill('SIGHUP');
    expect((await logged('TLS certificate reloaded')).sha256).toBe(fingerprint(b.certFile));
    expect(await served(port)).toBe(fingerprint(b.certFile));

    // A certificate whose key is not there (b's certificate, a's key): refused, b is still served.
    copyFileSync(a.keyFile, live.keyFile);
    child.kill('SIGHUP');
    const refused = await logged('TLS certificate reload refused; still serving the previous one');
    expect(refused.detail).toMatch(/live\.key is not the private key of the certificate in .*live\.pem/);
    expect(await served(port)).toBe(fingerprint(b.certFile));

    const exited = new Promise<number | null>((ok) => child!.once('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
