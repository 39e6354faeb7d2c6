/**
 * The host build (tee/host): the kmsgate TA and small host implementations of the two GP APIs in
 * one shared library, compiled on first use with the machine's C compiler and Node's own OpenSSL
 * headers (make is incremental: an up-to-date library costs one make run). Debian has no OP-TEE,
 * so this is how CI and developers run the TA's real code. Nothing it stores is protected.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import koffi from 'koffi';

/** tee/host in this repository. */
export const HOST_BUILD_DIR = resolve(__dirname, '..', '..', '..', 'tee', 'host');
export const HOST_LIBRARY = join(HOST_BUILD_DIR, 'build', 'libkmsgate-tee-host.so');

/** Builds (or finds up to date) the host library; returns its path. */
export function buildHostLibrary(): string {
  try {
    execFileSync('make', ['-s', '-C', HOST_BUILD_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`building the host TA library failed (needs make and a C compiler): ${err.stderr?.toString().trim() || err.message}`);
  }
  return HOST_LIBRARY;
}

/** Identifies the host build in hello: a digest of the library (TA and host APIs together). */
export function hostBuildHash(libraryPath: string): string {
  return `host-${createHash('sha256').update(readFileSync(libraryPath)).digest('hex').slice(0, 16)}`;
}

/**
 * Test controls of the host TEE (tee/host/src/host.h); there is no such thing on a board.
 * `panicAt('sign', n)`: the TA panics after making the (n+1)-th signature from now, before
 * returning it; `panicAt('write', n)`: at the (n+1)-th secure-storage write, before writing.
 */
export interface HostTeeControls {
  panicAt(kind: 'sign' | 'write', skip?: number): void;
  clearFaults(): void;
  /** Signatures the host TEE has computed in this process. */
  signatures(): number;
  /** Bytes the storage may hold in all (0: no limit); beyond, writes fail with STORAGE_NO_SPACE. */
  setStorageLimit(bytes: number): void;
  /** true: TA calls that start from now block (a slow TA) until set back to false. */
  hold(on: boolean): void;
  /**
   * Puts OP-TEE's attestation PTA in place, reporting `digest` (32 bytes) as the TA's measurement
   * (signed with its own RSA-3072 key, as on a board); null takes it away (the default).
   */
  attestationPta(digest: Uint8Array | null): void;
  /** The TA UUID (16 bytes, TEE_UUID layout) the PTA was last asked to measure. */
  attestationPtaAsked(): Uint8Array;
}

export function hostTeeControls(libraryPath: string): HostTeeControls {
  const lib = koffi.load(libraryPath);
  const fault = lib.func('int kmsgate_host_fault(const char *kind, uint32_t skip)');
  const signatures = lib.func('uint64_t kmsgate_host_signatures(void)');
  const limit = lib.func('void kmsgate_host_set_storage_limit(uint64_t bytes)');
  const hold = lib.func('void kmsgate_host_hold(int on)');
  const pta = lib.func('int kmsgate_host_attestation_pta(const uint8_t *digest)');
  const ptaAsked = lib.func('void kmsgate_host_attestation_pta_asked(uint8_t *uuid)');
  return {
    panicAt(kind, skip = 0) {
      if (fault(kind, skip) !== 0) throw new RangeError(`unknown fault ${kind}`);
    },
    clearFaults() {
      fault('none', 0);
    },
    signatures: () => Number(signatures()),
    setStorageLimit(bytes) {
      limit(bytes);
    },
    hold(on) {
      hold(on ? 1 : 0);
    },
    attestationPta(digest) {
      if (digest !== null && (!(digest instanceof Uint8Array) || digest.length !== 32)) throw new RangeError('digest must be 32 bytes');
      if (pta(digest) !== 0) throw new Error('the host attestation PTA could not make its RSA key');
    },
    attestationPtaAsked() {
      const uuid = new Uint8Array(16);
      ptaAsked(uuid);
      return uuid;
    },
  };
}
