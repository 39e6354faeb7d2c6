// The simulated TA's persistent storage, modelled on OP-TEE: a REE-FS-like state file holding the
// keys sealed with a key derived from the device's hardware-unique key (HUK), and a separate
// RPMB-like file holding the monotonic rollback counter (and, in this simulator, the HUK itself,
// which on a board lives in fuses). The counter's value at the time of writing is sealed into the
// state, so a restored older state file is detected and refused.
//
// THIS PROTECTS NOTHING: both files sit side by side on the host, readable by whoever runs the
// simulator. On a board the HUK never leaves the secure world and RPMB writes are authenticated by
// the eMMC itself; here an attacker who restores BOTH files rolls the state back undetected.
import { readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { writeFileAtomic } from '@kmsgate/core';

const STATE_FORMAT = 'kmsgate-tee-sim-state/1';
const RPMB_FORMAT = 'kmsgate-tee-sim-rpmb/1';
/** AES-256-GCM: 12-byte IV, 16-byte tag (NIST SP 800-38D). */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface StoredKey {
  handle: string;
  keyType: 'P256' | 'SECP256K1' | 'ED25519' | 'AES_256';
  label: string;
  /** EC scalar, Ed25519 seed or AES-256 key. */
  secret: Uint8Array;
}

export interface SealedContents {
  /** The rollback counter value this state was written under. */
  epoch: number;
  keys: StoredKey[];
}

export interface DeviceSecrets {
  huk: Uint8Array;
  counter: number;
}

export type StorageStatus = { ok: true } | { ok: false; reason: string };

export interface OpenedStorage {
  device: DeviceSecrets;
  keys: StoredKey[];
  status: StorageStatus;
  /** A note for the log when the state was recovered from an interrupted write. */
  recovered?: string;
}

/** The key that seals the state: HKDF-SHA256 of the HUK, as OP-TEE derives its secure-storage key. */
export function deriveKey(huk: Uint8Array, purpose: string, length = 32): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', huk, new TextEncoder().encode('kmsgate-tee-sim'), new TextEncoder().encode(purpose), length));
}

export class SimStorage {
  readonly statePath: string | undefined;
  readonly rpmbPath: string | undefined;

  constructor(statePath: string | undefined, rpmbPath: string | undefined) {
    this.statePath = statePath;
    this.rpmbPath = statePath === undefined ? undefined : (rpmbPath ?? `${statePath}.rpmb`);
  }

  /**
   * Loads both files and decides whether the sealed state may be served. Never writes over a file
   * it refuses, so an operator can inspect what was found.
   */
  open(): OpenedStorage {
    if (this.statePath === undefined) return { device: { huk: randomBytes32(), counter: 0 }, keys: [], status: { ok: true } };
    const rpmb = readJson(this.rpmbPath!);
    const state = readJson(this.statePath);
    if (rpmb === undefined) {
      const device = { huk: randomBytes32(), counter: 0 };
      if (state !== undefined) {
        return {
          device,
          keys: [],
          status: { ok: false, reason: `the sealed state ${this.statePath} exists but the device file ${this.rpmbPath} is missing, so it cannot be unsealed` },
        };
      }
      this.writeDevice(device);
      return { device, keys: [], status: { ok: true } };
    }
    let device: DeviceSecrets;
    try {
      device = parseDevice(rpmb);
    } catch (e) {
      return {
        device: { huk: randomBytes32(), counter: 0 },
        keys: [],
        status: { ok: false, reason: `the device file ${this.rpmbPath} is not valid: ${(e as Error).message}` },
      };
    }
    if (state === undefined) {
      if (device.counter === 0) return { device, keys: [], status: { ok: true } };
      return { device, keys: [], status: { ok: false, reason: `the sealed state ${this.statePath} is missing but the rollback counter is ${device.counter}` } };
    }
    let contents: SealedContents;
    try {
      contents = unseal(device.huk, state);
    } catch (e) {
      return {
        device,
        keys: [],
        status: {
          ok: false,
          reason: `the sealed state ${this.statePath} does not unseal (${(e as Error).message}): tampered with, or sealed by another device`,
        },
      };
    }
    if (contents.epoch < device.counter) {
      return {
        device,
        keys: [],
        status: {
          ok: false,
          reason: `rollback detected: the sealed state ${this.statePath} was written at counter ${contents.epoch}, but the rollback counter is ${device.counter} (an older copy was restored)`,
        },
      };
    }
    if (contents.epoch > device.counter + 1) {
      return {
        device,
        keys: [],
        status: { ok: false, reason: `the sealed state ${this.statePath} claims counter ${contents.epoch}, ahead of the rollback counter ${device.counter}` },
      };
    }
    let recovered: string | undefined;
    if (contents.epoch === device.counter + 1) {
      // The state was written but the counter update was not (a crash in between): roll forward.
      device.counter = contents.epoch;
      this.writeDevice(device);
      recovered = `rolled the counter forward to ${contents.epoch} after an interrupted write`;
    }
    return { device, keys: contents.keys, status: { ok: true }, ...(recovered && { recovered }) };
  }

