// What DEVICE_INFO reports about the simulated device.
import { Algorithm, SIMULATOR_PART_NUMBER } from '@kmsgate/yubihsm';
import { KEY_SPECS } from './key-crypto';
import { AES_KEY_LENGTH, CCM_WRAP_KEY_LENGTH, HMAC_SPECS } from './symmetric-specs';

/**
 * Firmware 2.4.0: the first release with the 3136-byte message buffer and the DEVICE_INFO part
 * number page, which python-yubihsm and libyubihsm switch on from this version.
 */
export const FIRMWARE = { major: 2, minor: 4, build: 0 } as const;

export const DEFAULT_SERIAL = 1234567;

/**
 * DEVICE_INFO page 1 is a chip designator string on hardware. The simulator names itself instead
 * of imitating one, so `isSimulatedDevice` (and a gateway in production mode) can tell it apart.
 */
export const PART_NUMBER = SIMULATOR_PART_NUMBER;

/**
 * Only what the simulator implements, so a client that reads this list is not promised what it
 * cannot use. The ECDSA algorithm codes are listed because SIGN_ECDSA takes any hash size; the
 * RSA PKCS#1/PSS and MGF1 codes because SIGN_PKCS1 and SIGN_PSS take SHA-1/256/384/512.
 */
export const SUPPORTED_ALGORITHMS: readonly number[] = [
  ...KEY_SPECS.keys(),
  ...CCM_WRAP_KEY_LENGTH.keys(),
  ...HMAC_SPECS.keys(),
  ...AES_KEY_LENGTH.keys(),
  Algorithm.AES_ECB,
  Algorithm.AES_CBC,
  Algorithm.RSA_PKCS1_SHA1,
  Algorithm.RSA_PKCS1_SHA256,
  Algorithm.RSA_PKCS1_SHA384,
  Algorithm.RSA_PKCS1_SHA512,
  Algorithm.RSA_PSS_SHA1,
  Algorithm.RSA_PSS_SHA256,
  Algorithm.RSA_PSS_SHA384,
  Algorithm.RSA_PSS_SHA512,
  Algorithm.RSA_MGF1_SHA1,
  Algorithm.RSA_MGF1_SHA256,
  Algorithm.RSA_MGF1_SHA384,
  Algorithm.RSA_MGF1_SHA512,
  Algorithm.RSA_OAEP_SHA1,
  Algorithm.RSA_OAEP_SHA256,
  Algorithm.RSA_OAEP_SHA384,
  Algorithm.RSA_OAEP_SHA512,
  Algorithm.RSA_PKCS1_DECRYPT,
  Algorithm.EC_ECDSA_SHA1,
  Algorithm.EC_ECDH,
  Algorithm.OPAQUE_DATA,
  Algorithm.OPAQUE_X509_CERTIFICATE,
  Algorithm.AES128_YUBICO_AUTHENTICATION,
  Algorithm.EC_P256_YUBICO_AUTHENTICATION,
  Algorithm.EC_ECDSA_SHA256,
  Algorithm.EC_ECDSA_SHA384,
  Algorithm.EC_ECDSA_SHA512,
].sort((a, b) => a - b);
