import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REASON_CODES, policyToJson } from '@kmsgate/policy';
import { ConfigError, loadConfig, parseConfig } from '../src/config';
import { REPO_ROOT } from '../src/gateway';
import { runMain } from './helpers/main-process';

/**
 * The `policies:` and `replay:` sections of the configuration: examples/kmsgate.yaml loads and is
 * the same as docs/policy.md's worked examples; every kind of mistake refuses to start, naming the
 * field; and the real entry point exits 2 on a policy with a typo.
 */
const EXAMPLE = join(REPO_ROOT, 'examples', 'kmsgate.yaml');
const backends = [{ id: 'yubihsm', type: 'yubihsm', embedded: true }];
const parse = (policies: unknown, extra: Record<string, unknown> = {}) => parseConfig({ backends, policies, ...extra }, 'test', {});

describe('examples/kmsgate.yaml', () => {
  const config = loadConfig({ KMSGATE_CONFIG: EXAMPLE } as NodeJS.ProcessEnv);

  it('loads, with a policy for a Solana trading agent, a Cosmos validator operator and an Ethereum treasury bot', () => {
    expect(Object.fromEntries(Object.entries(config.policies).map(([k, p]) => [k, p.chain]))).toEqual({
      'alias/solana-trader': 'solana',
      'alias/cosmos-validator': 'cosmos',
      'alias/eth-treasury': 'ethereum',
    });
    expect(config.replay).toEqual({ windowSeconds: 120 });
    expect(config.policies['alias/eth-treasury']).toMatchObject({ caps: { native: { perTransaction: 2n * 10n ** 18n } } });
  });

  it('is what docs/policy.md shows as its worked examples', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'policy.md'), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n(policies:\n[\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as { policies: Record<string, unknown> });
    const documented: Record<string, unknown> = {};
    for (const b of blocks) Object.assign(documented, b.policies);
    for (const name of Object.keys(config.policies)) {
      expect([name, documented[name]]).toEqual([name, (parseYaml(readFileSync(EXAMPLE, 'utf8')) as { policies: Record<string, unknown> }).policies[name]]);
    }
    // And each parses to the same policy (a stale copy would differ here first).
    const parsed = parse(documented).policies;
    for (const [name, p] of Object.entries(config.policies)) expect(policyToJson(parsed[name]!)).toEqual(policyToJson(p));
  });
});

describe('docs/policy.md', () => {
  it("lists every reason code once, policy codes in evaluation order, then the decoder's", () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'policy.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Reason codes'), doc.indexOf('## Worked examples'));
    const rows = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual(Object.keys(REASON_CODES));
  });
});

