import { KEY_STATES_FOR, keyArn, keyMaterialId, resolveKey } from '@kmsgate/core';
import { rotationRefusal } from '../rotation/rotate';
import { defineOperation } from './operation';
import { decodeMarker, pageFields, pageSize } from './pagination';
import { KEY_ID, LIMIT, MARKER } from './shapes';

/** AWS API reference, ListKeyRotations: Limit 1–1000, default 100. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * A symmetric key's completed rotations, oldest first (ROTATIONS_ONLY, the default), or every key
 * material including the first (ALL_KEY_MATERIAL). A marker is bound to its key and option.
 */
export const ListKeyRotations = defineOperation({
  name: 'ListKeyRotations',
  access: 'signer',
  audit: 'none',
  input: {
    type: 'structure',
    members: {
      KeyId: KEY_ID,
      IncludeKeyMaterial: { type: 'string', enum: ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] },
      Limit: LIMIT,
      Marker: MARKER,
    },
  },
  handler(input, ctx) {
    const key = resolveKey(ctx.keys, ctx.arn, input.KeyId, { operation: 'ListKeyRotations', states: KEY_STATES_FOR.ListKeyRotations, allowAliases: false });
    const refusal = rotationRefusal(key, ctx.arn);
    if (refusal) throw refusal;
    const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
    const listing = `ListKeyRotations/${key.keyId}/${all ? 'all' : 'rotations'}`;
    const after = decodeMarker(listing, input.Marker, (s) => /^(0|[1-9]\d{0,9})$/.test(s));
    const materials = ctx.rotations.materials(key);
    const current = materials[materials.length - 1]!.version;
    const listed = materials.filter((m) => (all || m.version > 0) && (after === '' || m.version > Number(after)));
    const page = listed.slice(0, pageSize(input.Limit, DEFAULT_LIMIT, MAX_LIMIT));
    const arn = keyArn(ctx.arn, key.keyId);
    return {
      Rotations: page.map((m) => ({
        KeyId: arn,
        KeyMaterialId: keyMaterialId(key.keyId, m.version),
        KeyMaterialState: m.version === current ? 'CURRENT' : 'NON_CURRENT',
        // Absent for the first material, as on AWS.
        ...(m.rotatedAt ? { RotationDate: m.rotatedAt, RotationType: m.rotationType } : {}),
      })),
      ...pageFields(listing, page.length < listed.length, page.at(-1) && String(page.at(-1)!.version)),
    };
  },
});
