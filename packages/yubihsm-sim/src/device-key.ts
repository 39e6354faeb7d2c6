// The device's own EC P-256 key pair, the static key of asymmetric session authentication
// (firmware 2.3+; GET_DEVICE_PUBLIC_KEY). Hardware makes it at manufacture and keeps it through a
// factory reset; the simulator makes one on first start and keeps it in the state file. Its
// private half is what lets a host trust it is talking to this device, so it is as secret (and as
// unprotected in the state file) as every other key of the simulator.
import { generateP256, p256PublicKey } from '@kmsgate/yubihsm';

export interface DeviceKey {
  /** The 32-byte scalar. */
  readonly privateKey: Uint8Array;
  /** Uncompressed `04 || X || Y`. */
  readonly publicKey: Uint8Array;
}

export function newDeviceKey(): DeviceKey {
  return generateP256();
}

export function deviceKeyFrom(privateKey: Uint8Array): DeviceKey {
  return { privateKey, publicKey: p256PublicKey(privateKey) };
}
