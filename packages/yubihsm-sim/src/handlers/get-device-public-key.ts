// GET_DEVICE_PUBLIC_KEY: in the clear (and inside a session), no capability; the public half of
// the device key, as `ec-p256-yubico-authentication || X || Y`.
import { Algorithm, GetDevicePublicKey } from '@kmsgate/yubihsm';
import type { DeviceModel } from '../handler';

export function getDevicePublicKey(device: DeviceModel, payload: Uint8Array): Uint8Array {
  GetDevicePublicKey.decodeRequest(payload);
  return GetDevicePublicKey.encodeResponse({ algorithm: Algorithm.EC_P256_YUBICO_AUTHENTICATION, publicKey: device.deviceKey.publicKey.subarray(1) });
}
