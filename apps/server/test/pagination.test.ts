import {
  CreateAliasCommand,
  CreateKeyCommand,
  InvalidMarkerException,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Every listing AWS paginates (Limit, Marker → NextMarker, Truncated), followed past several pages,
 * and InvalidMarkerException for markers kmsgate did not issue for that listing.
 * (DescribeCustomKeyStores is paged in custom-key-stores.test.ts, which has several backends.)
 */
let t: TestGateway;
let kms: KMSClient;
const keys: string[] = [];
beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
  for (let i = 0; i < 3; i++) {
    const tags = Array.from({ length: 7 }, (_, j) => ({ TagKey: `tag-${String.fromCharCode(103 - j)}-${i}`, TagValue: `v${j}` }));
    keys.push((await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: tags }))).KeyMetadata!.KeyId!);
  }
  // 105 aliases: more than ListAliases' largest page (100), spread over the three keys (50 per key at most).
  for (let i = 0; i < 105; i++) await kms.send(new CreateAliasCommand({ AliasName: `alias/page-${String(i).padStart(3, '0')}`, TargetKeyId: keys[i % 3] }));
});
afterAll(async () => {
  await t.stop();
});

/** Follows NextMarker until Truncated is false; returns every item and the page count. */
async function collect<T>(
  fetch: (marker?: string) => Promise<{ items: T[]; Truncated?: boolean; NextMarker?: string }>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await fetch(marker);
    pages++;
    items.push(...page.items);
    expect(typeof page.Truncated).toBe('boolean');
    if (page.Truncated) expect(page.NextMarker).toBeTruthy();
    else expect(page.NextMarker).toBeUndefined();
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return { items, pages };
}

it('ListAliases pages through every alias, also filtered by key, and clamps Limit to 100', async () => {
  const all = await collect(async (Marker) => {
    const p = await kms.send(new ListAliasesCommand({ Limit: 10, Marker }));
    expect(p.Aliases!.length).toBeLessThanOrEqual(10);
    return { ...p, items: p.Aliases!.map((a) => a.AliasName!) };
  });
  expect(all.pages).toBe(11);
  expect(all.items).toEqual(Array.from({ length: 105 }, (_, i) => `alias/page-${String(i).padStart(3, '0')}`));

  const ofKey = await collect(async (Marker) => {
    const p = await kms.send(new ListAliasesCommand({ KeyId: keys[1], Limit: 4, Marker }));
    return { ...p, items: p.Aliases!.map((a) => a.TargetKeyId!) };
  });
  expect(ofKey.items).toHaveLength(35);
  expect(new Set(ofKey.items)).toEqual(new Set([keys[1]]));
  expect(ofKey.pages).toBe(9);

  const big = await kms.send(new ListAliasesCommand({ Limit: 1000 }));
  expect(big.Aliases).toHaveLength(100);
  expect(big.Truncated).toBe(true);
  const dflt = await kms.send(new ListAliasesCommand({}));
  expect(dflt.Aliases).toHaveLength(50);
});

it('ListResourceTags pages in tag-key order and binds its marker to the key', async () => {
  const tags = await collect(async (Marker) => {
    const p = await kms.send(new ListResourceTagsCommand({ KeyId: keys[0], Limit: 2, Marker }));
    expect(p.Tags!.length).toBeLessThanOrEqual(2);
    return { ...p, items: p.Tags!.map((x) => x.TagKey!) };
  });
  expect(tags.pages).toBe(4);
  expect(tags.items).toEqual([...tags.items].sort());
  expect(tags.items).toHaveLength(7);
  const first = await kms.send(new ListResourceTagsCommand({ KeyId: keys[0], Limit: 2 }));
  await expect(kms.send(new ListResourceTagsCommand({ KeyId: keys[1], Marker: first.NextMarker }))).rejects.toBeInstanceOf(InvalidMarkerException);
  expect((await kms.send(new ListResourceTagsCommand({ KeyId: keys[0], Limit: 1000 }))).Tags).toHaveLength(7);
});

it('ListKeys pages past several pages', async () => {
  const all = await collect(async (Marker) => {
    const p = await kms.send(new ListKeysCommand({ Limit: 1, Marker }));
    return { ...p, items: p.Keys!.map((k) => k.KeyId!) };
  });
  expect(all.pages).toBe(3);
  expect(all.items).toEqual([...keys].sort());
});

it('ListKeyPolicies has one page with the default policy and issues no markers', async () => {
  const p = await kms.send(new ListKeyPoliciesCommand({ KeyId: keys[0], Limit: 1 }));
  expect(p).toMatchObject({ PolicyNames: ['default'], Truncated: false });
  expect(p.NextMarker).toBeUndefined();
  await expect(kms.send(new ListKeyPoliciesCommand({ KeyId: keys[0], Marker: 'ZGVmYXVsdA' }))).rejects.toBeInstanceOf(InvalidMarkerException);
});

it('refuses a marker from another listing, or one that was altered', async () => {
  const keysPage = await kms.send(new ListKeysCommand({ Limit: 1 }));
  const aliasPage = await kms.send(new ListAliasesCommand({ Limit: 1 }));
  const tagPage = await kms.send(new ListResourceTagsCommand({ KeyId: keys[0], Limit: 1 }));
  const cases: [string, Record<string, unknown>][] = [
    ['ListAliases', { Marker: keysPage.NextMarker }],
    ['ListKeys', { Marker: aliasPage.NextMarker }],
    ['ListKeys', { Marker: tagPage.NextMarker }],
    ['ListResourceTags', { KeyId: keys[0], Marker: aliasPage.NextMarker }],
    ['ListAliases', { Marker: aliasPage.NextMarker!.slice(0, -2) }],
    ['ListAliases', { Marker: 'not a marker at all' }],
    ['DescribeCustomKeyStores', { Marker: keysPage.NextMarker }],
  ];
  for (const [op, body] of cases) {
    const r = await t.call(op, body);
    expect({ op, type: r.json.__type, message: r.json.message }).toEqual({
      op,
      type: 'InvalidMarkerException',
      message: 'The request was rejected because the marker that specifies where pagination should next begin is not valid.',
    });
  }
});
