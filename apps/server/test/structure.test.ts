import { join } from 'node:path';
import type { Principal } from '@kmsgate/store';
import { authorize } from '../src/auth/authenticate';
import { findOperation, KMSGATE_OPERATIONS, OPERATIONS } from '../src/operations';
import type { Operation } from '../src/operations/operation';
import { UNSUPPORTED } from '../src/operations/unsupported';
import { findCycles, importGraph } from './helpers/import-graph';

/** The shape of the request path that no single behaviour test would notice breaking. */
const every: [string, Operation][] = [OPERATIONS, KMSGATE_OPERATIONS, UNSUPPORTED].flatMap((t) => Object.entries(t));
const signer: Principal = { apiKeyId: 'ak_00000000000000bb', label: 'app', role: 'signer' };

describe('operations describe themselves', () => {
  test.each(every)('%s declares its access and its audit class', (name, op) => {
    expect(op.name).toBe(name);
    expect(['signer', 'admin']).toContain(op.access);
    expect(['none', 'admin', 'signing', 'usage']).toContain(op.audit);
    expect(findOperation(name)).toBe(op);
  });

  test("what changes state is admin-only and audited as admin; Sign is the signing pipeline's", () => {
    for (const [name, op] of every) {
      if (op.audit === 'admin') expect([name, op.access]).toEqual([name, 'admin']);
    }
    expect(every.filter(([, op]) => op.audit === 'signing').map(([name]) => name)).toEqual(['Sign']);
  });

  test('every use of a key other than Sign audits every outcome (class usage): the symmetric and MAC operations', () => {
    expect(
      every
        .filter(([, op]) => op.audit === 'usage')
        .map(([name]) => name)
        .sort(),
    ).toEqual([
      'Decrypt',
      'DeriveSharedSecret',
      'Encrypt',
      'GenerateDataKey',
      'GenerateDataKeyPair',
      'GenerateDataKeyPairWithoutPlaintext',
      'GenerateDataKeyWithoutPlaintext',
      'GenerateMac',
      'ReEncrypt',
      'VerifyMac',
    ]);
    for (const [, op] of every) if (op.audit === 'usage') expect(op.access).toBe('signer');
  });

  test('access is an allow-list: an operation that does not say signer is refused to signers', () => {
    const undeclared = { name: 'SomethingNew' } as unknown as Operation;
    expect(() => authorize(signer, undeclared)).toThrow(expect.objectContaining({ type: 'AccessDeniedException' }));
    expect(() => authorize(signer, { name: 'SomethingNew', access: 'admin' })).toThrow(expect.objectContaining({ type: 'AccessDeniedException' }));
    expect(() => authorize(signer, { name: 'SomethingNew', access: 'signer' })).not.toThrow();
  });
});

describe('imports', () => {
  test('apps/server/src has no import cycles', () => {
    expect(findCycles(importGraph(join(__dirname, '..', 'src')))).toEqual([]);
  });

  test('the cycle check finds a cycle (type imports count)', () => {
    expect(
      findCycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['c.ts']],
          ['c.ts', ['a.ts']],
          ['d.ts', ['a.ts']],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
