// ENCRYPT_CBC (firmware 2.3.1+).
import { Capability, EncryptCbc } from '@kmsgate/yubihsm';
import { aesCommand } from '../aes-keys';

export const encryptCbc = aesCommand(EncryptCbc, Capability.ENCRYPT_CBC, 'cbc', true);
