export { Scp03Channel, MAX_MESSAGES_PER_SESSION, type ChannelOptions, type ChannelSide, type ChannelState, type SessionKeys } from './channel';
export { CHALLENGE_LENGTH, CRYPTOGRAM_LENGTH, cardCryptogram, hostCryptogram } from './cryptogram';
export {
  type AuthKey,
  DEFAULT_AUTH_KEY_ID,
  DerivationConstant,
  KEY_LENGTH,
  PASSWORD_ITERATIONS,
  PASSWORD_SALT,
  aesCmac,
  authKeyFromPassword,
  scp03Kdf,
} from './kdf';
export { MAC_LENGTH, commandMac, responseMac } from './mac';
export {
  ASYMMETRIC_SHARED_INFO,
  type AsymmetricSessionKeys,
  EC_P256_POINT_LENGTH,
  EC_P256_PUBLIC_KEY_LENGTH,
  RECEIPT_LENGTH,
  asymmetricSessionKeys,
  ecdhP256,
  generateP256,
  p256PublicKey,
  x963KdfSha256,
} from './asymmetric';
