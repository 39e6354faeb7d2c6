/**
 * `kmsgate hsm new-mnemonic`: 32 bytes from the device's GET_PSEUDO_RANDOM and 32 from the host,
 * mixed (mnemonic.ts), shown once as 24 BIP-39 words or written to a new 0600 file.
 */
import { randomBytes } from 'node:crypto';
import { FACTORY_PASSWORD, MNEMONIC_ENTROPY_BYTES, YubiHsmClient, isSessionRefusal, mnemonicFromRandomness } from '@kmsgate/yubihsm';
import { CliError, type CliIo } from '../context';
import { readSecretFile, writeSecretFile } from './secret-files';

export interface NewMnemonicOptions {
  connector: string;
  authKeyId: number;
  passwordFile?: string;
  out?: string;
}

export async function newMnemonic(opts: NewMnemonicOptions, io: CliIo): Promise<void> {
  const password = opts.passwordFile === undefined ? FACTORY_PASSWORD : readSecretFile(opts.passwordFile, 'password file').replace(/\r?\n$/, '');
  const client = new YubiHsmClient({ connectorUrl: opts.connector, authKeyId: opts.authKeyId, password, maxSessions: 1 });
  let device: Uint8Array;
  try {
    device = await client.getPseudoRandom(MNEMONIC_ENTROPY_BYTES);
  } catch (e) {
    if (isSessionRefusal(e)) throw new CliError(`the device refused a session with authentication key ${opts.authKeyId} and that password`);
    throw e;
  } finally {
    await client.close();
  }
  const host = new Uint8Array(randomBytes(MNEMONIC_ENTROPY_BYTES));
  const mnemonic = mnemonicFromRandomness(device, host);
  device.fill(0);
  host.fill(0);
  if (opts.out !== undefined) {
    writeSecretFile(opts.out, `${mnemonic}\n`, { exclusive: true });
    io.stderr(`wrote a new 24-word mnemonic to ${opts.out} (mode 0600). Copy it to paper or steel, then keep the file off any online machine.\n`);
    return;
  }
  io.stdout(`${mnemonic}\n`);
  io.stderr('This is the only time these 24 words are shown. Every authentication key and the backup wrap key are derived from them.\n');
}
