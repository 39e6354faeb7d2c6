import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The credential sealing key.
 *
 * SigV4 is an HMAC: to check a request the server must hold the very secret the client signed
 * with, so the secret cannot be stored as a one-way hash the way the x-api-key value is. It is
 * instead sealed with AES-256-GCM under a key that lives in its own file beside the database.
 * A copy of the SQLite file alone (a backup, a support bundle, a stolen volume snapshot) then
 * reveals no usable credential; an attacker needs both files.
 */

/** File name of the sealing key inside the data directory. */
export const SEAL_KEY_FILE = 'credential.key';
/** AES-256 key length (FIPS 197). */
export const SEAL_KEY_BYTES = 32;
/** GCM nonce length recommended by NIST SP 800-38D §8.2 (96 bits, random). */
const NONCE_BYTES = 12;
/** Full 128-bit GCM tag (SP 800-38D §5.2.1.2); shorter tags only weaken forgery resistance. */
const TAG_BYTES = 16;
/** First byte of every sealed blob, so the format can change without guessing what a row holds. */
const SEAL_FORMAT_V1 = 0x01;
const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

/**
 * Reads `<dataDir>/credential.key`, creating it (mode 0600, 32 random bytes) on first use.
 * Refuses a key file that group or others may access, like ssh refuses a private key: a
 * readable key file would undo the point of keeping it apart from the database.
 */
export function loadOrCreateSealKey(dataDir: string): Uint8Array {
  if (typeof dataDir !== 'string' || dataDir.length === 0) {
    throw new TypeError('dataDir must be a non-empty string');
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SEAL_KEY_FILE);
  const existing = loadSealKey(dataDir);
  if (existing !== undefined) return existing;
  createSealKeyFile(path);
  return readSealKey(path);
}

/**
 * Reads `<dataDir>/credential.key` as `loadOrCreateSealKey` does, but never creates anything (not
 * even the data dir): undefined when there is no such file. For a caller that must decide first
 * whether a new key may be made (a shared database records which one its gateways hold).
 */
export function loadSealKey(dataDir: string): Uint8Array | undefined {
  if (typeof dataDir !== 'string' || dataDir.length === 0) {
    throw new TypeError('dataDir must be a non-empty string');
  }
  try {
    return readSealKey(join(dataDir, SEAL_KEY_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return undefined;
  }
}

function readSealKey(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`credential sealing key ${path} is not a regular file`);
    // POSIX permission bits mean nothing on Windows; there the directory ACL is what protects it.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new Error(
        `credential sealing key ${path} is accessible by group or others (mode ${mode}); ` + `refusing to use it. Restrict it to its owner: chmod 600 ${path}`,
      );
    }
    if (st.size !== SEAL_KEY_BYTES) {
      throw new Error(`credential sealing key ${path} must be exactly ${SEAL_KEY_BYTES} bytes, found ${st.size}`);
    }
    const key = new Uint8Array(SEAL_KEY_BYTES);
    let off = 0;
    while (off < SEAL_KEY_BYTES) {
      const n = readSync(fd, key, off, SEAL_KEY_BYTES - off, off);
      if (n === 0) throw new Error(`credential sealing key ${path} is truncated`);
      off += n;
    }
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * The server and the CLI may both start on an empty data directory at once. Writing a temp file
 * and hard-linking it into place means a reader never sees a half-written key, and the loser of
 * the race keeps the winner's key instead of overwriting it (which would orphan every secret the
 * winner already sealed).
 */
function createSealKeyFile(path: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const key = randomBytes(SEAL_KEY_BYTES);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    key.fill(0);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('sealKey must be a Uint8Array');
  if (key.length !== SEAL_KEY_BYTES) throw new RangeError(`sealKey must be ${SEAL_KEY_BYTES} bytes, got ${key.length}`);
}

/**
 * Seals `plaintext` as `0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16)`. The access key id is the AAD,
 * so a sealed secret copied onto another row no longer opens.
 */
export function sealCredential(sealKey: Uint8Array, accessKeyId: string, plaintext: Uint8Array): Uint8Array {
  checkKey(sealKey);
  if (typeof accessKeyId !== 'string' || accessKeyId.length === 0) {
    throw new TypeError('accessKeyId must be a non-empty string');
  }
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(accessKeyId, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const out = new Uint8Array(SEAL_OVERHEAD + body.length);
  out[0] = SEAL_FORMAT_V1;
  out.set(nonce, 1);
  out.set(body, 1 + NONCE_BYTES);
  out.set(cipher.getAuthTag(), 1 + NONCE_BYTES + body.length);
  return out;
}

/** Opens a blob made by `sealCredential`; throws if the key, the access key id or the blob differ. */
export function unsealCredential(sealKey: Uint8Array, accessKeyId: string, sealed: Uint8Array): Uint8Array {
  checkKey(sealKey);
  if (typeof accessKeyId !== 'string' || accessKeyId.length === 0) {
    throw new TypeError('accessKeyId must be a non-empty string');
  }
  if (!(sealed instanceof Uint8Array)) throw new TypeError('sealed must be a Uint8Array');
  if (sealed.length < SEAL_OVERHEAD || sealed[0] !== SEAL_FORMAT_V1) {
    throw new Error(`sealed credential for ${accessKeyId} has an unknown format`);
  }
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', sealKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(accessKeyId, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch (e) {
    throw new Error(`cannot unseal the SigV4 secret of ${accessKeyId}: ${SEAL_KEY_FILE} is not the key it was sealed with, ` + 'or the row was altered', {
      cause: e,
    });
  }
}
