import type { AuditLog, AuditLogOptions } from '../audit';
import type { HsmLogStore } from '../hsm-log';
import type { SqlitePolicyState } from '../policy-state';
import type { ApiKeyRepository } from './api-keys';
import type { ImportTokenRepository } from './import-tokens';
import type { KeyRotationRepository } from './key-rotations';
import type { KeyRepository } from './keys';

/**
 * Everything the gateway keeps in its store, as one bundle: what `startGateway` receives and the
 * only way apps/server reaches stored state. `keys`, `apiKeys`, `rotations` and `importTokens` are
 * contracts (./repository.ts) with one implementation per database. The rest is still SQLite's own
 * classes, the part of issue 14 not done yet: the signing gates' state (kill switches, runtime
 * policies, the signing ledger and the replay cache), the hash-chained audit log and the device-log
 * witness's progress.
 */
export interface GatewayStore {
  readonly keys: KeyRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly rotations: KeyRotationRepository;
  readonly importTokens: ImportTokenRepository;
  /** Kill switches, runtime policies, the signing ledger and the replay cache (SQLite only so far). */
  readonly policyState: SqlitePolicyState;
  /** The device-log witness's entries and progress (SQLite only so far). */
  readonly deviceLogs: HsmLogStore;
  /** Opens the hash-chained audit log on this store (SQLite only so far); throws AuditIntegrityError on a mirror that contradicts it. */
  openAudit(options: AuditLogOptions): AuditLog;
  /**
   * Brings every repository's view (their `view` methods) up to date with what was written
   * elsewhere: another process, another gateway. The request edge awaits it once per request, so
   * a write committed before a request arrived applies to it.
   */
  refresh(): Promise<void>;
  /** Closes the store; nothing may be called after. */
  close(): Promise<void>;
}
