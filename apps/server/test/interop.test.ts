import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { KEY_SPECS } from '@kmsgate/core';
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
    // Every signing spec the backend holds, so the boto3 run signs with each (whatever the backend adds later).
    KMSGATE_SIGNING_SPECS: JSON.stringify(signingSpecs()),
  };
  startCli();
});
afterAll(async () => {
  cli.stdin.end();
  await new Promise((ok) => cli.once('close', ok));
  await t.stop();
});

/**
 * One long-lived AWS CLI driver (interop/aws_cli_driver.py): `aws kms …` commands run through
 * awscli's own driver without paying the interpreter start for each. A non-zero exit rejects with
 * `{ code, stderr }`, as execFile does.
 */
let cli: ChildProcessWithoutNullStreams;
const pending: ((line: string) => void)[] = [];
let queue: Promise<unknown> = Promise.resolve();

function startCli(): void {
  cli = spawn('python3', [join(__dirname, 'interop', 'aws_cli_driver.py')], { env });
  createInterface({ input: cli.stdout }).on('line', (line) => pending.shift()?.(line));
}

async function aws(...args: string[]): Promise<any> {
  const argv = ['--endpoint-url', t.url, '--output', 'json', 'kms', ...args];
  const result = queue.then(
    () =>
      new Promise<{ rc: number; stdout: string; stderr: string }>((ok) => {
        pending.push((line) => ok(JSON.parse(line)));
        cli.stdin.write(JSON.stringify(argv) + '\n');
      }),
  );
  queue = result.catch(() => undefined);
  const { rc, stdout, stderr } = await result;
  if (rc !== 0) throw Object.assign(new Error(`aws ${args.join(' ')} exited with ${rc}`), { code: rc, stderr });
  return stdout.trim() ? JSON.parse(stdout) : {};
}

/** The stderr of a command expected to fail. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'succeeded',
    (e: { stderr: string }) => e.stderr,
  );

/** The backend's signing key specs (SYMMETRIC_DEFAULT is checked on its own). */
function signingSpecs(): string[] {
  return t.gateway.backends.registry.defaultBackend.keySpecs.filter((s) => (KEY_SPECS[s].usages as readonly string[]).includes('SIGN_VERIFY'));
}