describe('refuses to start, naming the field', () => {
  const sol = { chain: 'solana', programs: ['11111111111111111111111111111111'] };
  it.each<[string, unknown, RegExp]>([
    [
      'an unknown field (a typo)',
      { 'alias/a': { ...sol, caps: { native: { perTransacton: '1' } } } },
      /policies\.alias\/a\.caps\.native: Unrecognized key\(s\) in object: 'perTransacton'/,
    ],
    [
      'an amount that does not parse',
      { 'alias/a': { ...sol, caps: { native: { perTransaction: '5_000' } } } },
      /policies\.alias\/a\.caps\.native\.perTransaction: "5_000" is not an amount/,
    ],
    [
      'an amount as a YAML number',
      { 'alias/a': { ...sol, caps: { native: { rolling24h: 5000 } } } },
      /policies\.alias\/a\.caps\.native\.rolling24h: must be a quoted decimal string/,
    ],
    ['a negative amount', { 'alias/a': { ...sol, caps: { native: { perTransaction: '-1' } } } }, /perTransaction: "-1" is not an amount/],
    ['a zero cap', { 'alias/a': { ...sol, caps: { native: { rolling24h: '0' } } } }, /policies\.alias\/a\.caps\.native\.rolling24h: must be greater than zero/],
    ['a cap with no limit', { 'alias/a': { ...sol, caps: { native: {} } } }, /policies\.alias\/a\.caps\.native: set perTransaction, rolling24h or both/],
    ['an empty allowlist', { 'alias/a': { ...sol, programs: [] } }, /policies\.alias\/a\.programs: must not be empty/],
    ['an empty optional allowlist', { 'alias/a': { ...sol, recipients: [] } }, /policies\.alias\/a\.recipients: must not be empty/],
    ['a chain key without its allowlist', { 'alias/a': { chain: 'cosmos', chainIds: ['cosmoshub-4'] } }, /policies\.alias\/a\.messageTypes: Required/],
    ['a chain that does not exist', { 'alias/a': { chain: 'bitcoin' } }, /policies\.alias\/a\.chain: chain must be one of solana, cosmos, ethereum, generic/],
    [
      'a bech32 address with a bad checksum',
      { 'alias/a': { chain: 'cosmos', chainIds: ['c'], messageTypes: ['/x.Y'], recipients: ['cosmos1vmafl8f3s6uuzwnxkqz0eza47v6ecn0tfqrcl8'] } },
      /policies\.alias\/a\.recipients\.0: must be a lower-case bech32 address/,
    ],
    [
      'an EIP-55 address with a bad checksum',
      { 'alias/a': { chain: 'ethereum', chainIds: [1], recipients: ['0x60F91a742458Ae606572f40dd7df0A128E554ACB'] } },
      /policies\.alias\/a\.recipients\.0: must be a 0x-prefixed 20-byte hex address/,
    ],
    [
      'an asset that is not one of the chain',
      { 'alias/a': { ...sol, caps: { uatom: { perTransaction: '1' } } } },
      /policies\.alias\/a\.caps\.uatom: must be "native" \(lamports\) or a base58 token mint/,
    ],
    [
      'a time window that ends before it starts',
      { 'alias/a': { chain: 'generic', timeWindows: [{ from: '18:00', to: '08:00' }] } },
      /policies\.alias\/a\.timeWindows\.0\.to: from must be before to/,
    ],
    [
      'a selector that is neither a key id nor an alias',
      { 'my-key': { chain: 'generic' } },
      /policies\.my-key: must be a key id \(lower-case UUID\) or an alias name/,
    ],
    [
      'MsgExecuteContract allowed without contracts',
      { 'alias/a': { chain: 'cosmos', chainIds: ['c'], messageTypes: ['/cosmwasm.wasm.v1.MsgExecuteContract'] } },
      /policies\.alias\/a\.contracts: required when messageTypes allows/,
    ],
  ])('%s', (_what, policies, message) => {
    expect(() => parse(policies)).toThrow(ConfigError);
    expect(() => parse(policies)).toThrow(message);
  });

  it('a replay window out of range, or an unknown replay field', () => {
    expect(() => parse({}, { replay: { windowSeconds: 3601 } })).toThrow(/replay\.windowSeconds: Number must be less than or equal to 3600/);
    expect(() => parse({}, { replay: { window: 5 } })).toThrow(/replay: Unrecognized key\(s\) in object: 'window'/);
  });

  it('main.ts exits 2 on a policy file with a typo, and says which field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmsgate-policy-typo-'));
    try {
      const configPath = join(dir, 'kmsgate.yaml');
      writeFileSync(
        configPath,
        [
          'backends:',
          '  - id: yubihsm',
          '    type: yubihsm',
          '    embedded: true',
          'policies:',
          '  alias/trader:',
          '    chain: solana',
          '    programs: ["11111111111111111111111111111111"]',
          '    caps:',
          '      native:',
          '        perTransacton: "1000"',
          '',
        ].join('\n'),
      );
      const { status, stderr } = await runMain({ KMSGATE_CONFIG: configPath, KMSGATE_DATA_DIR: dir, PORT: '0' });
      expect(stderr).toContain("policies.alias/trader.caps.native: Unrecognized key(s) in object: 'perTransacton'");
      expect(status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
