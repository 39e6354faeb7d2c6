/**
 * One codec module per YubiHSM 2 command. Each exports `CODE` and payload-level
 * `encodeRequest`/`decodeRequest`/`encodeResponse`/`decodeResponse`; `frame()` adds the
 * `cmd || len` header. The client encodes requests and decodes responses; the simulator does the
 * reverse with the same modules.
 */
export * as AuthenticateSession from './authenticate-session';
export * as ChangeAuthenticationKey from './change-authentication-key';
export * as CloseSession from './close-session';
export * as CreateSession from './create-session';
export * as DecryptCbc from './decrypt-cbc';
export * as DecryptEcb from './decrypt-ecb';
export * as DecryptOaep from './decrypt-oaep';
export * as DecryptPkcs1 from './decrypt-pkcs1';
export * as DeleteObject from './delete-object';
export * as DeriveEcdh from './derive-ecdh';
export * as DeviceInfo from './device-info';
export * as Echo from './echo';
export * as EncryptCbc from './encrypt-cbc';
export * as EncryptEcb from './encrypt-ecb';
export * as ExportWrapped from './export-wrapped';
export * as GenerateAsymmetricKey from './generate-asymmetric-key';
export * as GetDevicePublicKey from './get-device-public-key';
export * as GetLogEntries from './get-log-entries';
export * as GenerateHmacKey from './generate-hmac-key';
export * as GenerateSymmetricKey from './generate-symmetric-key';
export * as GenerateWrapKey from './generate-wrap-key';
export * as GetObjectInfo from './get-object-info';
export * as GetOpaque from './get-opaque';
export * as GetOption from './get-option';
export * as GetPseudoRandom from './get-pseudo-random';
export * as GetPublicKey from './get-public-key';
export * as GetStorageInfo from './get-storage-info';
export * as ImportWrapped from './import-wrapped';
export * as ListObjects from './list-objects';
export * as PutAsymmetricKey from './put-asymmetric-key';
export * as PutAuthenticationKey from './put-authentication-key';
export * as PutHmacKey from './put-hmac-key';
export * as PutOpaque from './put-opaque';
export * as PutSymmetricKey from './put-symmetric-key';
export * as PutWrapKey from './put-wrap-key';
export * as ResetDevice from './reset-device';
export * as SessionMessage from './session-message';
export * as SignAttestationCertificate from './sign-attestation-certificate';
export * as SetLogIndex from './set-log-index';
export * as SetOption from './set-option';
export * as SignEcdsa from './sign-ecdsa';
export * as SignEddsa from './sign-eddsa';
export * as SignHmac from './sign-hmac';
export * as SignPkcs1 from './sign-pkcs1';
export * as SignPss from './sign-pss';
export * as UnwrapData from './unwrap-data';
export * as VerifyHmac from './verify-hmac';
export * as WrapData from './wrap-data';
export type { ObjectHeader } from './object-header';
export { type AuthKeyMaterial, zeroAuthKeyMaterial } from './auth-key-material';
export type { Empty } from './empty';
export type { ObjectIdResponse } from './object-id';
export { CCM_NONCE_LENGTH, CCM_TAG_LENGTH, type CcmWrapped, joinCcmWrapped, splitCcmWrapped } from './ccm-wrapped';
