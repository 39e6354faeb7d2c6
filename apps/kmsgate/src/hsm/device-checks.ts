/** Checks backup and restore make on the device before they move any key. */
import {
  BACKUP_WRAP_KEY,
  type CeremonySecrets,
  DeviceError,
  DeviceErrorCode,
  ObjectType,
  type YubiHsmClient,
  capabilityNames,
  objectLabel,
  opens,
} from '@kmsgate/yubihsm';
import { CliError } from '../context';
import { hex4 } from './ceremony-input';

/** Opens the keyadmin session, or says the device was not set up from this mnemonic. */
export async function keyAdminSession(keyadmin: YubiHsmClient, secrets: CeremonySecrets) {
  if (!(await opens(keyadmin))) {
    throw new CliError(
      `the device refuses this mnemonic's key admin key 0x0003 (fingerprint ${secrets.fingerprint}): ` +
        'it was not set up from this mnemonic (run npx kmsgate hsm setup with it first)',
    );
  }
  return keyadmin.deviceInfo();
}

/** The backup wrap key exists, was put from this mnemonic, and may do `capability`. */
export async function checkWrapKey(session: YubiHsmClient, secrets: CeremonySecrets, capability: bigint) {
  let info;
  try {
    info = await session.getObjectInfo(BACKUP_WRAP_KEY.id, ObjectType.WRAP_KEY);
  } catch (e) {
    if (e instanceof DeviceError && e.code === DeviceErrorCode.OBJECT_NOT_FOUND) {
      throw new CliError(`the device has no backup wrap key ${hex4(BACKUP_WRAP_KEY.id)} (run npx kmsgate hsm setup first)`);
    }
    throw e;
  }
  const label = new TextDecoder().decode(info.label);
  if (label !== objectLabel('backup-wrap', secrets.fingerprint)) {
    throw new CliError(
      `wrap key ${hex4(BACKUP_WRAP_KEY.id)} on the device (label ${JSON.stringify(label)}) was not put from this mnemonic (fingerprint ${secrets.fingerprint})`,
    );
  }
  if ((info.capabilities & capability) === 0n) {
    throw new CliError(`wrap key ${hex4(BACKUP_WRAP_KEY.id)} lacks the ${capabilityNames(capability).join(', ')} capability`);
  }
  return info;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