  /** Seals the keys under counter + 1, then advances the counter: state first, counter second. */
  commit(device: DeviceSecrets, keys: readonly StoredKey[]): void {
    const epoch = device.counter + 1;
    if (this.statePath !== undefined) {
      writeFileAtomic(this.statePath, JSON.stringify(seal(device.huk, { epoch, keys: [...keys] }), null, 2) + '\n');
      this.writeDevice({ huk: device.huk, counter: epoch });
    }
    device.counter = epoch;
  }

  private writeDevice(device: DeviceSecrets): void {
    if (this.rpmbPath === undefined) return;
    writeFileAtomic(
      this.rpmbPath,
      JSON.stringify(
        {
          format: RPMB_FORMAT,
          note: 'tee-sim device file: the monotonic rollback counter (RPMB on a board) and the hardware-unique key (fuses on a board). Simulator use only.',
          counter: device.counter,
          huk: Buffer.from(device.huk).toString('hex'),
        },
        null,
        2,
      ) + '\n',
    );
  }
}

function randomBytes32(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function sealingKey(huk: Uint8Array): Uint8Array {
  return deriveKey(huk, 'secure-storage/v1');
}

function seal(huk: Uint8Array, contents: SealedContents): Record<string, unknown> {
  const plaintext = Buffer.from(
    JSON.stringify({
      epoch: contents.epoch,
      keys: contents.keys.map((k) => ({ handle: k.handle, keyType: k.keyType, label: k.label, secret: Buffer.from(k.secret).toString('hex') })),
    }),
  );
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(huk), iv);
  cipher.setAAD(Buffer.from(STATE_FORMAT));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  plaintext.fill(0);
  return {
    format: STATE_FORMAT,
    note: "tee-sim sealed state: keys encrypted with AES-256-GCM under a key derived from the device file's HUK. Simulator use only.",
    // Informational; the authoritative copy is inside the sealed blob.
    epoch: contents.epoch,
    iv: iv.toString('hex'),
    sealed: sealed.toString('hex'),
  };
}

function unseal(huk: Uint8Array, file: unknown): SealedContents {
  const f = file as { format?: unknown; iv?: unknown; sealed?: unknown };
  if (typeof f !== 'object' || f === null || f.format !== STATE_FORMAT) throw new Error(`not a ${STATE_FORMAT} file`);
  if (typeof f.iv !== 'string' || !/^[0-9a-f]{24}$/.test(f.iv)) throw new Error('bad iv');
  if (typeof f.sealed !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(f.sealed) || f.sealed.length < TAG_BYTES * 2) throw new Error('bad sealed blob');
  const blob = Buffer.from(f.sealed, 'hex');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(huk), Buffer.from(f.iv, 'hex'));
  decipher.setAAD(Buffer.from(STATE_FORMAT));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(blob.subarray(0, blob.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error('authentication tag mismatch');
  }
  const parsed = JSON.parse(plaintext.toString('utf8')) as { epoch: unknown; keys: unknown };
  plaintext.fill(0);
  if (!Number.isSafeInteger(parsed.epoch) || (parsed.epoch as number) < 1 || !Array.isArray(parsed.keys)) throw new Error('bad sealed contents');
  return {
    epoch: parsed.epoch as number,
    keys: (parsed.keys as Array<Record<string, string>>).map((k) => ({
      handle: String(k.handle),
      keyType: k.keyType as StoredKey['keyType'],
      label: String(k.label),
      secret: new Uint8Array(Buffer.from(String(k.secret), 'hex')),
    })),
  };
}

function parseDevice(json: unknown): DeviceSecrets {
  const d = json as { format?: unknown; counter?: unknown; huk?: unknown };
  if (typeof d !== 'object' || d === null || d.format !== RPMB_FORMAT) throw new Error(`not a ${RPMB_FORMAT} file`);
  if (!Number.isSafeInteger(d.counter) || (d.counter as number) < 0) throw new Error('bad counter');
  if (typeof d.huk !== 'string' || !/^[0-9a-f]{64}$/.test(d.huk)) throw new Error('bad huk');
  return { counter: d.counter as number, huk: new Uint8Array(Buffer.from(d.huk, 'hex')) };
}

/** undefined when the file does not exist; a file that is not JSON becomes `null` (refused later). */
function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
