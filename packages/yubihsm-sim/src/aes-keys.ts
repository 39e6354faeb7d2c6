// ENCRYPT/DECRYPT_ECB/CBC: the symmetric key a command names and raw AES over whole blocks
// (no padding: the device takes and returns multiples of 16 bytes only).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { DeviceError, DeviceErrorCode, ObjectType } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from './access';
import type { SessionContext, SessionHandler } from './handler';
import type { StoredObject } from './object-store';

const BLOCK = 16;

/** Whole blocks, at least one; anything else is WRONG_LENGTH, checked before any key lookup. */
function requireBlocks(data: Uint8Array): void {
  if (data.length === 0 || data.length % BLOCK !== 0) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
}

/** The session and the key must both hold `capability` (encrypt-ecb, decrypt-cbc, ...). */
function symmetricKey(ctx: SessionContext, id: number, capability: bigint): StoredObject {
  const { authority } = ctx.session;
  requireCapability(authority, capability);
  const key = findVisible(ctx.device.store, authority, ObjectType.SYMMETRIC_KEY, id);
  requireObjectCapability(authority, key, capability);
  return key;
}

type AesMode = 'ecb' | 'cbc';

function aes(mode: AesMode, encrypt: boolean, key: Uint8Array, iv: Uint8Array | null, data: Uint8Array): Uint8Array {
  const name = `aes-${key.length * 8}-${mode}`;
  const cipher = encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

interface AesCodec {
  decodeRequest(payload: Uint8Array): { keyId: number; data: Uint8Array; iv?: Uint8Array };
  encodeResponse(res: { data: Uint8Array }): Uint8Array;
}

/** The handler of one of the four AES commands; they differ only in codec, capability, mode and direction. */
export function aesCommand(codec: AesCodec, capability: bigint, mode: AesMode, encrypt: boolean): SessionHandler {
  return (ctx, payload) => {
    const req = codec.decodeRequest(payload);
    requireBlocks(req.data);
    const key = symmetricKey(ctx, req.keyId, capability);
    return codec.encodeResponse({ data: aes(mode, encrypt, key.secret, req.iv ?? null, req.data) });
  };
}
