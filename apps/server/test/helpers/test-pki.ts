import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throw-away certificate authority for TLS tests, made with the openssl CLI in a temporary
 * directory (node:crypto cannot issue certificates; no private key is committed anywhere).
 */
const openssl = (args: string[]) => promisify(execFile)('openssl', args, { encoding: 'utf8' });

export interface TestPki {
  /** The CA certificate clients trust (`--ca-bundle`, an https.Agent's `ca`). */
  caFile: string;
  /** A server certificate for `localhost` and 127.0.0.1 signed by the CA, with its key (mode 0600). */
  issue(name: string): Promise<{ certFile: string; keyFile: string }>;
}

export async function createTestPki(dir: string): Promise<TestPki> {
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    '/CN=kmsgate test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  return {
    caFile,
    async issue(name) {
      const keyFile = join(dir, `${name}.key`);
      const certFile = join(dir, `${name}.pem`);
      const csr = join(dir, `${name}.csr`);
      await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`]);
      await openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext]);
      chmodSync(keyFile, 0o600);
      return { certFile, keyFile };
    },
  };
}
