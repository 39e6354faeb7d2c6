import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListResourceTagsCommand,
  MalformedPolicyDocumentException,
  NotFoundException,
  PutKeyPolicyCommand,
  SignCommand,
  TagException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/** Aliases, tags, key policies, rotation status and GenerateRandom through the unmodified SDK. */
let t: TestGateway;
let kms: KMSClient;
beforeAll(async () => {
  t = await startTestGateway();
  kms = t.client();
});
afterAll(async () => {
  await t.stop();
});

const ACCOUNT = '111122223333';
const aliasArn = (name: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:${name}`;

async function newKey(extra: Record<string, unknown> = {}): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', ...extra }));
  return { keyId: KeyMetadata!.KeyId!, arn: KeyMetadata!.Arn! };
}

describe('aliases', () => {
  it('creates, moves (UpdateAlias), lists by key and deletes an alias', async () => {
    const a = await newKey();
    const b = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: a.keyId }));
    const created = (await kms.send(new ListAliasesCommand({ KeyId: a.keyId }))).Aliases!;
    expect(created).toEqual([expect.objectContaining({ AliasName: 'alias/moving', AliasArn: aliasArn('alias/moving'), TargetKeyId: a.keyId })]);

    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/moving', TargetKeyId: b.arn }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/moving' }))).KeyMetadata!.KeyId).toBe(b.keyId);
    expect((await kms.send(new ListAliasesCommand({ KeyId: a.keyId }))).Aliases).toEqual([]);
    const moved = (await kms.send(new ListAliasesCommand({ KeyId: b.arn }))).Aliases!;
    expect(moved).toHaveLength(1);
    expect(moved[0]!.CreationDate!.getTime()).toBe(created[0]!.CreationDate!.getTime());
    expect(moved[0]!.LastUpdatedDate!.getTime()).toBeGreaterThanOrEqual(created[0]!.LastUpdatedDate!.getTime());

    // Sign resolves alias names and alias ARNs.
    for (const KeyId of ['alias/moving', aliasArn('alias/moving')]) {
      const s = await kms.send(new SignCommand({ KeyId, Message: new Uint8Array(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
      expect(s.KeyId).toBe(b.arn);
    }

    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/moving' }));
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/moving' }))).rejects.toBeInstanceOf(NotFoundException);
    // The key itself is untouched.
    expect((await kms.send(new DescribeKeyCommand({ KeyId: b.keyId }))).KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('refuses aliases where AWS takes only a key id or key ARN', async () => {
    const a = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/not-a-target', TargetKeyId: a.keyId }));
    for (const [op, body] of [
      ['CreateAlias', { AliasName: 'alias/second', TargetKeyId: 'alias/not-a-target' }],
      ['UpdateAlias', { AliasName: 'alias/not-a-target', TargetKeyId: aliasArn('alias/not-a-target') }],
      ['ListAliases', { KeyId: 'alias/not-a-target' }],
      ['EnableKey', { KeyId: 'alias/not-a-target' }],
      ['DisableKey', { KeyId: 'alias/not-a-target' }],
      ['ScheduleKeyDeletion', { KeyId: 'alias/not-a-target' }],
      ['TagResource', { KeyId: 'alias/not-a-target', Tags: [] }],
      ['ListResourceTags', { KeyId: 'alias/not-a-target' }],
      ['GetKeyPolicy', { KeyId: 'alias/not-a-target' }],
      ['UpdateKeyDescription', { KeyId: 'alias/not-a-target', Description: 'x' }],
      ['GetKeyRotationStatus', { KeyId: 'alias/not-a-target' }],
    ] as const) {
      const r = await t.call(op, body);
      expect({ op, ...r.json }).toEqual({
        op,
        __type: 'NotFoundException',
        message: `Invalid keyId '${'TargetKeyId' in body ? body.TargetKeyId : body.KeyId}'`,
      });
    }
  });
});

describe('tags', () => {
  it('stores CreateKey tags, adds and overwrites with TagResource, removes with UntagResource', async () => {
    const { keyId } = await newKey({
      Tags: [
        { TagKey: 'tag1', TagValue: 'value1' },
        { TagKey: 'tag2', TagValue: 'value2' },
      ],
    });
    expect((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([
      { TagKey: 'tag1', TagValue: 'value1' },
      { TagKey: 'tag2', TagValue: 'value2' },
    ]);
    await kms.send(
      new TagResourceCommand({
        KeyId: keyId,
        Tags: [
          { TagKey: 'tag4', TagValue: 'value4' },
          { TagKey: 'tag2', TagValue: 'updated_value2' },
        ],
      }),
    );
    const listed = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
    expect(listed).toMatchObject({
      Tags: [
        { TagKey: 'tag1', TagValue: 'value1' },
        { TagKey: 'tag2', TagValue: 'updated_value2' },
        { TagKey: 'tag4', TagValue: 'value4' },
      ],
      Truncated: false,
    });
    await kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['tag2', 'never-there'] }));
    expect((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags!.map((x) => x.TagKey)).toEqual(['tag1', 'tag4']);
  });

  it('allows 50 tags per key and answers "Too many tags" beyond, changing nothing', async () => {
    const tags = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ TagKey: `k${i + from}`, TagValue: 'v' }));
    const { keyId } = await newKey({ Tags: tags(49) });
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: tags(1, 49) }));
    const err = await kms
      .send(
        new TagResourceCommand({
          KeyId: keyId,
          Tags: [
            { TagKey: 'k0', TagValue: 'changed' },
            { TagKey: 'one-more', TagValue: 'v' },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TagException);
    expect((err as Error).message).toBe('Too many tags');
    const after = (await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags!;
    expect(after).toHaveLength(50);
    expect(after.find((x) => x.TagKey === 'k0')!.TagValue).toBe('v');
    // Overwriting existing keys stays within the limit.
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'k0', TagValue: 'changed' }] }));
  });
});

describe('key policies', () => {
  it("returns AWS's default key policy for the account when CreateKey had none", async () => {
    const { keyId } = await newKey();
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(out.PolicyName).toBe('default');
    expect(out.Policy).toBe(`{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${ACCOUNT}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`);
    expect(JSON.parse(out.Policy!).Statement[0].Principal.AWS).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect(await kms.send(new ListKeyPoliciesCommand({ KeyId: keyId }))).toMatchObject({ PolicyNames: ['default'], Truncated: false });
  });

  it('stores and returns a policy byte for byte (CreateKey and PutKeyPolicy), and refuses what is not a JSON object', async () => {
    const odd = '{ "Version":"2012-10-17",\n\t"Statement" : [ ]  ,"Id":"x" }';
    const { keyId } = await newKey({ Policy: odd });
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).toBe(odd);
    const other = '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Sign","Resource":"*"}]}';
    await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: other }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).toBe(other);
    for (const bad of ['not json', '[1,2]', '"a string"']) {
      const err = await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: bad })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MalformedPolicyDocumentException);
    }
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).toBe(other);
    const otherName = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'custom' })).catch((e: unknown) => e);
    expect(otherName).toBeInstanceOf(NotFoundException);
    expect((otherName as Error).message).toBe('No such policy exists');
  });
});

describe('rotation status and GenerateRandom', () => {
  it('reports rotation as disabled for asymmetric keys, as AWS does', async () => {
    const { keyId, arn } = await newKey();
    expect(await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).toMatchObject({ KeyId: arn, KeyRotationEnabled: false });
  });

  it('draws random bytes from the device', async () => {
    const before = t.gateway.backends.simulators.get('yubihsm')!.stats().apiRequests;
    for (const n of [1, 32, 1024]) {
      const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: n }));
      expect(out.Plaintext!.length).toBe(n);
    }
    expect(t.gateway.backends.simulators.get('yubihsm')!.stats().apiRequests).toBeGreaterThan(before);
    const a = (await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }))).Plaintext!;
    const b = (await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }))).Plaintext!;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe('the signer role', () => {
  it('may read tags, policies, key stores and randomness, but not change keys, aliases, tags or policies', async () => {
    const { keyId } = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/signer-view', TargetKeyId: keyId }));
    const signer = t.newKey('signer');
    const as = (op: string, body: object) => t.call(op, body, { 'x-api-key': signer.apiKey });
    for (const [op, body] of [
      ['GenerateRandom', { NumberOfBytes: 8 }],
      ['ListResourceTags', { KeyId: keyId }],
      ['GetKeyPolicy', { KeyId: keyId }],
      ['ListKeyPolicies', { KeyId: keyId }],
      ['DescribeCustomKeyStores', {}],
      ['GetKeyRotationStatus', { KeyId: keyId }],
    ] as const)
      expect({ op, status: (await as(op, body)).status }).toEqual({ op, status: 200 });
    for (const [op, body] of [
      ['EnableKey', { KeyId: keyId }],
      ['DisableKey', { KeyId: keyId }],
      ['ScheduleKeyDeletion', { KeyId: keyId }],
      ['CancelKeyDeletion', { KeyId: keyId }],
      ['UpdateKeyDescription', { KeyId: keyId, Description: 'x' }],
      ['UpdateAlias', { AliasName: 'alias/signer-view', TargetKeyId: keyId }],
      ['TagResource', { KeyId: keyId, Tags: [] }],
      ['UntagResource', { KeyId: keyId, TagKeys: [] }],
      ['PutKeyPolicy', { KeyId: keyId, Policy: '{}' }],
    ] as const)
      expect({ op, type: (await as(op, body)).json.__type }).toEqual({ op, type: 'AccessDeniedException' });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Enabled');
  });
});
