import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  return { env, config: parseConfig({ production: true, server: { port: 0 }, backends: [{ id: 'hsm', type: 'yubihsm', connectorUrl: sim.url, authKeyId, passwordFile }] }, 'test', env) };
}

it('refuses authentication key 1 with the factory password, and main exits 2', async () => {
  const { env, config: cfg } = config(1, 'password\n');
  await expect(startGateway(cfg, silentLogger, env)).rejects.toThrow('backend hsm: production: true refuses authentication key 1 with the factory password');
  const run = await runMain({ KMSGATE_CONFIG: join(dir, 'kmsgate.yaml'), KMSGATE_DATA_DIR: dir, PORT: '0' }, 90_000);
  expect(run.stderr).toMatch(/refuses authentication key 1 with the factory password/);
  expect(run.status).toBe(2);
}, 120_000);

it('refuses a device that still accepts the factory key, whatever key the gateway uses', async () => {
  const admin = new YubiHsmClient({ connectorUrl: sim.url, password: 'password' });
  await admin.putAuthenticationKey({ id: 9, label: 'gw', domains: 1, capabilities: Capability.SIGN_ECDSA, delegatedCapabilities: 0n, password: 'a-strong-one' });
  await admin.close();
  const { env, config: cfg } = config(9, 'a-strong-one');
  await expect(startGateway(cfg, silentLogger, env)).rejects.toThrow('backend hsm: the device still accepts authentication key 1 with the factory password');
});
