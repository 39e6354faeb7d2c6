/**
 * The device log as a second witness, run by the gateway itself (issue 10 item 4; `kmsgate hsm
 * audit` is the same check run by hand, and both keep their progress in the same store). Every
 * `intervalMs` it reads each configured YubiHSM 2's own log with the auditor key, reconciles the
 * device's signatures with kmsgate's audit log (packages/yubihsm/src/ceremony/reconcile.ts), keeps
 * the entries in the store, and only then releases them on the device. A key use the device logged
 * but kmsgate did not record (someone signed with the runtime password outside kmsgate) is logged
 * as an error with its entry and counted in /metrics and /health.
 *
 * Gateways beside the same HSM (and `kmsgate hsm audit`) take turns: a pass holds the backend's
 * witness lease in the store (DeviceLogRepository), so no two read and keep the same entries. A
 * timed pass that finds the lease held skips (the holder is doing the work); a release for a full
 * log waits for it.
 */
import { randomUUID } from 'node:crypto';
import { KEY_SPECS, hasKeyMaterial, isSupportedKeySpec, type KeyRecord } from '@kmsgate/core';
import { DEVICE_LOG_LEASE_MS, materialUseName, type DeviceLogRepository, type KeyRepository, type KeyRotationRepository } from '@kmsgate/store';
import {
  type DeviceLogRead,
  KEY_OBJECT_TYPE,
  YubiHsmClient,
  describeEntry,
  keyObject,
  logProblems,
  parseKeyHandle,
  readDeviceLog,
  reconcile,
} from '@kmsgate/yubihsm';
import type { Logger } from './log';
import type { Metrics } from './metrics';

/** One YubiHSM 2 backend whose devices the gateway audits. */
export interface DeviceLogTarget {
  backendId: string;
  connectorUrls: readonly string[];
  authKeyId: number;
  password: string;
  intervalMs: number;
}

export interface DeviceLogStatus {
  lastRunAt?: Date;
  lastSuccessAt?: Date;
  /** Device key uses that kmsgate's audit log does not explain, found since the gateway started. */
  unexplained: number;
  /** The last run's problems: a log that does not chain on, events the full log could not record. */
  problems: string[];
  /** Why the last run failed (a device unreachable, the auditor key refused), if it did. */
  error?: string;
}

export interface DeviceLogWitness {
  /** One pass over every target; a target's pass that is running is joined. Never rejects. */
  run(): Promise<void>;
  /**
   * A pass over one backend that starts after any running one (which may have read the log before
   * it filled): for a device that refused a command with LOG_FULL. Never rejects.
   */
  release(backendId: string): Promise<void>;
  status(): ReadonlyMap<string, DeviceLogStatus>;
  start(): void;
  stop(): Promise<void>;
}

export interface DeviceLogWitnessOptions {
  /** Where the entries read, the reconciliation's progress and the witness lease are kept. */
  logs: DeviceLogRepository;
  keys: KeyRepository;
  rotations: KeyRotationRepository;
  /** Brings the store's views up to date before a run (GatewayStore.refresh): another gateway may have created or rotated keys. */
  refresh: () => Promise<void>;
  targets: readonly DeviceLogTarget[];
  logger: Logger;
  metrics: Metrics;
  now: () => Date;
}

/**
 * The device object of each key of `backendId` that has one (handles are `<serial>:<object id>`),
 * named as reconcile names it: object IDs are per object type, so a symmetric or HMAC key's
 * object is named apart from an asymmetric key with the same ID.
 */
async function objectsOf(keys: KeyRepository, rotations: KeyRotationRepository, backendId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let after = ''; ;) {
    const page = await keys.listKeyIds(after, 1000);
    for (const keyId of page.keyIds) {
      const k: KeyRecord | undefined = keys.getKey(keyId);
      const id = k && k.backendId === backendId && hasKeyMaterial(k) && isSupportedKeySpec(k.keySpec) ? parseKeyHandle(k.handle)?.id : undefined;
      if (!k || id === undefined) continue;
      const type = KEY_OBJECT_TYPE[KEY_SPECS[k.keySpec].kind];
      out.set(keyId, keyObject(type, id));
      // A rotated symmetric key's later materials, as its records name their uses (materialUseName).
      for (const m of rotations.rotations(keyId)) {
        const mid = parseKeyHandle(m.handle)?.id;
        if (mid !== undefined) out.set(materialUseName(keyId, m.version), keyObject(type, mid));
      }
    }
    if (!page.truncated) return out;
    after = page.keyIds[page.keyIds.length - 1]!;
  }
}

