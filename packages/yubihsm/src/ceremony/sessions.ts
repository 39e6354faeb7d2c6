/** Sessions the ceremony commands open, one role (or the factory key) at a time. */
import { YubiHsmClient } from '../client';
import { Command } from '../codes';
import { DeviceError, DeviceErrorCode, ProtocolError } from '../errors';
import { DEFAULT_AUTH_KEY_ID } from '../scp03/kdf';
import { type Role, authKeyOf } from './layout';
import type { CeremonySecrets } from './mnemonic';

/** The factory default password of authentication key 1 (Yubico's Session concept page). */
export const FACTORY_PASSWORD = 'password';

export interface CeremonyConnection {
  connectorUrl: string;
  requestTimeoutMs?: number;
}

/** A problem the operator must act on; the message says what to do. */
export class CeremonyError extends Error {}

export function roleClient(c: CeremonyConnection, role: Role, secrets: CeremonySecrets): YubiHsmClient {
  return new YubiHsmClient({
    connectorUrl: c.connectorUrl,
    requestTimeoutMs: c.requestTimeoutMs,
    authKeyId: authKeyOf(role).id,
    password: secrets.password(role),
    maxSessions: 1,
  });
}

export function factoryClient(c: CeremonyConnection): YubiHsmClient {
  return new YubiHsmClient({
    connectorUrl: c.connectorUrl,
    requestTimeoutMs: c.requestTimeoutMs,
    authKeyId: DEFAULT_AUTH_KEY_ID,
    password: FACTORY_PASSWORD,
    maxSessions: 1,
  });
}

/**
 * Whether the device refused a session with these credentials: no key under that ID, or one that
 * holds other keys (the card cryptogram does not match, or the device rejects ours).
 */
export function isSessionRefusal(e: unknown): boolean {
  if (e instanceof DeviceError) {
    return (
      (e.command === Command.CREATE_SESSION || e.command === Command.AUTHENTICATE_SESSION) &&
      (e.code === DeviceErrorCode.OBJECT_NOT_FOUND || e.code === DeviceErrorCode.AUTHENTICATION_FAILED)
    );
  }
  return e instanceof ProtocolError && e.kind === 'cryptogram';
}

/** Opens a session (one ECHO) with the client's credentials: true if they work, false if refused. */
export async function opens(client: YubiHsmClient): Promise<boolean> {
  try {
    await client.echo(Uint8Array.of(0x6b));
    return true;
  } catch (e) {
    if (isSessionRefusal(e)) return false;
    throw e;
  }
}

/** Runs `f`, then closes the clients whatever happened. */
export async function closing<T>(clients: readonly YubiHsmClient[], f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}
