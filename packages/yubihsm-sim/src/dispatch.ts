// The command table: which commands the simulator answers, in the clear and inside a session.
// Anything not listed here gets INVALID_COMMAND, so what is unimplemented is visible in one place.
import { Command } from '@kmsgate/yubihsm';
import type { PlainHandler, SessionHandler } from './handler';
import { closeSession } from './handlers/close-session';
import { changeAuthenticationKey } from './handlers/change-authentication-key';
import { decryptCbc } from './handlers/decrypt-cbc';
import { decryptEcb } from './handlers/decrypt-ecb';
import { decryptOaep } from './handlers/decrypt-oaep';
import { decryptPkcs1 } from './handlers/decrypt-pkcs1';
import { deleteObject } from './handlers/delete-object';
import { deriveEcdh } from './handlers/derive-ecdh';
import { deviceInfo } from './handlers/device-info';
import { echo } from './handlers/echo';
import { encryptCbc } from './handlers/encrypt-cbc';
import { encryptEcb } from './handlers/encrypt-ecb';
import { exportWrapped } from './handlers/export-wrapped';
import { generateAsymmetricKey } from './handlers/generate-asymmetric-key';
import { getDevicePublicKey } from './handlers/get-device-public-key';
import { getLogEntries } from './handlers/get-log-entries';
import { generateHmacKey } from './handlers/generate-hmac-key';
import { generateSymmetricKey } from './handlers/generate-symmetric-key';
import { generateWrapKey } from './handlers/generate-wrap-key';
import { getObjectInfo } from './handlers/get-object-info';
import { getOpaque } from './handlers/get-opaque';
import { getOption } from './handlers/get-option';
import { getPseudoRandom } from './handlers/get-pseudo-random';
import { getPublicKey } from './handlers/get-public-key';
import { getStorageInfo } from './handlers/get-storage-info';
import { importWrapped } from './handlers/import-wrapped';
import { listObjects } from './handlers/list-objects';
import { putAsymmetricKey } from './handlers/put-asymmetric-key';
import { putAuthenticationKey } from './handlers/put-authentication-key';
import { putHmacKey } from './handlers/put-hmac-key';
import { putOpaque } from './handlers/put-opaque';
import { putSymmetricKey } from './handlers/put-symmetric-key';
import { putWrapKey } from './handlers/put-wrap-key';
import { resetDevice } from './handlers/reset-device';
import { signAttestationCertificate } from './handlers/sign-attestation-certificate';
import { setLogIndex } from './handlers/set-log-index';
import { setOption } from './handlers/set-option';
import { signEcdsa } from './handlers/sign-ecdsa';
import { signEddsa } from './handlers/sign-eddsa';
import { signHmac } from './handlers/sign-hmac';
import { signPkcs1 } from './handlers/sign-pkcs1';
import { signPss } from './handlers/sign-pss';
import { unwrapData } from './handlers/unwrap-data';
import { verifyHmac } from './handlers/verify-hmac';
import { wrapData } from './handlers/wrap-data';

/**
 * Answered without a session. CREATE_SESSION, AUTHENTICATE_SESSION and SESSION_MESSAGE are the
 * other plaintext commands; they drive the session table and live in session-commands.ts.
 */
export const PLAIN_COMMANDS: ReadonlyMap<number, PlainHandler> = new Map<number, PlainHandler>([
  [Command.ECHO, (_device, payload) => echo(payload)],
  [Command.DEVICE_INFO, deviceInfo],
  [Command.GET_DEVICE_PUBLIC_KEY, getDevicePublicKey],
]);

/** Answered inside an authenticated session. */
export const SESSION_COMMANDS: ReadonlyMap<number, SessionHandler> = new Map<number, SessionHandler>([
  [Command.ECHO, (_ctx, payload) => echo(payload)],
  [Command.DEVICE_INFO, (ctx, payload) => deviceInfo(ctx.device, payload)],
  [Command.GET_DEVICE_PUBLIC_KEY, (ctx, payload) => getDevicePublicKey(ctx.device, payload)],
  [Command.GET_STORAGE_INFO, getStorageInfo],
  [Command.CHANGE_AUTHENTICATION_KEY, changeAuthenticationKey],
  [Command.CLOSE_SESSION, closeSession],
  [Command.RESET_DEVICE, resetDevice],
  [Command.GENERATE_ASYMMETRIC_KEY, generateAsymmetricKey],
  [Command.PUT_AUTHENTICATION_KEY, putAuthenticationKey],
  [Command.PUT_ASYMMETRIC_KEY, putAsymmetricKey],
  [Command.GET_PUBLIC_KEY, getPublicKey],
  [Command.SIGN_ECDSA, signEcdsa],
  [Command.SIGN_EDDSA, signEddsa],
  [Command.SIGN_PKCS1, signPkcs1],
  [Command.SIGN_PSS, signPss],
  [Command.DERIVE_ECDH, deriveEcdh],
  [Command.DECRYPT_PKCS1, decryptPkcs1],
  [Command.DECRYPT_OAEP, decryptOaep],
  [Command.PUT_OPAQUE, putOpaque],
  [Command.GET_OPAQUE, getOpaque],
  [Command.SIGN_ATTESTATION_CERTIFICATE, signAttestationCertificate],
  [Command.GET_OBJECT_INFO, getObjectInfo],
  [Command.LIST_OBJECTS, listObjects],
  [Command.DELETE_OBJECT, deleteObject],
  [Command.GET_PSEUDO_RANDOM, getPseudoRandom],
  [Command.GET_LOG_ENTRIES, getLogEntries],
  [Command.SET_LOG_INDEX, setLogIndex],
  [Command.SET_OPTION, setOption],
  [Command.GET_OPTION, getOption],
  [Command.PUT_WRAP_KEY, putWrapKey],
  [Command.GENERATE_WRAP_KEY, generateWrapKey],
  [Command.EXPORT_WRAPPED, exportWrapped],
  [Command.IMPORT_WRAPPED, importWrapped],
  [Command.WRAP_DATA, wrapData],
  [Command.UNWRAP_DATA, unwrapData],
  [Command.PUT_HMAC_KEY, putHmacKey],
  [Command.GENERATE_HMAC_KEY, generateHmacKey],
  [Command.SIGN_HMAC, signHmac],
  [Command.VERIFY_HMAC, verifyHmac],
  [Command.PUT_SYMMETRIC_KEY, putSymmetricKey],
  [Command.GENERATE_SYMMETRIC_KEY, generateSymmetricKey],
  [Command.ENCRYPT_ECB, encryptEcb],
  [Command.DECRYPT_ECB, decryptEcb],
  [Command.ENCRYPT_CBC, encryptCbc],
  [Command.DECRYPT_CBC, decryptCbc],
]);
