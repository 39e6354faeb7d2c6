/** What every ceremony command starts from: the mnemonic file, and progress lines for the operator. */
import { CeremonySecrets, MnemonicError } from '@kmsgate/yubihsm';
import { CliError, printable, type CliIo } from '../context';
import { readSecretFile } from './secret-files';

export function loadSecrets(mnemonicFile: string): CeremonySecrets {
  const text = readSecretFile(mnemonicFile, 'mnemonic file');
  try {
    return CeremonySecrets.fromMnemonic(text);
  } catch (e) {
    if (e instanceof MnemonicError) throw new CliError(`${printable(mnemonicFile)}: ${e.message}`);
    throw e;
  }
}

/** `[3/9] putting authentication key 0x0003 (keyadmin)…` on stderr. */
export function progressPrinter(io: CliIo): (step: number, total: number, text: string) => void {
  return (step, total, text) => io.stderr(`[${step}/${total}] ${text}…\n`);
}

export { hex4 } from '@kmsgate/yubihsm';
