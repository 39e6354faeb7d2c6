// ENCRYPT_ECB (firmware 2.3.1+).
import { Capability, EncryptEcb } from '@kmsgate/yubihsm';
import { aesCommand } from '../aes-keys';

export const encryptEcb = aesCommand(EncryptEcb, Capability.ENCRYPT_ECB, 'ecb', true);
