import type { PolicyStateStore, SigningLedger } from '@kmsgate/policy';
import type { ApiKeyRepository } from './api-keys';
import type { AuditLog, AuditLogOptions, AuditReader } from './audit-log';
import type { DeviceLogRepository } from './device-logs';
import type { ImportTokenRepository } from './import-tokens';
import type { KeyRotationRepository } from './key-rotations';
import type { KeyRepository } from './keys';

/**
 * Everything the gateway keeps in its store, as one bundle: what `startGateway` receives and the
 * only way apps/server reaches stored state. `keys`, `apiKeys`, `rotations` and `importTokens` are
 * contracts (./repository.ts) with one implementation per database, and so are the signing gates'
 * state (kill switches, runtime policies, the signing ledger and the replay cache: @kmsgate/policy's
 * PolicyStateStore and SigningLedger), the device-log witness's state (./device-logs.ts) and the
 * hash-chained audit log (./audit-log.ts).
 */
export interface GatewayStore {
  readonly keys: KeyRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly rotations: KeyRotationRepository;
  readonly importTokens: ImportTokenRepository;
  /** Kill switches, runtime policies, the signing ledger and the replay cache (@kmsgate/policy's contracts). */
  readonly policyState: PolicyStateStore & SigningLedger;
  /** The device-log witness's entries, progress and lease. */
  readonly deviceLogs: DeviceLogRepository;
  /** Reads and verifies the audit log (read-only: what `kmsgate audit verify` and `audit tail` use). */
  readonly audit: AuditReader;
  /** Opens the hash-chained audit log for writing; rejects with AuditIntegrityError on a mirror that contradicts the store. */
  openAudit(options: AuditLogOptions): Promise<AuditLog>;
  /**
   * Brings every repository's view (their `view` methods) up to date with what was written
   * elsewhere: another process, another gateway. The request edge awaits it once per request, so
   * a write committed before a request arrived applies to it.
   */
  refresh(): Promise<void>;
  /**
   * `refresh()`, then `request` with the views that refresh confirmed: whatever `request` reads of a
   * view, at once or later in its asynchronous course, is at least as current as that refresh and
   * is served however long `request` runs (a shared store does not refuse it as stale midway). What
   * the request edge runs each request in. A failed refresh rejects and `request` does not run.
   */
  refreshFor<T>(request: () => T): Promise<T>;
  /** Closes the store; nothing may be called after. */
  close(): Promise<void>;
}
