// How much data fits in one response inside a session, derived from the message buffer size.
import { FRAME_HEADER_LENGTH, MAC_LENGTH, MAX_MSG_SIZE } from '@kmsgate/yubihsm';

const AES_BLOCK = 16;
/** Outer `85 || len || SID || ciphertext || MAC`: the ciphertext is whole AES blocks. */
const MAX_CIPHERTEXT = Math.floor((MAX_MSG_SIZE - FRAME_HEADER_LENGTH - 1 - MAC_LENGTH) / AES_BLOCK) * AES_BLOCK;
/**
 * Inner response data: the inner frame plus at least one padding byte (ISO/IEC 7816-4, always
 * added) must fit in MAX_CIPHERTEXT. 3116 bytes for the 3136-byte buffer.
 */
export const MAX_SESSION_RESPONSE_DATA = MAX_CIPHERTEXT - 1 - FRAME_HEADER_LENGTH;
