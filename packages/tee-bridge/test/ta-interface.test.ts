// The daemon's copy of the TA interface (src/ta-interface.ts) against the TA's own header,
// tee/ta/include/kmsgate_ta.h: a command id, a size or the UUID that drifts fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTESTATION_DOMAIN, MAX_SEAL_AAD_BYTES, MAX_SEAL_BYTES, MIN_SEAL_BYTES, SEAL_OVERHEAD_BYTES } from '@kmsgate/tee';
import {
  TA_ALGORITHM,
  TA_ATTESTATION_DOMAIN,
  TA_COMMAND,
  TA_EC_PUBLIC_KEY_BYTES,
  TA_HANDLE_BYTES,
  TA_INTERFACE_VERSION,
  TA_KEY_TYPE,
  TA_MAX_LABEL_BYTES,
  TA_MEASUREMENT_BYTES,
  TA_SEAL_OVERHEAD,
  TA_SIGNATURE_BYTES,
  TA_UUID,
} from '../src';

const HEADER = readFileSync(join(__dirname, '..', '..', '..', 'tee', 'ta', 'include', 'kmsgate_ta.h'), 'utf8');

function define(name: string): string {
  const m = new RegExp(`^#define ${name}\\s+(.+)$`, 'm').exec(HEADER);
  if (!m) throw new Error(`${name} is not defined in kmsgate_ta.h`);
  return m[1]!.trim();
}

const int = (name: string) => Number(define(name));

it('has the same command ids, each tagged with the interface version', () => {
  expect(int('KMSGATE_TA_INTERFACE_VERSION')).toBe(TA_INTERFACE_VERSION);
  const names = Object.keys(TA_COMMAND);
  expect(
    HEADER.match(/^#define KMSGATE_CMD_\w+/gm)!
      .map((d) => d.slice('#define KMSGATE_CMD_'.length))
      .sort(),
  ).toEqual([...names].sort());
  for (const [name, id] of Object.entries(TA_COMMAND)) {
    const n = /^KMSGATE_CMD\((0x[0-9a-f]+)\)$/i.exec(define(`KMSGATE_CMD_${name}`));
    expect(n).not.toBeNull();
    expect(((TA_INTERFACE_VERSION << 16) | Number(n![1])) >>> 0).toBe(id);
  }
});

it('has the same key types, algorithms and sizes', () => {
  for (const [name, v] of Object.entries(TA_KEY_TYPE)) expect(int(`KMSGATE_KEY_${name}`)).toBe(v);
  for (const [name, v] of Object.entries(TA_ALGORITHM)) expect(int(`KMSGATE_ALG_${name}`)).toBe(v);
  expect(int('KMSGATE_HANDLE_BYTES')).toBe(TA_HANDLE_BYTES);
  expect(int('KMSGATE_MAX_LABEL_BYTES')).toBe(TA_MAX_LABEL_BYTES);
  expect(int('KMSGATE_SIGNATURE_BYTES')).toBe(TA_SIGNATURE_BYTES);
  expect(int('KMSGATE_EC_PUBLIC_KEY_BYTES')).toBe(TA_EC_PUBLIC_KEY_BYTES);
  expect(int('KMSGATE_MEASUREMENT_BYTES')).toBe(TA_MEASUREMENT_BYTES);
  expect(int('KMSGATE_SEAL_NONCE_BYTES') + int('KMSGATE_SEAL_TAG_BYTES')).toBe(TA_SEAL_OVERHEAD);
  // The protocol's seal limits are the TA's.
  expect([int('KMSGATE_MIN_SEAL_BYTES'), int('KMSGATE_MAX_SEAL_BYTES'), int('KMSGATE_MAX_AAD_BYTES')]).toEqual([
    MIN_SEAL_BYTES,
    MAX_SEAL_BYTES,
    MAX_SEAL_AAD_BYTES,
  ]);
  expect(TA_SEAL_OVERHEAD).toBe(SEAL_OVERHEAD_BYTES);
});

it('has the same UUID (in the header, the Makefile and the daemon) and attestation domain', () => {
  const m = /TA_KMSGATE_UUID \\\s*\{ 0x([0-9a-f]{8}), 0x([0-9a-f]{4}), 0x([0-9a-f]{4}), \\\s*\{ ((?:0x[0-9a-f]{2},? ?){8}) \} \}/.exec(HEADER);
  expect(m).not.toBeNull();
  const node = m![4]!
    .split(',')
    .map((b) => b.trim().slice(2))
    .join('');
  expect(`${m![1]}-${m![2]}-${m![3]}-${node.slice(0, 4)}-${node.slice(4)}`).toBe(TA_UUID);
  const makefile = readFileSync(join(__dirname, '..', '..', '..', 'tee', 'ta', 'Makefile'), 'utf8');
  expect(makefile).toMatch(new RegExp(`^BINARY = ${TA_UUID}$`, 'm'));
  expect(JSON.parse(define('KMSGATE_ATTESTATION_DOMAIN'))).toBe(TA_ATTESTATION_DOMAIN);
  expect(TA_ATTESTATION_DOMAIN).toBe(ATTESTATION_DOMAIN);
});
