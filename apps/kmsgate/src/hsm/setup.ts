/**
 * `kmsgate hsm setup`: the layout of packages/yubihsm/src/ceremony/layout.ts on the device, then the
 * passwords the gateway needs written to 0600 files in a 0700 directory, and a configuration
 * snippet that points at them. The mnemonic is never printed; each password is written once, to
 * its file, and never printed.
 */
import { join, resolve } from 'node:path';
import { CeremonyError, authKeyOf, domainMask, setupDevice } from '@kmsgate/yubihsm';
import { CliError, type CliIo } from '../context';
import { loadSecrets, progressPrinter } from './ceremony-input';
import { ensurePrivateDir, writeSecretFile } from './secret-files';

export interface SetupCliOptions {
  connector: string;
  mnemonicFile: string;
  reset: boolean;
  domains: number[];
  secretsDir: string;
  backendId: string;
}

/** The roles whose passwords live on the gateway host (the admin's never does). */
const HOST_ROLES = ['runtime', 'keyadmin', 'auditor'] as const;

export async function setup(opts: SetupCliOptions, io: CliIo): Promise<void> {
  const secrets = loadSecrets(opts.mnemonicFile);
  try {
    const say = progressPrinter(io);
    let result;
    try {
      result = await setupDevice({ connectorUrl: opts.connector, secrets, domains: domainMask(opts.domains), reset: opts.reset, progress: say });
    } catch (e) {
      if (e instanceof CeremonyError) throw new CliError(e.message);
      throw e;
    }
    const dir = resolve(opts.secretsDir);
    ensurePrivateDir(dir);
    const files = Object.fromEntries(HOST_ROLES.map((role) => [role, join(dir, `${role}.password`)])) as Record<(typeof HOST_ROLES)[number], string>;
    for (const role of HOST_ROLES) writeSecretFile(files[role], `${secrets.password(role)}\n`);
    io.stderr(
      `${result.outcome === 'created' ? 'set up' : 'checked (already set up from this mnemonic)'} YubiHSM 2 serial ${result.serial}, firmware ${result.firmware}; ` +
        `mnemonic fingerprint ${secrets.fingerprint}; passwords for ${HOST_ROLES.join(', ')} written to ${dir} (mode 0600)\n`,
    );
    io.stdout(
      [
        '# kmsgate.yaml: the backend for this device',
        'backends:',
        `  - id: ${opts.backendId}`,
        '    type: yubihsm',
        `    connectorUrl: ${opts.connector}`,
        `    serial: ${result.serial}`,
        `    authKeyId: ${authKeyOf('runtime').id}`,
        `    passwordFile: ${files.runtime}`,
        '    keyAdmin:',
        `      authKeyId: ${authKeyOf('keyadmin').id}`,
        `      passwordFile: ${files.keyadmin}`,
        `    domains: [${opts.domains.join(', ')}]`,
        '',
      ].join('\n'),
    );
  } finally {
    secrets.wipe();
  }
}
