import { MAX_AMOUNT, POLICY_REASONS, REASON_CODES, fromLimbSums, parseAmount, toLimbs } from '../src';

test('amounts: canonical decimal strings only', () => {
  expect(parseAmount('0')).toBe(0n);
  expect(parseAmount('18446744073709551616')).toBe(2n ** 64n);
  for (const bad of ['', '01', '-1', '+1', '1e9', '1_000', '1.0', ' 1', '0x10', 1 as unknown as string]) expect(parseAmount(bad)).toBeUndefined();
});

test('limbs: exact round trip, and sums of many large amounts recombine exactly', () => {
  for (const v of [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 64n + 12345n, MAX_AMOUNT]) expect(fromLimbSums(toLimbs(v).map(BigInt))).toBe(v);
  expect(() => toLimbs(MAX_AMOUNT + 1n)).toThrow(RangeError);
  expect(() => toLimbs(-1n)).toThrow(RangeError);
  // What SQLite's SUM() per limb column gives for 1000 amounts near 2^255: the limb sums exceed 2^32.
  const amounts = Array.from({ length: 1000 }, (_, i) => (MAX_AMOUNT >> 1n) - BigInt(i) * 7919n);
  const sums = Array.from({ length: 8 }, (_, l) => amounts.reduce((s, a) => s + BigInt(toLimbs(a)[l]!), 0n));
  expect(fromLimbSums(sums)).toBe(amounts.reduce((s, a) => s + a, 0n));
});

test("reason codes are UPPER_SNAKE, each with its one-line documentation, and the decoder's are included", () => {
  for (const [code, doc] of Object.entries(REASON_CODES)) {
    expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    expect(doc.length).toBeGreaterThan(20);
  }
  expect(REASON_CODES).toMatchObject({ SOLANA_MALFORMED: expect.any(String), KILL_SWITCH_GLOBAL: POLICY_REASONS.KILL_SWITCH_GLOBAL });
});
