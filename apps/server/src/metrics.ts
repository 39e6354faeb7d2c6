/**
 * Prometheus metrics (docs/metrics.md lists every series). Each gateway has its own Registry, not
 * prom-client's global one, so several gateways can run in one process (the tests do).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeviceState } from '@kmsgate/core';

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
  /** A KMS request has been received (in-flight +1). */
  requestStarted(): void;
  /** …and answered (in-flight −1): `outcome` is 'ok' or the error `__type`. */
  requestFinished(operation: string, outcome: string, seconds: number): void;
  /** A request was refused by a gate (auth, decode, policy, replay, backend) with a stable reason code. */
  denial(gate: string, reason: string): void;
  /** A Sign was answered from the replay cache, without a device call. */
  replayHit(): void;
  backendCall(backendId: string, operation: string, seconds: number): void;
  /** `devices`: a device pool's devices, each as its last check found it. */
  setBackendUp(backendId: string, up: boolean, devices?: readonly DeviceState[]): void;
  /** A request was refused by a rate limit or budget: `limit` is source, api_key or open_endpoints. */
  throttled(limit: 'source' | 'api_key' | 'open_endpoints'): void;
  /** A request refused at the transport edge, before the app (counted like an answered request, without a duration). */
  edgeRefused(operation: string, outcome: string): void;
  /** Aggregated auth refusals waiting for their audit record. */
  setAuthRefusalEntries(n: number): void;
  /** A device-log reconciliation ran for a backend (device-log-witness.ts); `unexplained` is the total since start. */
  deviceLogRun(backendId: string, run: DeviceLogRun): void;
  render(): Promise<string>;
}

export interface DeviceLogRun {
  at: Date;
  ok: boolean;
  matched: number;
  unexplained: number;
  problems: number;
}

/** Latency buckets in seconds: from well under a millisecond (a simulator) to a slow device (a YubiHSM 2 RSA-4096 signature takes seconds). */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BACKEND_BUCKETS = REQUEST_BUCKETS;

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'kmsgate_requests_total',
    help: 'KMS requests answered, by operation and outcome (ok, or the AWS error __type).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kmsgate_request_duration_seconds',
    help: 'Time from receiving a KMS request to writing its response, by operation.',
    labelNames: ['operation'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const denials = new Counter({
    name: 'kmsgate_denials_total',
    help: 'Requests refused by a gate, by gate (auth, decode, policy, replay, backend) and stable reason code.',
    labelNames: ['gate', 'reason'] as const,
    registers: [registry],
  });
  const replays = new Counter({
    name: 'kmsgate_replay_hits_total',
    help: 'Sign requests answered from the replay cache without a device call.',
    registers: [registry],
  });
  const backendDuration = new Histogram({
    name: 'kmsgate_backend_call_duration_seconds',
    help: 'Duration of calls to a backend device (YubiHSM 2 or TEE), by backend id and the KMS operation that made them.',
    labelNames: ['backend', 'operation'] as const,
    buckets: BACKEND_BUCKETS,
    registers: [registry],
  });
  const backendUp = new Gauge({
    name: 'kmsgate_backend_up',
    help: '1 when the backend reported CONNECTED at its last check (every 15 s and on GET /health), else 0.',
    labelNames: ['backend'] as const,
    registers: [registry],
  });
  const deviceUp = new Gauge({
    name: 'kmsgate_backend_device_up',
    help: "For a YubiHSM 2 device pool: 1 when the device (by serial) reported CONNECTED at the backend's last check, else 0.",
    labelNames: ['backend', 'serial'] as const,
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'kmsgate_inflight_requests',
    help: 'KMS requests received and not yet answered.',
    registers: [registry],
  });
  const throttles = new Counter({
    name: 'kmsgate_throttled_total',
    help: 'Requests refused with ThrottlingException by a gateway limit, by limit (source, api_key, open_endpoints).',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const refusalEntries = new Gauge({
    name: 'kmsgate_auth_refusal_entries',
    help: 'Distinct (source, API key, reason) auth refusals counted since the last aggregated audit write.',
    registers: [registry],
  });
  const unreconciled = new Gauge({
    name: 'kmsgate_device_log_unreconciled_signatures',
    help: "Key uses a YubiHSM 2 logged that kmsgate's audit log does not explain (a signature made outside kmsgate), found since the gateway started.",
    labelNames: ['backend'] as const,
    registers: [registry],
  });
  const logProblems = new Gauge({
    name: 'kmsgate_device_log_problems',
    help: 'Problems the last device-log reconciliation found: a log that does not chain on, boots or authentications the full log could not record.',
    labelNames: ['backend'] as const,
    registers: [registry],
  });
  const logMatched = new Counter({
    name: 'kmsgate_device_log_matched_signatures_total',
    help: "Device signatures matched to kmsgate's accepted Sign records by the device-log reconciliation.",
    labelNames: ['backend'] as const,
    registers: [registry],
  });
  const logLastRun = new Gauge({
    name: 'kmsgate_device_log_last_run_timestamp_seconds',
    help: 'When the device-log reconciliation last ran for the backend (Unix time).',
    labelNames: ['backend'] as const,
    registers: [registry],
  });
  const logLastSuccess = new Gauge({
    name: 'kmsgate_device_log_last_success_timestamp_seconds',
    help: 'When the device-log reconciliation last completed for the backend (Unix time); older than the interval means it is failing.',
    labelNames: ['backend'] as const,
    registers: [registry],
  });
  return {
    registry,
    contentType: registry.contentType,
    requestStarted: () => inflight.inc(),
    requestFinished(operation, outcome, seconds) {
      inflight.dec();
      requests.inc({ operation, outcome });
      duration.observe({ operation }, seconds);
    },
    denial: (gate, reason) => denials.inc({ gate, reason }),
    replayHit: () => replays.inc(),
    throttled: (limit) => throttles.inc({ limit }),
    edgeRefused: (operation, outcome) => requests.inc({ operation, outcome }),
    setAuthRefusalEntries: (n) => refusalEntries.set(n),
    backendCall: (backend, operation, seconds) => backendDuration.observe({ backend, operation }, seconds),
    setBackendUp: (backend, up, devices = []) => {
      backendUp.set({ backend }, up ? 1 : 0);
      for (const d of devices) deviceUp.set({ backend, serial: String(d.serial) }, d.connectionState === 'CONNECTED' ? 1 : 0);
    },
    deviceLogRun(backend, run) {
      const t = run.at.getTime() / 1000;
      logLastRun.set({ backend }, t);
      unreconciled.set({ backend }, run.unexplained);
      logProblems.set({ backend }, run.problems);
      if (run.ok) {
        logLastSuccess.set({ backend }, t);
        logMatched.inc({ backend }, run.matched);
      }
    },
    render: () => registry.metrics(),
  };
}
