import { createHash } from 'node:crypto';
import { spkiFromRawPublicKey } from '@kmsgate/core';
import { AUDITED_COMMANDS, Algorithm, AuditMode, Capability, YubiHsmClient } from '@kmsgate/yubihsm';

/** The layout's auditor (0x0005) and runtime (0x0004) authentication keys, put by hand (no ceremony). */
export const AUDITOR = { id: 0x0005, password: 'auditor-pw' };
export const RUNTIME = { id: 0x0004, password: 'runtime-pw' };

/** One P-256 signing key on a device set up for `kmsgate hsm audit`, as the store records it. */
export interface AuditedKey {
  objectId: number;
  /** `<serial>:<object id>`, the store's handle. */
  handle: string;
  publicKey: Uint8Array;
}

/**
 * A fresh simulator (factory password) made ready for `hsm audit`: the auditor and runtime keys, one
 * signing key in domain 1, every audited command logged and the log forced (a full log stops the device).
 */
export async function auditedDevice(connectorUrl: string): Promise<AuditedKey> {
  const factory = new YubiHsmClient({ connectorUrl, password: 'password' });
  try {
    await factory.putAuthenticationKey({
      id: AUDITOR.id,
      label: 'auditor',
      domains: 0xffff,
      capabilities: Capability.GET_LOG_ENTRIES | Capability.GET_OPTION,
      delegatedCapabilities: 0n,
      password: AUDITOR.password,
    });
    await factory.putAuthenticationKey({
      id: RUNTIME.id,
      label: 'runtime',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      delegatedCapabilities: 0n,
      password: RUNTIME.password,
    });
    const { id, deviceSerial } = await factory.generateAsymmetricKey({
      label: 'k',
      domains: 1,
      capabilities: Capability.SIGN_ECDSA,
      algorithm: Algorithm.EC_P256,
    });
    const publicKey = spkiFromRawPublicKey('ECC_NIST_P256', (await factory.getPublicKey(id)).publicKey);
    await factory.setCommandAudit(new Map(AUDITED_COMMANDS.map((c) => [c, AuditMode.ON])));
    await factory.setForceAudit(AuditMode.ON);
    return { objectId: id, handle: `${deviceSerial}:${id}`, publicKey };
  } finally {
    await factory.close();
  }
}

/** A signature made at the device with the runtime key, bypassing kmsgate (what `hsm audit` must flag unless recorded). */
export async function signDirectly(connectorUrl: string, objectId: number, text: string): Promise<void> {
  const runtime = new YubiHsmClient({ connectorUrl, authKeyId: RUNTIME.id, password: RUNTIME.password });
  try {
    await runtime.signEcdsa(objectId, createHash('sha256').update(text).digest());
  } finally {
    await runtime.close();
  }
}
