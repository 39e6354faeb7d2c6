import { equalBytes, utf8OrUndefined } from '../bytes';
import { fail, guard } from '../errors';

export interface Codec<T> {
  decode(input: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

/**
 * Decodes with the cosmjs-types codec and requires that re-encoding gives back the same bytes.
 * The generated decoders skip unknown fields, let a later duplicate win and ignore wire types of
 * known fields; requiring the canonical encoding (field order, no defaults, minimal varints, no
 * unknown or duplicate fields) means what we summarise is exactly what the chain decodes.
 */
export function decodeCanonical<T>(codec: Codec<T>, bytes: Uint8Array, what: string): T {
  const message = guard('COSMOS_MALFORMED', `${what} does not decode`, () => codec.decode(bytes));
  const again = guard('COSMOS_MALFORMED', `${what} does not re-encode`, () => codec.encode(message).finish());
  if (!equalBytes(again, bytes)) fail('COSMOS_NON_CANONICAL', `${what} is not in canonical protobuf encoding`);
  return message;
}

/** JSON carried as bytes (CosmWasm contract messages must be valid JSON). */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  const text = utf8OrUndefined(bytes);
  if (text === undefined) fail('COSMOS_MALFORMED', `${what} is not UTF-8`);
  return guard('COSMOS_MALFORMED', `${what} is not JSON`, () => JSON.parse(text) as unknown);
}
