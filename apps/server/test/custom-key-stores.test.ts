import {
  CreateKeyCommand,
  CustomKeyStoreNotFoundException,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  GenerateRandomCommand,
  InvalidMarkerException,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startTestGateway, type TestGateway } from './helpers/gateway';

/**
 * Each configured backend is a custom key store: DescribeCustomKeyStores lists them with a live
 * ConnectionState, CreateKey and GenerateRandom pick one by CustomKeyStoreId. Three embedded
 * simulators stand in for three devices.
 */
let t: TestGateway;
let kms: KMSClient;
const STORES = [
  { id: 'hsm-a', name: 'Rack A' },
  { id: 'hsm-b', name: 'Rack B' },
  { id: 'hsm-c', name: 'Rack C' },
];

beforeAll(async () => {
  t = await startTestGateway({ backends: STORES.map((s) => ({ ...s, type: 'yubihsm', embedded: true })) });
  kms = t.client();
});
afterAll(async () => {
  await t.stop();
});

const sim = (id: string) => t.gateway.backends.simulators.get(id)!;

describe('DescribeCustomKeyStores', () => {
  it('lists every backend, in id order, as a connected AWS_CLOUDHSM key store', async () => {
    const out = await kms.send(new DescribeCustomKeyStoresCommand({}));
    expect(out.Truncated).toBe(false);
    expect(out.NextMarker).toBeUndefined();
    expect(out.CustomKeyStores!.map((s) => ({ ...s, CreationDate: undefined }))).toEqual(
      STORES.map((s) => ({
        CustomKeyStoreId: s.id,
        CustomKeyStoreName: s.name,
        CustomKeyStoreType: 'AWS_CLOUDHSM',
        ConnectionState: 'CONNECTED',
        CreationDate: undefined,
      })),
    );
    for (const s of out.CustomKeyStores!) expect(s.CreationDate).toBeInstanceOf(Date);
    // The creation date is when the backend was first served, not "now" on every call.
    const again = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'hsm-a' }));
    expect(again.CustomKeyStores![0]!.CreationDate!.getTime()).toBe(out.CustomKeyStores![0]!.CreationDate!.getTime());
  });

  it('filters by id or name, and says CustomKeyStoreNotFoundException for neither', async () => {
    expect((await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'hsm-b' }))).CustomKeyStores!.map((s) => s.CustomKeyStoreName)).toEqual([
      'Rack B',
    ]);
    expect((await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: 'Rack C' }))).CustomKeyStores!.map((s) => s.CustomKeyStoreId)).toEqual([
      'hsm-c',
    ]);
    await expect(kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'cks-1234567890abcdef0' }))).rejects.toBeInstanceOf(
      CustomKeyStoreNotFoundException,
    );
    await expect(kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: 'Rack Z' }))).rejects.toBeInstanceOf(CustomKeyStoreNotFoundException);
    await expect(kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'hsm-a', CustomKeyStoreName: 'Rack A' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('pages with Limit and Marker, and refuses a marker it did not issue', async () => {
    const seen: string[] = [];
    let Marker: string | undefined;
    let pages = 0;
    do {
      const page = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 1, Marker }));
      pages++;
      seen.push(...page.CustomKeyStores!.map((s) => s.CustomKeyStoreId!));
      Marker = page.Truncated ? page.NextMarker : undefined;
    } while (Marker);
    expect(pages).toBe(3);
    expect(seen).toEqual(['hsm-a', 'hsm-b', 'hsm-c']);
    const two = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 2 }));
    expect(two.CustomKeyStores!.map((s) => s.CustomKeyStoreId)).toEqual(['hsm-a', 'hsm-b']);
    const rest = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 2, Marker: two.NextMarker }));
    expect(rest).toMatchObject({ Truncated: false });
    expect(rest.CustomKeyStores!.map((s) => s.CustomKeyStoreId)).toEqual(['hsm-c']);
    await expect(kms.send(new DescribeCustomKeyStoresCommand({ Marker: 'aHNtLWE' }))).rejects.toBeInstanceOf(InvalidMarkerException);
  });
});

describe('placing keys and drawing randomness', () => {
  it('CreateKey with CustomKeyStoreId generates the key in that device and shows Origin and CustomKeyStoreId', async () => {
    const before = STORES.map((s) => sim(s.id).device.objectCount());
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'hsm-b' }));
    expect(KeyMetadata).toMatchObject({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'hsm-b' });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata).toMatchObject({
      Origin: 'AWS_CLOUDHSM',
      CustomKeyStoreId: 'hsm-b',
    });
    expect(STORES.map((s) => sim(s.id).device.objectCount())).toEqual([before[0], before[1]! + 1, before[2]]);

    // Without one, the default (first) backend, presented as an ordinary AWS_KMS key.
    const plain = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    expect(plain.Origin).toBe('AWS_KMS');
    expect(plain.CustomKeyStoreId).toBeUndefined();
    expect(sim('hsm-a').device.objectCount()).toBe(before[0]! + 1);

    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', CustomKeyStoreId: 'nope' }))).rejects.toBeInstanceOf(
      CustomKeyStoreNotFoundException,
    );
  });

  it('GenerateRandom with CustomKeyStoreId asks that device', async () => {
    const before = STORES.map((s) => sim(s.id).stats().apiRequests);
    const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 64, CustomKeyStoreId: 'hsm-c' }));
    expect(out.Plaintext!.length).toBe(64);
    const after = STORES.map((s) => sim(s.id).stats().apiRequests);
    expect(after[2]).toBeGreaterThan(before[2]!);
    expect([after[0], after[1]]).toEqual([before[0], before[1]]);
    await expect(kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'nope' }))).rejects.toBeInstanceOf(CustomKeyStoreNotFoundException);
  });
});

describe('a device that goes away', () => {
  it('is FAILED with ConnectionErrorCode NETWORK_ERRORS, from a live check', async () => {
    await sim('hsm-c').close();
    const out = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'hsm-c' }));
    expect(out.CustomKeyStores![0]).toMatchObject({ CustomKeyStoreId: 'hsm-c', ConnectionState: 'FAILED', ConnectionErrorCode: 'NETWORK_ERRORS' });
    expect((await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'hsm-a' }))).CustomKeyStores![0]!.ConnectionState).toBe('CONNECTED');
  });
});