describe('AWS CLI', () => {
  it('runs the key lifecycle, signs and verifies, and reports errors by their AWS names', async () => {
    const created = await aws(
      'create-key',
      '--key-spec',
      'ECC_SECG_P256K1',
      '--key-usage',
      'SIGN_VERIFY',
      '--description',
      'cli',
      '--tags',
      'TagKey=team,TagValue=cli',
    );
    expect(created.KeyMetadata).toMatchObject({ KeySpec: 'ECC_SECG_P256K1', KeyState: 'Enabled' });
    const keyId: string = created.KeyMetadata.KeyId;
    const arn: string = created.KeyMetadata.Arn;
    const second: string = (await aws('create-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY')).KeyMetadata.KeyId;

    // Alias, moved to the first key; tags.
    await aws('create-alias', '--alias-name', 'alias/cli-key', '--target-key-id', second);
    await aws('update-alias', '--alias-name', 'alias/cli-key', '--target-key-id', keyId);
    await aws('tag-resource', '--key-id', keyId, '--tags', 'TagKey=env,TagValue=test');
    expect((await aws('list-aliases', '--key-id', keyId)).Aliases.map((a: { AliasName: string }) => a.AliasName)).toEqual(['alias/cli-key']);
    expect((await aws('list-resource-tags', '--key-id', keyId)).Tags).toEqual([
      { TagKey: 'env', TagValue: 'test' },
      { TagKey: 'team', TagValue: 'cli' },
    ]);
    expect((await aws('describe-key', '--key-id', 'alias/cli-key')).KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'cli' });
    expect((await aws('list-keys')).Keys.map((k: { KeyId: string }) => k.KeyId)).toContain(keyId);

    // Sign with the alias, check with node:crypto, Verify the digest form through KMS.
    const pub = await aws('get-public-key', '--key-id', 'alias/cli-key');
    const msgFile = join(t.dataDir, 'msg.bin');
    const message = Buffer.from('signed by the aws cli');
    writeFileSync(msgFile, message);
    const sign = () =>
      aws('sign', '--key-id', 'alias/cli-key', '--message', `fileb://${msgFile}`, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256');
    const signed = await sign();
    const key = createPublicKey({ key: Buffer.from(pub.PublicKey, 'base64'), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', message, key, Buffer.from(signed.Signature, 'base64'))).toBe(true);
    const digestFile = join(t.dataDir, 'digest.bin');
    writeFileSync(digestFile, createHash('sha256').update(message).digest());
    const sigFile = join(t.dataDir, 'sig.bin');
    writeFileSync(sigFile, Buffer.from(signed.Signature, 'base64'));
    const verified = await aws(
      'verify',
      '--key-id',
      keyId,
      '--message',
      `fileb://${digestFile}`,
      '--message-type',
      'DIGEST',
      '--signature',
      `fileb://${sigFile}`,
      '--signing-algorithm',
      'ECDSA_SHA_256',
    );
    expect(verified.SignatureValid).toBe(true);

    // Policies, rotation, randomness, key stores.
    expect(JSON.parse((await aws('get-key-policy', '--key-id', keyId, '--policy-name', 'default')).Policy).Statement[0].Principal.AWS).toBe(
      'arn:aws:iam::111122223333:root',
    );
    expect((await aws('get-key-rotation-status', '--key-id', keyId)).KeyRotationEnabled).toBe(false);
    expect(Buffer.from((await aws('generate-random', '--number-of-bytes', '24')).Plaintext, 'base64').length).toBe(24);
    expect((await aws('describe-custom-key-stores')).CustomKeyStores).toEqual([
      expect.objectContaining({ CustomKeyStoreId: 'tee', CustomKeyStoreType: 'AWS_CLOUDHSM', ConnectionState: 'CONNECTED' }),
      expect.objectContaining({ CustomKeyStoreId: 'yubihsm', CustomKeyStoreType: 'AWS_CLOUDHSM', ConnectionState: 'CONNECTED' }),
    ]);

    // Disable, enable, schedule deletion, cancel.
    await aws('disable-key', '--key-id', keyId);
    expect(await failure(sign())).toContain(`(DisabledException) when calling the Sign operation: ${arn} is disabled.`);
    await aws('enable-key', '--key-id', keyId);
    const scheduled = await aws('schedule-key-deletion', '--key-id', keyId, '--pending-window-in-days', '7');
    expect(scheduled).toMatchObject({ KeyId: arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(await failure(sign())).toContain(`(KMSInvalidStateException) when calling the Sign operation: ${arn} is pending deletion.`);
    await aws('cancel-key-deletion', '--key-id', keyId);
    expect((await aws('describe-key', '--key-id', keyId)).KeyMetadata.KeyState).toBe('Disabled');
    await aws('enable-key', '--key-id', keyId);
    expect((await sign()).SigningAlgorithm).toBe('ECDSA_SHA_256');

    // Errors by their AWS names.
    expect(await failure(aws('describe-key', '--key-id', 'alias/missing'))).toContain('(NotFoundException)');
    expect(
      await failure(aws('sign', '--key-id', keyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_999')),
    ).toMatch(/ECDSA_SHA_999|ValidationException/);
    expect(await failure(aws('schedule-key-deletion', '--key-id', keyId, '--pending-window-in-days', '3'))).toContain(
      '(ValidationException) when calling the ScheduleKeyDeletion operation: PendingWindowInDays must be between 7 and 30',
    );
    expect(await failure(aws('encrypt', '--key-id', keyId, '--plaintext', `fileb://${digestFile}`))).toContain(
      `(InvalidKeyUsageException) when calling the Encrypt operation: ${arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    );
    expect(await failure(aws('tag-resource', '--key-id', keyId, '--tags', 'TagKey=aws:x,TagValue=y'))).toContain(
      '(TagException) when calling the TagResource operation: Tags beginning with aws: are reserved',
    );

    // `aws kms create-key` with no arguments: a symmetric key that encrypts, decrypts and makes data keys.
    const sym = (await aws('create-key')).KeyMetadata;
    expect(sym).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] });
    const plainFile = join(t.dataDir, 'plain.bin');
    writeFileSync(plainFile, 'aws cli secret');
    const encrypted = await aws('encrypt', '--key-id', sym.KeyId, '--plaintext', `fileb://${plainFile}`, '--encryption-context', 'tenant=acme');
    expect(encrypted.KeyId).toBe(sym.Arn);
    const ctFile = join(t.dataDir, 'ct.bin');
    writeFileSync(ctFile, Buffer.from(encrypted.CiphertextBlob, 'base64'));
    const decrypted = await aws('decrypt', '--ciphertext-blob', `fileb://${ctFile}`, '--encryption-context', 'tenant=acme');
    expect([decrypted.KeyId, Buffer.from(decrypted.Plaintext, 'base64').toString()]).toEqual([sym.Arn, 'aws cli secret']);
    expect(await failure(aws('decrypt', '--ciphertext-blob', `fileb://${ctFile}`))).toContain(
      '(InvalidCiphertextException) when calling the Decrypt operation',
    );
    const dataKey = await aws('generate-data-key', '--key-id', sym.Arn, '--key-spec', 'AES_256');
    expect(Buffer.from(dataKey.Plaintext, 'base64')).toHaveLength(32);
    writeFileSync(ctFile, Buffer.from(dataKey.CiphertextBlob, 'base64'));
    expect((await aws('decrypt', '--ciphertext-blob', `fileb://${ctFile}`)).Plaintext).toBe(dataKey.Plaintext);

    // Rotated on demand, the key still decrypts what it encrypted before, and encrypts under the new material.
    writeFileSync(ctFile, Buffer.from(encrypted.CiphertextBlob, 'base64'));
    await aws('rotate-key-on-demand', '--key-id', sym.KeyId);
    expect((await aws('list-key-rotations', '--key-id', sym.KeyId)).Rotations).toHaveLength(1);
    expect(
      Buffer.from((await aws('decrypt', '--ciphertext-blob', `fileb://${ctFile}`, '--encryption-context', 'tenant=acme')).Plaintext, 'base64').toString(),
    ).toBe('aws cli secret');

    // An HMAC key: generate-mac, then verify-mac with that MAC and with one byte changed.
    const hmac = (await aws('create-key', '--key-spec', 'HMAC_256', '--key-usage', 'GENERATE_VERIFY_MAC')).KeyMetadata;
    const mac = await aws('generate-mac', '--key-id', hmac.KeyId, '--message', `fileb://${plainFile}`, '--mac-algorithm', 'HMAC_SHA_256');
    expect([mac.KeyId, Buffer.from(mac.Mac, 'base64').length]).toEqual([hmac.Arn, 32]);
    const macFile = join(t.dataDir, 'mac.bin');
    writeFileSync(macFile, Buffer.from(mac.Mac, 'base64'));
    const verifyMac = () =>
      aws('verify-mac', '--key-id', hmac.KeyId, '--message', `fileb://${plainFile}`, '--mac-algorithm', 'HMAC_SHA_256', '--mac', `fileb://${macFile}`);
    expect((await verifyMac()).MacValid).toBe(true);
    const tampered = Buffer.from(mac.Mac, 'base64');
    tampered.writeUInt8(tampered.readUInt8(0) ^ 1, 0);
    writeFileSync(macFile, tampered);
    expect(await failure(verifyMac())).toContain('(KMSInvalidMacException) when calling the VerifyMac operation');
  });

  it("imports a P-256 key made and wrapped with openssl, as AWS's developer guide does it, and signs with it", async () => {
    const file = (name: string) => join(t.dataDir, `cli-import-${name}`);
    const openssl = (...args: string[]) => run('openssl', args, { env });
    await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('key.pem'));
    await openssl('pkcs8', '-topk8', '-nocrypt', '-outform', 'DER', '-in', file('key.pem'), '-out', file('key.der'));
    const { stdout: publicPem } = await openssl('pkey', '-in', file('key.pem'), '-pubout');

    const created = await aws('create-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY', '--origin', 'EXTERNAL');
    expect(created.KeyMetadata).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport' });
    const keyId: string = created.KeyMetadata.KeyId;
    const params = await aws('get-parameters-for-import', '--key-id', keyId, '--wrapping-algorithm', 'RSAES_OAEP_SHA_256', '--wrapping-key-spec', 'RSA_2048');
    writeFileSync(file('wrapping.der'), Buffer.from(params.PublicKey, 'base64'));
    writeFileSync(file('token.bin'), Buffer.from(params.ImportToken, 'base64'));
    await openssl(
      'pkeyutl',
      '-encrypt',
      '-in',
      file('key.der'),
      '-out',
      file('wrapped.bin'),
      '-inkey',
      file('wrapping.der'),
      '-keyform',
      'DER',
      '-pubin',
      '-pkeyopt',
      'rsa_padding_mode:oaep',
      '-pkeyopt',
      'rsa_oaep_md:sha256',
      '-pkeyopt',
      'rsa_mgf1_md:sha256',
    );
    await aws(
      'import-key-material',
      '--key-id',
      keyId,
      '--encrypted-key-material',
      `fileb://${file('wrapped.bin')}`,
      '--import-token',
      `fileb://${file('token.bin')}`,
      '--expiration-model',
      'KEY_MATERIAL_DOES_NOT_EXPIRE',
    );
    expect((await aws('describe-key', '--key-id', keyId)).KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    // The same token again: AWS's error by name.
    expect(
      await failure(
        aws(
          'import-key-material',
          '--key-id',
          keyId,
          '--encrypted-key-material',
          `fileb://${file('wrapped.bin')}`,
          '--import-token',
          `fileb://${file('token.bin')}`,
          '--expiration-model',
          'KEY_MATERIAL_DOES_NOT_EXPIRE',
        ),
      ),
    ).toContain('(InvalidImportTokenException)');

    const message = Buffer.from('signed with a key imported through the AWS CLI');
    writeFileSync(file('message.bin'), message);
    const signed = await aws(
      'sign',
      '--key-id',
      keyId,
      '--message',
      `fileb://${file('message.bin')}`,
      '--message-type',
      'RAW',
      '--signing-algorithm',
      'ECDSA_SHA_256',
    );
    expect(nodeVerify('sha256', message, createPublicKey(publicPem), Buffer.from(signed.Signature, 'base64'))).toBe(true);
  });

  it('is refused with a wrong secret', async () => {
    const bad = { ...env, AWS_SECRET_ACCESS_KEY: 'wrong'.repeat(8) };
    await expect(run('aws', ['--endpoint-url', t.url, 'kms', 'list-keys'], { env: bad })).rejects.toMatchObject({
      stderr: expect.stringContaining('InvalidSignatureException'),
    });
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

    expect(out).toMatchObject({
      alias_moved: true,
      tags: ['env', 'team'],
      tags_after_untag: ['team'],
      description: 'described by boto3',
      scheduled: { KeyState: 'PendingDeletion', PendingWindowInDays: 7, deletion_date_type: 'datetime' },
      after_cancel: 'Disabled',
      signs_again: true,
      bad_window: 'ValidationException: PendingWindowInDays must be between 7 and 30',
      alias_for_key_only: 'NotFoundException',
      reserved_tag: 'TagException: Tags beginning with aws: are reserved',
      default_policy_principal: 'arn:aws:iam::111122223333:root',
      policy_round_trip: true,
      malformed_policy: 'MalformedPolicyDocumentException',
      policy_names: ['default'],
      rotation: false,
      random_length: 48,
      key_stores: [
        ['tee', 'AWS_CLOUDHSM', 'CONNECTED'],
        ['yubihsm', 'AWS_CLOUDHSM', 'CONNECTED'],
      ],
      encrypt_signing_key: 'InvalidKeyUsageException',
      symmetric: {
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
        round_trip: true,
        key_id_is_arn: true,
        wrong_context: 'InvalidCiphertextException',
        data_key: 32,
        data_key_round_trip: true,
      },
      rotated: { rotations: 1, old_decrypts: true, new_material: true },
      mac: { length: 48, valid: true, tampered: 'KMSInvalidMacException' },
      tag_paginator: { pages: 3, tags: 6 },
    });
    expect(out.disabled).toMatch(/^DisabledException: arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36} is disabled\.$/);
    expect(out.pending).toMatch(/^KMSInvalidStateException: arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36} is pending deletion\.$/);
    expect(out.alias_paginator.pages).toBe(out.alias_paginator.aliases);
    expect(out.alias_paginator.aliases).toBeGreaterThanOrEqual(1);

    // Every key spec the backend holds: each of its algorithms signed by KMS, checked by `cryptography` and Verify.
    expect(Object.keys(out.specs).sort()).toEqual(signingSpecs().sort());
    for (const [spec, algs] of Object.entries(out.specs as Record<string, Record<string, boolean>>)) {
      expect({ spec, algs: Object.keys(algs).length > 0 }).toEqual({ spec, algs: true });
      for (const [alg, ok] of Object.entries(algs)) expect({ spec, alg, ok }).toEqual({ spec, alg, ok: true });
    }
  });
});
