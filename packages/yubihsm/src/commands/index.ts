/**
 * One codec module per YubiHSM 2 command. Each exports `CODE` and payload-level
 * `encodeRequest`/`decodeRequest`/`encodeResponse`/`decodeResponse`; `frame()` adds the
 * `cmd || len` header. The client encodes requests and decodes responses; the simulator does the
 * reverse with the same modules.
 */
export * as AuthenticateSession from './authenticate-session';
export * as CloseSession from './close-session';
export * as CreateSession from './create-session';
export * as DeleteObject from './delete-object';
export * as DeviceInfo from './device-info';
export * as Echo from './echo';
export * as GenerateAsymmetricKey from './generate-asymmetric-key';
export * as GetObjectInfo from './get-object-info';
export * as GetPseudoRandom from './get-pseudo-random';
export * as GetPublicKey from './get-public-key';
export * as ListObjects from './list-objects';
export * as PutAuthenticationKey from './put-authentication-key';
export * as ResetDevice from './reset-device';
export * as SessionMessage from './session-message';
export * as SignEcdsa from './sign-ecdsa';
export * as SignEddsa from './sign-eddsa';
export * as SignPkcs1 from './sign-pkcs1';
export * as SignPss from './sign-pss';
export type { ObjectHeader } from './object-header';
export type { Empty } from './empty';
export type { ObjectIdResponse } from './object-id';
