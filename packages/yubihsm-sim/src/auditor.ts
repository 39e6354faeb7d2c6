// The audit rules every command goes through, in the clear or inside a session (Logging and Logs
// page; Set Option page): a command is logged when its command-audit option is on; with force
// audit on and the Log Store full, a command that would be logged is refused with LOG_FULL before
// it runs. Session establishment is always allowed and only counted as an unlogged
// authentication, "so that it is always possible to retrieve logs and free up the Log Store".
import { Command, DeviceErrorCode, GetLogEntries, RESPONSE_ERROR } from '@kmsgate/yubihsm';
import { logTargets, type LogTargets } from './audit-targets';
import { errorFrame } from './frames';
import type { DeviceModel } from './handler';

/** The session-key field of commands sent in the clear. */
export const NO_SESSION = GetLogEntries.NO_OBJECT;

const SESSION_SETUP: ReadonlySet<number> = new Set([Command.CREATE_SESSION, Command.AUTHENTICATE_SESSION]);
/**
 * Run even when they cannot be logged: reading and releasing the log is how force audit is
 * unblocked, and every session command travels inside SESSION_MESSAGE (auditing that envelope
 * deadlocked old firmware, per libyubihsm). Our choice; hardware's list is undocumented.
 */
const LOG_MAINTENANCE: ReadonlySet<number> = new Set([Command.GET_LOG_ENTRIES, Command.SET_LOG_INDEX, Command.SESSION_MESSAGE]);

export interface AuditedCommand {
  command: number;
  payload: Uint8Array;
  /** Authentication key of the session, NO_OBJECT in the clear. */
  sessionKey: number;
  /** When the ids cannot be read from the bytes (AUTHENTICATE_SESSION names its key by session). */
  targets?: LogTargets;
}

/** Runs `run` (which returns the response frame) under the audit rules and logs it if required. */
export function runAudited(device: DeviceModel, cmd: AuditedCommand, run: () => Uint8Array): Uint8Array {
  if (!device.settings.isAudited(cmd.command)) return run();
  if (device.settings.forceAudit && device.log.full) {
    if (SESSION_SETUP.has(cmd.command)) {
      device.recordUnloggedAuth();
      return run();
    }
    if (!LOG_MAINTENANCE.has(cmd.command)) return errorFrame(DeviceErrorCode.LOG_FULL);
  }
  const response = run();
  const failed = response[0] === RESPONSE_ERROR;
  // The device reboots after a factory reset; the reset marker stands in for the command.
  if (cmd.command === Command.RESET_DEVICE && !failed) return response;
  // A log maintenance command that freed nothing still cannot be logged.
  if (device.settings.forceAudit && device.log.full) return response;
  const data = failed ? undefined : response.subarray(3);
  device.record({
    command: cmd.command,
    length: cmd.payload.length,
    sessionKey: cmd.sessionKey,
    ...(cmd.targets ?? logTargets(cmd.command, cmd.payload, data)),
    result: failed ? response[3]! : response[0]!,
  });
  return response;
}