export function createDeviceLogWitness(opts: DeviceLogWitnessOptions): DeviceLogWitness {
  const { logs, keys, rotations, refresh, targets, logger, metrics, now } = opts;
  const statuses = new Map<string, DeviceLogStatus>(targets.map((t) => [t.backendId, { unexplained: 0, problems: [] }]));
  const running = new Map<string, Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const holder = `gateway ${randomUUID()}`;

  /** Takes the backend's lease; with `wait`, polls (20 ms doubling to 250 ms) until it is free or a lease's length has passed. */
  async function takeLease(backendId: string, wait: boolean): Promise<boolean> {
    let waited = 0;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      if (await logs.takeLease(backendId, holder, DEVICE_LOG_LEASE_MS)) return true;
      if (!wait || waited >= DEVICE_LOG_LEASE_MS) return false;
      await new Promise((resolve) => setTimeout(resolve, delay));
      waited += delay;
    }
  }

  async function audit(target: DeviceLogTarget, wait: boolean): Promise<void> {
    const status = statuses.get(target.backendId)!;
    const at = now();
    let held = false;
    const clients: YubiHsmClient[] = [];
    try {
      held = await takeLease(target.backendId, wait);
      // Another witness holds it: that one is reading and keeping these devices' logs now.
      if (!held) return;
      status.lastRunAt = at;
      for (const connectorUrl of target.connectorUrls)
        clients.push(new YubiHsmClient({ connectorUrl, authKeyId: target.authKeyId, password: target.password, maxSessions: 1 }));
      // Device logs first, kmsgate's records second: a signature the device made before its log
      // was read has its record written by the time the records are read.
      const reads: DeviceLogRead[] = [];
      for (const c of clients) reads.push(await readDeviceLog(c, (serial) => logs.lastEntry(serial)));
      const entries = reads.flatMap((d) => d.fresh.map((e) => ({ ...e, serial: d.serial })));
      await refresh();
      const objectOf = await objectsOf(keys, rotations, target.backendId);
      const { result } = await logs.reconcileRound(target.backendId, holder, entries, objectOf, at, (recorded, carried) =>
        reconcile({ entries, recorded, carried, kmsgateObjects: new Set(objectOf.values()) }),
      );
      for (const [i, d] of reads.entries()) {
        const newest = d.fresh[d.fresh.length - 1];
        if (newest) await clients[i]!.setLogIndex(newest.number);
      }
      status.problems = logProblems(reads);
      status.unexplained += result.unexplained.length;
      delete status.error;
      status.lastSuccessAt = at;
      for (const u of result.unexplained)
        logger.error('device log: a key use kmsgate did not record', { backend: target.backendId, entry: describeEntry(u.entry), why: u.why });
      for (const p of status.problems) logger.error('device log: problem', { backend: target.backendId, problem: p });
      metrics.deviceLogRun(target.backendId, { at, matched: result.matched, unexplained: status.unexplained, problems: status.problems.length, ok: true });
    } catch (e) {
      status.lastRunAt = at;
      status.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      logger.error('device log: the reconciliation failed; retried on the next run', { backend: target.backendId, error: status.error });
      metrics.deviceLogRun(target.backendId, { at, matched: 0, unexplained: status.unexplained, problems: status.problems.length, ok: false });
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      if (held) await logs.dropLease(target.backendId, holder).catch(() => undefined);
    }
  }

  function runTarget(t: DeviceLogTarget, wait = false): Promise<void> {
    let p = running.get(t.backendId);
    if (!p) {
      p = audit(t, wait).finally(() => running.delete(t.backendId));
      running.set(t.backendId, p);
    }
    return p;
  }

  return {
    async run() {
      for (const t of targets) await runTarget(t);
    },
    async release(backendId) {
      const target = targets.find((t) => t.backendId === backendId);
      if (!target) return;
      await running.get(backendId);
      await runTarget(target, true);
    },
    status: () => statuses,
    start() {
      if (timers.length > 0) return;
      for (const t of targets) {
        const timer = setInterval(() => {
          void runTarget(t);
        }, t.intervalMs);
        timer.unref();
        timers.push(timer);
      }
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await Promise.all(running.values());
    },
  };
}
