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
