/**
 * Message authentication of the SCP03 channel (GPC_SPE_014 §6.2.4–6.2.5). The C-MAC covers the
 * previous chaining value and the whole outer frame as sent, header included; its length field
 * already counts the 8 MAC bytes. The chain becomes the full 16-byte CMAC. The R-MAC uses the
 * chain of the command it answers and does not advance it.
 */
import { WireWriter } from '../wire';
import { CmacKey } from './kdf';
import { BLOCK_SIZE } from './util';

/** Truncated MAC on the wire (S8 mode; python-yubihsm, yubihsm-shell `SCP_MAC_LEN`). */
export const MAC_LENGTH = 8;
/** The chaining value before the first MAC is zero (GPC_SPE_014 §6.2.4). */
export const INITIAL_CHAIN_LENGTH = BLOCK_SIZE;

function macInput(chain: Uint8Array, code: number, body: Uint8Array): Uint8Array {
  return new WireWriter()
    .bytes(chain)
    .u8(code)
    .u16(body.length + MAC_LENGTH)
    .bytes(body)
    .finish();
}

/** A session's S-MAC or S-RMAC, raw or with its CMAC subkeys already derived (what a channel keeps). */
export type MacKey = Uint8Array | CmacKey;

function cmac(key: MacKey, data: Uint8Array): Uint8Array {
  if (key instanceof CmacKey) return key.mac(data);
  const once = new CmacKey(key);
  try {
    return once.mac(data);
  } finally {
    once.zero();
  }
}

/** Full 16-byte C-MAC of `code || len || body` (body without the MAC); the new chaining value. */
export function commandMac(sMac: MacKey, chain: Uint8Array, code: number, body: Uint8Array): Uint8Array {
  return cmac(sMac, macInput(chain, code, body));
}

/** The 8-byte R-MAC of a response `code || len || body` answering the command that produced `chain`. */
export function responseMac(sRmac: MacKey, chain: Uint8Array, code: number, body: Uint8Array): Uint8Array {
  return cmac(sRmac, macInput(chain, code, body)).slice(0, MAC_LENGTH);
}
