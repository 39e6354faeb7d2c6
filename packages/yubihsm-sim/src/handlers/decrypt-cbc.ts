// DECRYPT_CBC (firmware 2.3.1+).
import { Capability, DecryptCbc } from '@kmsgate/yubihsm';
import { aesCommand } from '../aes-keys';

export const decryptCbc = aesCommand(DecryptCbc, Capability.DECRYPT_CBC, 'cbc', false);
