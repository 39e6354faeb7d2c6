import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Interop with the two most common non-JavaScript AWS clients, run as real processes against the
 * real server: the AWS CLI and boto3 (both installed with the machine's python3).
 */
const run = promisify(execFile);
let t: TestGateway;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestGateway();
  env = {
    PATH: process.env.PATH,
    HOME: t.dataDir,
    AWS_ACCESS_KEY_ID: t.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: t.admin.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    KMSGATE_URL: t.url,
    KMSGATE_ACCESS_KEY_ID: t.admin.accessKeyId,
    KMSGATE_SECRET_ACCESS_KEY: t.admin.secretAccessKey,
  };
});
afterAll(async () => { await t.stop(); });

async function aws(...args: string[]): Promise<any> {
  const { stdout } = await run('aws', ['--endpoint-url', t.url, '--output', 'json', 'kms', ...args], { env });
  return stdout.trim() ? JSON.parse(stdout) : {};
}

describe('AWS CLI', () => {
  it('creates a key, signs, verifies and reports errors by their AWS names', async () => {
    const created = await aws('create-key', '--key-spec', 'ECC_SECG_P256K1', '--key-usage', 'SIGN_VERIFY', '--description', 'cli');
    expect(created.KeyMetadata).toMatchObject({ KeySpec: 'ECC_SECG_P256K1', KeyState: 'Enabled' });
    const keyId: string = created.KeyMetadata.KeyId;
    await aws('create-alias', '--alias-name', 'alias/cli-key', '--target-key-id', keyId);

    const pub = await aws('get-public-key', '--key-id', 'alias/cli-key');
    const msgFile = join(t.dataDir, 'msg.bin');
    const message = Buffer.from('signed by the aws cli');
    writeFileSync(msgFile, message);
    const signed = await aws('sign', '--key-id', 'alias/cli-key', '--message', `fileb://${msgFile}`,
      '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256');
    const key = createPublicKey({ key: Buffer.from(pub.PublicKey, 'base64'), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', message, key, Buffer.from(signed.Signature, 'base64'))).toBe(true);

    const digestFile = join(t.dataDir, 'digest.bin');
    writeFileSync(digestFile, createHash('sha256').update(message).digest());
    const sigFile = join(t.dataDir, 'sig.bin');
    writeFileSync(sigFile, Buffer.from(signed.Signature, 'base64'));
    const verified = await aws('verify', '--key-id', keyId, '--message', `fileb://${digestFile}`, '--message-type', 'DIGEST',
      '--signature', `fileb://${sigFile}`, '--signing-algorithm', 'ECDSA_SHA_256');
    expect(verified.SignatureValid).toBe(true);

    const listed = await aws('list-keys');
    expect(listed.Keys.map((k: { KeyId: string }) => k.KeyId)).toContain(keyId);

    await expect(aws('describe-key', '--key-id', 'alias/missing'))
      .rejects.toMatchObject({ stderr: expect.stringContaining('(NotFoundException)') });
    await expect(aws('sign', '--key-id', keyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_999'))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/ECDSA_SHA_999|ValidationException/) });
  });

  it('is refused with a wrong secret', async () => {
    const bad = { ...env, AWS_SECRET_ACCESS_KEY: 'wrong'.repeat(8) };
    await expect(run('aws', ['--endpoint-url', t.url, 'kms', 'list-keys'], { env: bad }))
      .rejects.toMatchObject({ stderr: expect.stringContaining('InvalidSignatureException') });
  });
});

describe('boto3', () => {
  it('runs the lifecycle with typed exceptions', async () => {
    const { stdout } = await run('python3', [join(__dirname, 'interop', 'boto3_interop.py')], { env });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({
      created: { KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY', KeyState: 'Enabled', SigningAlgorithms: ['ECDSA_SHA_256'] },
      creation_date_type: 'datetime',
      curve: 'secp256k1',
      raw_signature_valid: true,
      verify: true,
      tampered: 'KMSInvalidSignatureException',
      bad_usage: 'ValidationException',
      ed25519_valid: true,
    });
    expect(out.missing).toBe('NotFoundException: Alias arn:aws:kms:us-east-1:111122223333:alias/does-not-exist is not found.');
    expect(out.list_pages).toBeGreaterThanOrEqual(3);
  });
});
