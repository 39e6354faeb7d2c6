/**
 * The audit log contract suite: the same cases against every AuditLog implementation. Each case
 * opens two logs on one fresh database (two writers sharing it: the server and a CLI on SQLite,
 * two gateways on PostgreSQL) and checks what the contract promises: one chain in the record
 * format and hash of docs/audit.md, whoever writes; group commit; bad input refused with nothing
 * written; every reader agreeing; an edited record found by verify.
 */
import { createHash } from 'node:crypto';
import { GENESIS_HASH, auditRecordHash, type AuditInput } from '../../src/audit';
import type { AuditLog } from '../../src/contract';

export interface AuditDatabase {
  /** Two logs on the same fresh database; `edit` changes a stored record's column as someone with write access to the database would. */
  open(): Promise<{ a: AuditLog; b: AuditLog; edit(seq: number, column: 'reason' | 'summary', value: string): Promise<void>; close(): Promise<void> }>;
}

function input(i: number, extra: Partial<AuditInput> = {}): AuditInput {
  return { requestId: `req-${i}`, apiKeyId: 'ak_00000000000000aa', operation: 'Sign', keyId: 'k1', decision: 'accept', ...extra };
}

export function auditContract(name: string, database: AuditDatabase): void {
  describe(`audit log contract: ${name}`, () => {
    let a: AuditLog;
    let b: AuditLog;
    let edit: (seq: number, column: 'reason' | 'summary', value: string) => Promise<void>;
    let close: () => Promise<void>;

    beforeEach(async () => {
      ({ a, b, edit, close } = await database.open());
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await close();
    });

    it('chains every record onto the one before, whichever log wrote it, in the format and hash of docs/audit.md', async () => {
      const signed = new Uint8Array([1, 2, 3]);
      const first = await a.append(input(1, { summary: { amount: 10n ** 20n, data: new Uint8Array([0xab]) }, signedDigest: signed }));
      const second = await b.append(input(2, { decision: 'deny', gate: 'policy', reason: 'daily_cap' }));
      const third = await a.appendGrouped(input(3));
      expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
      expect(first.prevHash).toBe(GENESIS_HASH);
      expect(second.prevHash).toBe(first.hash);
      expect(third.prevHash).toBe(second.hash);
      for (const r of [first, second, third]) {
        const { hash, ...rest } = r;
        expect(auditRecordHash(rest)).toBe(hash);
      }
      expect(first).toMatchObject({
        requestId: 'req-1',
        summary: '{"amount":"100000000000000000000","data":"ab"}',
        signedDigest: createHash('sha256').update(signed).digest('hex'),
        gate: null,
      });
      expect(second).toMatchObject({ decision: 'deny', gate: 'policy', reason: 'daily_cap', summary: null, signedDigest: null });
      // Every reader, through either log, returns the records as they were written.
      expect(await b.tail(2)).toEqual([second, third]);
      expect(await a.record(2)).toEqual(second);
      expect(await b.record(4)).toBeUndefined();
      expect(await a.records({ afterSeq: 0, decision: 'accept' })).toEqual([first, third]);
      expect(await b.records({ afterSeq: 1, keyId: 'k1', operation: 'Sign' })).toEqual([second, third]);
      expect(await b.verify()).toEqual({ ok: true, count: 3, lastHash: third.hash });
    });

    it('group commit: concurrent records from both logs form one chain, each resolving with its own record', async () => {
      const announced = a.expectGrouped();
      const written = await Promise.all([
        ...Array.from({ length: 40 }, (_, i) => a.appendGrouped(input(i))),
        ...Array.from({ length: 40 }, (_, i) => b.appendGrouped(input(100 + i))),
        a.appendGrouped(input(999), announced),
        b.append(input(1000)),
      ]);
      expect(written.map((r) => r.requestId)).toEqual([
        ...Array.from({ length: 40 }, (_, i) => `req-${i}`),
        ...Array.from({ length: 40 }, (_, i) => `req-${100 + i}`),
        'req-999',
        'req-1000',
      ]);
      expect(new Set(written.map((r) => r.seq)).size).toBe(82);
      const chain = await a.verify();
      expect(chain).toMatchObject({ ok: true, count: 82 });
      const byHash = new Map(written.map((r) => [r.hash, r]));
      expect(byHash.get((chain as { lastHash: string }).lastHash)?.seq).toBe(82);
    });

    it('refuses bad input, naming the field, and writes nothing', async () => {
      await expect(a.append({ ...input(1), requestId: '' })).rejects.toThrow(/requestId/);
      await expect(b.append({ ...input(1), decision: 'maybe' as never })).rejects.toThrow(/decision must be one of/);
      await expect(a.appendGrouped({ ...input(1), gate: 'firewall' as never })).rejects.toThrow(/gate/);
      const bad = b.expectGrouped();
      await expect(b.appendGrouped({ ...input(1), summary: () => 1 }, bad)).rejects.toThrow(/summary/);
      await expect(a.append({ ...input(1), signedDigest: 'ab' as never })).rejects.toThrow(/signedDigest/);
      expect(await a.tail(10)).toEqual([]);
      expect(await b.verify()).toMatchObject({ ok: true, count: 0 });
      // Called off, the announcement holds nothing up.
      expect((await b.appendGrouped(input(2))).seq).toBe(1);
    });

    it('stores what not every database can hold as text (lone surrogates, U+0000) as U+FFFD, the same on every store', async () => {
      const r = await a.append(input(1, { keyId: 'a\uD800b\u0000c', decision: 'deny' }));
      expect(r.keyId).toBe('a\uFFFDb\uFFFDc');
      expect(await b.record(1)).toEqual(r);
    });

    it('verify names an edited record', async () => {
      for (let i = 1; i <= 6; i++) await (i % 2 ? a : b).append(input(i));
      await edit(4, 'reason', 'edited');
      expect(await a.verify()).toEqual({ ok: false, count: 3, brokenAt: 4, reason: 'hash of record 4 does not match its contents (the record was edited)' });
    });
  });
}
