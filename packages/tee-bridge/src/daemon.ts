/**
 * The board-side bridge daemon: the bridge protocol server (server.ts) in front of the kmsgate TA
 * through the TEE Client API (ta-session.ts). On a board it loads OP-TEE's libteec; for the host
 * build it loads tee/host's library with the TA inside (host.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { BridgeClock, BridgeMode, KeyType } from '@kmsgate/tee';
import { buildHostLibrary, hostBuildHash } from './host';
import { startBridgeServer, type RunningBridgeServer } from './server';
import { TA_UUID } from './ta-interface';
import { TaSession } from './ta-session';

/**
 * What this source's TA generates (P-256, Ed25519 and AES-256 through the GP API, secp256k1
 * through mbed TLS): hello announces it only when the TA cannot be asked at start
 * (GET_KEY_TYPES). A TA that lacks one of them still refuses it with TEEC_ERROR_NOT_SUPPORTED.
 */
export const TA_KEY_TYPES: readonly KeyType[] = ['P256', 'SECP256K1', 'ED25519', 'AES_256'];
/** Where OP-TEE's tee-supplicant loads TAs from. */
export const TA_INSTALL_DIR = '/lib/optee_armtz';

export interface TeeBridgeOptions {
  socketPath: string;
  /** libteec on a board (e.g. /usr/lib/libteec.so.2); the host library for the host build. */
  libraryPath: string;
  /** TEEC_InitializeContext's name: null (the default TEE) on a board. */
  contextName: string | null;
  /** "real" only on a hardware TEE; OP-TEE under QEMU and the host build are "simulated". */
  mode: BridgeMode;
  /** hello.buildHash; default: the SHA-256 of the installed .ta file. */
  buildHash?: string;
  maxOutstanding?: number;
  callTimeoutMs?: number;
  log?: (line: string) => void;
  /** What the call timeout, request deadlines and the frame timeout are measured on (tests: a manual clock). */
  clock?: BridgeClock;
  /** The uid that may connect (SO_PEERCRED); default: the daemon's own, as the socket's 0600 mode says. */
  allowedUid?: number;
}

export interface RunningTeeBridge extends RunningBridgeServer {
  session: TaSession;
}

export async function startTeeBridge(options: TeeBridgeOptions): Promise<RunningTeeBridge> {
  const log = options.log ?? (() => undefined);
  const session = new TaSession({
    libraryPath: options.libraryPath,
    contextName: options.contextName,
    ...(options.callTimeoutMs !== undefined && { callTimeoutMs: options.callTimeoutMs }),
    ...(options.clock && { clock: options.clock }),
    log,
  });
  let keyTypes = TA_KEY_TYPES;
  try {
    await session.open();
    keyTypes = await session.keyTypes();
  } catch (e) {
    // Not fatal: tee-supplicant may come up later; every command retries the open.
    log(`no session to the TA yet, or it cannot say its key types (announcing ${TA_KEY_TYPES.join(', ')}): ${(e as Error).message}`);
  }
  let server: RunningBridgeServer;
  try {
    server = await startBridgeServer({
      socketPath: options.socketPath,
      executor: session,
      identity: { taUuid: TA_UUID, buildHash: options.buildHash ?? installedTaHash(), mode: options.mode, keyTypes: [...keyTypes] },
      ...(options.maxOutstanding !== undefined && { maxOutstanding: options.maxOutstanding }),
      ...(options.clock && { clock: options.clock }),
      allowedUid: options.allowedUid ?? process.getuid!(),
      log,
      name: 'tee-bridge',
    });
  } catch (e) {
    session.close();
    throw e;
  }
  return {
    ...server,
    session,
    async close() {
      await server.close();
      await server.idle();
      session.close();
    },
  };
}

/** The host build on a socket: the TA's code with its secure storage in `storageDir`. */
export async function startHostBridge(
  options: Omit<TeeBridgeOptions, 'libraryPath' | 'contextName' | 'mode' | 'buildHash'> & { storageDir: string },
): Promise<RunningTeeBridge> {
  const { storageDir, ...rest } = options;
  const libraryPath = buildHostLibrary();
  return startTeeBridge({ ...rest, libraryPath, contextName: storageDir, mode: 'simulated', buildHash: hostBuildHash(libraryPath) });
}

function installedTaHash(): string {
  try {
    return `ta-sha256-${createHash('sha256')
      .update(readFileSync(`${TA_INSTALL_DIR}/${TA_UUID}.ta`))
      .digest('hex')}`.slice(0, 128);
  } catch {
    return 'unknown';
  }
}
