// DECRYPT_ECB (firmware 2.3.1+).
import { Capability, DecryptEcb } from '@kmsgate/yubihsm';
import { aesCommand } from '../aes-keys';

export const decryptEcb = aesCommand(DecryptEcb, Capability.DECRYPT_ECB, 'ecb', false);
