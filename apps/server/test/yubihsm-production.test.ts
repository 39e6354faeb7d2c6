import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '@kmsgate/yubihsm-sim';
import { Capability, YubiHsmClient } from '@kmsgate/yubihsm';
import { parseConfig } from '../src/config';
import { startGateway } from '../src/gateway';
import { silentLogger } from '../src/log';
import { runMain } from './helpers/main-process';

/** `production: true` against a YubiHSM 2 (docs/configuration.md#production): never the factory credentials. */
let dir: string;
let sim: RunningSimulator;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsgate-prod-hsm-'));
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(authKeyId: number, password: string) {
  const passwordFile = join(dir, 'hsm.password');
  writeFileSync(passwordFile, password, { mode: 0o600 });
  const env = { KMSGATE_DATA_DIR: dir } as NodeJS.ProcessEnv;
  const yaml = `production: true\nserver:\n  port: 0\nbackends:\n  - id: hsm\n    type: yubihsm\n    connectorUrl: ${sim.url}\n    authKeyId: ${authKeyId}\n    passwordFile: ${passwordFile}\n`;
  writeFileSync(join(dir, 'kmsgate.yaml'), yaml);
  return {
    env,
    config: parseConfig(
      { production: true, server: { port: 0 }, backends: [{ id: 'hsm', type: 'yubihsm', connectorUrl: sim.url, authKeyId, passwordFile }] },
      'test',
      env,
    ),
  };
}

it('refuses authentication key 1 with the factory password, and main exits 2', async () => {
  const { env, config: cfg } = config(1, 'password\n');
  await expect(startGateway(cfg, silentLogger, env)).rejects.toThrow('backend hsm: production: true refuses authentication key 1 with the factory password');
  const run = await runMain({ KMSGATE_CONFIG: join(dir, 'kmsgate.yaml'), KMSGATE_DATA_DIR: dir, PORT: '0' }, 90_000);
  expect(run.stderr).toMatch(/refuses authentication key 1 with the factory password/);
  expect(run.status).toBe(2);
}, 120_000);

it('refuses a device that identifies as the simulator', async () => {
  const admin = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
  await admin.putAuthenticationKey({
    id: 9,
    label: 'gw',
    domains: 1,
    capabilities: Capability.SIGN_ECDSA,
    delegatedCapabilities: 0n,
    password: 'a-strong-one',
  });
  await admin.close();
  const { env, config: cfg } = config(9, 'a-strong-one');
  await expect(startGateway(cfg, silentLogger, env)).rejects.toThrow(
    'backend hsm: the device at the connector identifies as the yubihsm-sim simulator; production: true refuses a simulated backend',
  );
});

it('refuses a device that still accepts the factory key, whatever key the gateway uses', async () => {
  // The simulator behind a connector that answers DEVICE_INFO page 1 as hardware would: only the
  // factory-key check is left to refuse it.
  const disguised = await partNumberProxy(sim.url, 'not-a-simulator');
  try {
    const admin = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
    await admin.putAuthenticationKey({
      id: 9,
      label: 'gw',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      delegatedCapabilities: 0n,
      password: 'a-strong-one',
    });
    await admin.close();
    const { env } = config(9, 'a-strong-one');
    const cfg = parseConfig(
      {
        production: true,
        server: { port: 0 },
        backends: [{ id: 'hsm', type: 'yubihsm', connectorUrl: disguised.url, authKeyId: 9, passwordFile: join(dir, 'hsm.password') }],
      },
      'test',
      env,
    );
    await expect(startGateway(cfg, silentLogger, env)).rejects.toThrow('backend hsm: the device still accepts authentication key 1 with the factory password');
  } finally {
    await disguised.close();
  }
});

/** Forwards to the connector, answering DEVICE_INFO page 1 (`06 00 01 01`, in the clear) with `partNumber`. */
async function partNumberProxy(target: string, partNumber: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.url === '/connector/api' && body.equals(Buffer.from([0x06, 0x00, 0x01, 0x01]))) {
      const text = Buffer.from(partNumber);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.concat([Buffer.from([0x86, 0, text.length]), text]));
      return;
    }
    const up = await fetch(`${target}${req.url}`, { method: req.method, body: req.method === 'POST' ? body : undefined });
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' }).end(Buffer.from(await up.arrayBuffer()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
