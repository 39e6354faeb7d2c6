import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * One gateway per embedded simulator state: a second gateway on the same data dir (a second
 * `npm start` on another port) is refused before it loads the state, instead of keeping its own
 * copy of the device and overwriting the first one's keys at its next save.
 */
const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let first: TestGateway;
afterEach(async () => {
  await first?.stop();
});

it.each([
  ['yubihsm', { id: 'yubihsm', type: 'yubihsm', embedded: true }],
  ['tee', { id: 'tee', type: 'tee', embedded: true }],
])('a second gateway on the data dir of a running one is refused (%s), and the first keeps its keys', async (id, backend) => {
  first = await startTestGateway({ backends: [backend] });
  const kms = first.client();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const state = join(first.dataDir, `${id}-sim.json`);
  const before = digest(state);

  await expect(startTestGateway({ dataDir: first.dataDir, backends: [backend] })).rejects.toThrow(
    `backend ${id}: the embedded simulator's state ${state} is in use by process ${process.pid} (another gateway on this data dir?): stop that one, or give this one another KMSGATE_DATA_DIR`,
  );
  expect(digest(state)).toBe(before);
  const signed = await kms.send(
    new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
  );
  expect(signed.Signature).toBeDefined();

  // Stopped, it gives the state back: the next gateway on the data dir starts and signs with the same key.
  await first.stop({ keepData: true });
  expect(existsSync(`${state}.lock`)).toBe(false);
  first = await startTestGateway({ dataDir: first.dataDir, backends: [backend] });
  const again = await first
    .client()
    .send(new SignCommand({ KeyId: KeyMetadata!.KeyId, Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
  expect(again.Signature).toBeDefined();
});

it('takes over the lock of a gateway that died without giving it back', async () => {
  first = await startTestGateway({ backends: [{ id: 'yubihsm', type: 'yubihsm', embedded: true }] });
  await first.stop({ keepData: true });
  // The pid of a process that has exited (and been waited for), as a gateway killed with -9 leaves it.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const lock = join(first.dataDir, 'yubihsm-sim.json.lock');
  writeFileSync(lock, `${dead}\n`);
  first = await startTestGateway({ dataDir: first.dataDir, backends: [{ id: 'yubihsm', type: 'yubihsm', embedded: true }] });
  expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n`);
});
