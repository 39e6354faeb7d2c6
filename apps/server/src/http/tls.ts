/**
 * The certificate and private key the gateway serves HTTPS with (`server.tls`), read and checked
 * at start and again on SIGHUP: a key that does not belong to the certificate, or a key file that
 * group or others may read, is refused with one line naming the file.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../config';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** What `https.createServer` and `setSecureContext` take, plus what the log says about it. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  subject: string;
  notAfter: string;
  /** SHA-256 of the leaf certificate's DER, colon-separated hex (as node:crypto writes it). */
  fingerprint256: string;
}

export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const st = statSync(files.keyFile, { throwIfNoEntry: false });
  if (!st) throw new ConfigError(`server.tls.keyFile ${files.keyFile} does not exist`);
  if ((st.mode & 0o077) !== 0)
    throw new ConfigError(`server.tls.keyFile ${files.keyFile} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  const cert = read(files.certFile, 'certFile');
  const key = read(files.keyFile, 'keyFile');
  let x509: X509Certificate;
  try {
    // The first certificate of the file is the leaf; intermediates may follow it.
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`server.tls.certFile ${files.certFile} does not hold a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(`server.tls.keyFile ${files.keyFile} does not hold an unencrypted PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new ConfigError(`server.tls.keyFile ${files.keyFile} is not the private key of the certificate in ${files.certFile}`);
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), notAfter: new Date(x509.validTo).toISOString(), fingerprint256: x509.fingerprint256 };
}

function read(path: string, field: 'certFile' | 'keyFile'): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`server.tls.${field} ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
