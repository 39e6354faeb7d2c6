import { KmsError } from '@kmsgate/core';
import { defineOperation } from './operation';
import { customKeyStoreEntry, customKeyStoreNotFound } from './custom-key-stores';
import { decodeMarker, pageFields, pageSize } from './pagination';
import { CUSTOM_KEY_STORE_ID, LIMIT, MARKER } from './shapes';

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 1000;

/**
 * Every configured backend, in id order, as a custom key store whose CustomKeyStoreId is the
 * backend's id and whose ConnectionState comes from a live check of the device.
 */
export const DescribeCustomKeyStores = defineOperation({
  name: 'DescribeCustomKeyStores',
  access: 'signer',
  audit: 'none',
  input: {
    type: 'structure',
    members: {
      CustomKeyStoreId: CUSTOM_KEY_STORE_ID,
      CustomKeyStoreName: { type: 'string', min: 1, max: 256 },
      Limit: LIMIT,
      Marker: MARKER,
    },
  },
  async handler(input, ctx) {
    if (input.CustomKeyStoreId !== undefined && input.CustomKeyStoreName !== undefined)
      throw new KmsError('ValidationException', 'Specify either CustomKeyStoreId or CustomKeyStoreName, not both.');
    const all = [...ctx.backends.all()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const after = decodeMarker('DescribeCustomKeyStores', input.Marker, (s) => all.some((b) => b.id === s));
    let candidates = all.filter((b) => b.id > after);
    if (input.CustomKeyStoreId !== undefined) {
      candidates = candidates.filter((b) => b.id === input.CustomKeyStoreId);
      if (!all.some((b) => b.id === input.CustomKeyStoreId)) throw customKeyStoreNotFound(input.CustomKeyStoreId);
    }
    const size = pageSize(input.Limit, DEFAULT_LIMIT, MAX_LIMIT);
    const describe = (backends: typeof all) => ctx.backendCall(Promise.all(backends.map((b) => b.describe())));
    let described;
    let truncated: boolean;
    if (input.CustomKeyStoreName === undefined) {
      truncated = candidates.length > size;
      described = await describe(candidates.slice(0, size));
    } else {
      // A name filter needs every backend's name, which only describe() knows.
      const named = (await describe(candidates)).filter((d) => d.name === input.CustomKeyStoreName);
      if (named.length === 0 && after === '') throw customKeyStoreNotFound(`named ${input.CustomKeyStoreName}`);
      truncated = named.length > size;
      described = named.slice(0, size);
    }
    const now = ctx.now();
    const created = await Promise.all(described.map((d) => ctx.keys.customKeyStoreCreatedAt(d.id)));
    return {
      CustomKeyStores: described.map((d, i) => customKeyStoreEntry(d, created[i] ?? now)),
      ...pageFields('DescribeCustomKeyStores', truncated, described.at(-1)?.id),
    };
  },
});
