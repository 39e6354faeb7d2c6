import {
  GLOBAL_KILL_SWITCH,
  checkAdmissionRequest,
  decideAdmission,
  type Admission,
  type AdmissionRequest,
  type KillSwitchRecord,
  type LedgerAmount,
  type PolicyStateStore,
  type Reservation,
  type RuntimePolicyRecord,
  type SigningLedger,
} from '../src';

type Entry = { keyId: string; at: number; state: 'reserved' | 'committed'; fingerprint: string | undefined; amounts: readonly LedgerAmount[] };

/** The storage interfaces in memory, on the test's clock, for unit tests of the engine (packages/store and store-pg have the real ones). */
export class MemoryState implements PolicyStateStore, SigningLedger {
  switches = new Map<string, KillSwitchRecord>();
  policies = new Map<string, RuntimePolicyRecord>();
  entries = new Map<number, Entry>();
  replays = new Map<string, { signature: Uint8Array; expires: number }>();
  admissions = 0;
  #nextId = 1;

  constructor(
    readonly now: () => number = () => 0,
    readonly staleReservationMs = 60_000,
  ) {}

  killSwitchesFor(keyId: string) {
    return { global: this.switches.get(GLOBAL_KILL_SWITCH), key: this.switches.get(keyId) };
  }
  async listKillSwitches() {
    return [...this.switches.values()].sort((a, b) => (a.target < b.target ? -1 : 1));
  }
  async setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date) {
    if (target === '') throw new TypeError('target must be a non-empty string');
    if (engaged === this.switches.has(target)) return false;
    if (engaged) this.switches.set(target, { target, engagedAt: now, engagedBy: by, reason });
    else this.switches.delete(target);
    return true;
  }
  runtimePoliciesFor(selectors: readonly string[]) {
    return selectors.flatMap((s) => (this.policies.has(s) ? [this.policies.get(s)!] : []));
  }
  async listRuntimePolicies() {
    return [...this.policies.values()].sort((a, b) => (a.selector < b.selector ? -1 : 1));
  }
  async putRuntimePolicy(selector: string, policy: string, by: string, now: Date) {
    this.policies.set(selector, { selector, policy, updatedAt: now, updatedBy: by });
  }
  async deleteRuntimePolicy(selector: string) {
    return this.policies.delete(selector);
  }

  /** A ledger entry at a given time, for tests of what is read back. */
  insert(keyId: string, at: number, amounts: readonly LedgerAmount[] = []): number {
    const id = this.#nextId++;
    this.entries.set(id, { keyId, at, state: 'reserved', fingerprint: undefined, amounts });
    return id;
  }

  async admit(req: AdmissionRequest): Promise<Admission> {
    checkAdmissionRequest(req);
    this.admissions++;
    const now = this.now();
    const fp = Buffer.from(req.fingerprint).toString('hex');
    const decided = decideAdmission(req, {
      replayed: () => {
        const r = this.replays.get(fp);
        return r && r.expires > now ? r.signature : undefined;
      },
      pending: () => [...this.entries.values()].some((e) => e.state === 'reserved' && e.fingerprint === fp && e.at > now - this.staleReservationMs),
      count: (i) => this.#within(req.keyId, now - req.rateLimits[i]!.windowMs).length,
      sum: (i) => this.#sum(req.keyId, req.caps[i]!.asset, now - req.caps[i]!.windowMs),
    });
    if (decided) return decided;
    const id = this.insert(req.keyId, now, req.amounts);
    this.entries.get(id)!.fingerprint = req.replayWindowMs > 0 ? fp : undefined;
    return { kind: 'reserved', reservation: String(id) };
  }
  async complete(reservation: Reservation, replay: { fingerprint: Uint8Array; signature: Uint8Array; replayWindowMs: number } | undefined) {
    const e = this.entries.get(Number(reservation));
    if (e) Object.assign(e, { state: 'committed', fingerprint: undefined });
    if (replay) this.replays.set(Buffer.from(replay.fingerprint).toString('hex'), { signature: replay.signature, expires: this.now() + replay.replayWindowMs });
  }
  async release(reservation: Reservation) {
    if (!this.entries.has(Number(reservation)) && !/^[1-9][0-9]*$/.test(reservation)) throw new TypeError('reservation must be a reservation id from admit');
    this.entries.delete(Number(reservation));
  }
  async countWithin(keyId: string, windowMs: number) {
    return this.#within(keyId, this.now() - windowMs).length;
  }
  async entryTimeWithin(keyId: string, windowMs: number, n: number) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
    return this.#within(keyId, this.now() - windowMs)
      .map((e) => e.at)
      .sort((a, b) => a - b)[n - 1];
  }
  async sumWithin(keyId: string, asset: string, windowMs: number) {
    return this.#sum(keyId, asset, this.now() - windowMs);
  }
  async spendsWithin(keyId: string, asset: string, windowMs: number) {
    const byMs = new Map<number, bigint>();
    for (const e of this.#within(keyId, this.now() - windowMs))
      for (const a of e.amounts) if (a.asset === asset) byMs.set(e.at, (byMs.get(e.at) ?? 0n) + a.amount);
    return [...byMs].sort(([a], [b]) => a - b).map(([atMs, amount]) => ({ atMs, amount }));
  }
  async prune(retentionMs: number) {
    const now = this.now();
    for (const [id, e] of this.entries) {
      if (e.at < now - retentionMs) this.entries.delete(id);
      else if (e.state === 'reserved' && e.at <= now - this.staleReservationMs) e.fingerprint = undefined;
    }
    for (const [k, r] of this.replays) if (r.expires <= now) this.replays.delete(k);
  }

  #within(keyId: string, since: number): Entry[] {
    return [...this.entries.values()].filter((e) => e.keyId === keyId && e.at > since);
  }
  #sum(keyId: string, asset: string, since: number): bigint {
    let sum = 0n;
    for (const e of this.#within(keyId, since)) for (const a of e.amounts) if (a.asset === asset) sum += a.amount;
    return sum;
  }
}
