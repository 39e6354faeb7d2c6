import {
  GLOBAL_KILL_SWITCH,
  type KillSwitchRecord,
  type LedgerAmount,
  type PolicyStateStore,
  type ReplayStore,
  type RuntimePolicyRecord,
  type SigningLedger,
} from '../src';

/** The storage interfaces in memory, for unit tests of the engine (packages/store has the SQLite ones). */
export class MemoryState implements PolicyStateStore, SigningLedger, ReplayStore {
  switches = new Map<string, KillSwitchRecord>();
  policies = new Map<string, RuntimePolicyRecord>();
  entries = new Map<number, { keyId: string; at: number; state: 'reserved' | 'committed'; amounts: readonly LedgerAmount[] }>();
  replays = new Map<string, { signature: Uint8Array; expires: number }>();
  #nextId = 1;
  transactions = 0;

  killSwitchesFor(keyId: string) {
    return { global: this.switches.get(GLOBAL_KILL_SWITCH), key: this.switches.get(keyId) };
  }
  listKillSwitches() {
    return [...this.switches.values()];
  }
  setKillSwitch(target: string, engaged: boolean, by: string, reason: string | null, now: Date) {
    if (engaged === this.switches.has(target)) return false;
    if (engaged) this.switches.set(target, { target, engagedAt: now, engagedBy: by, reason });
    else this.switches.delete(target);
    return true;
  }
  runtimePoliciesFor(selectors: readonly string[]) {
    return selectors.flatMap((s) => (this.policies.has(s) ? [this.policies.get(s)!] : []));
  }
  listRuntimePolicies() {
    return [...this.policies.values()];
  }
  putRuntimePolicy(selector: string, policy: string, by: string, now: Date) {
    this.policies.set(selector, { selector, policy, updatedAt: now, updatedBy: by });
  }
  deleteRuntimePolicy(selector: string) {
    return this.policies.delete(selector);
  }

  exclusive<T>(fn: () => T): T {
    this.transactions++;
    return fn();
  }
  countSince(keyId: string, since: number) {
    return [...this.entries.values()].filter((e) => e.keyId === keyId && e.at > since).length;
  }
  entryTimeSince(keyId: string, since: number, n: number) {
    const times = [...this.entries.values()].filter((e) => e.keyId === keyId && e.at > since).map((e) => e.at);
    return times.sort((a, b) => a - b)[n - 1];
  }
  sumSince(keyId: string, asset: string, since: number) {
    let sum = 0n;
    for (const e of this.entries.values()) if (e.keyId === keyId && e.at > since) for (const a of e.amounts) if (a.asset === asset) sum += a.amount;
    return sum;
  }
  reserve(keyId: string, at: number, _requestId: string, amounts: readonly LedgerAmount[]) {
    const id = this.#nextId++;
    this.entries.set(id, { keyId, at, state: 'reserved', amounts });
    return id;
  }
  commit(id: number) {
    this.entries.get(id)!.state = 'committed';
  }
  release(id: number) {
    this.entries.delete(id);
  }
  pruneBefore(before: number) {
    let n = 0;
    for (const [id, e] of this.entries)
      if (e.at < before) {
        this.entries.delete(id);
        n++;
      }
    return n;
  }

  find(fp: Uint8Array, now: number) {
    const r = this.replays.get(Buffer.from(fp).toString('hex'));
    return r && r.expires > now ? r.signature : undefined;
  }
  save(fp: Uint8Array, _keyId: string, signature: Uint8Array, expires: number) {
    this.replays.set(Buffer.from(fp).toString('hex'), { signature, expires });
  }
  pruneExpired(now: number) {
    let n = 0;
    for (const [k, r] of this.replays)
      if (r.expires <= now) {
        this.replays.delete(k);
        n++;
      }
    return n;
  }
}
