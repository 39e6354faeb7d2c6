import type { SigningPolicy } from './schema';

/**
 * A validated policy as plain JSON: amounts (bigint) as decimal strings, every default filled in.
 * Parsing the result again gives the same policy, so this is how runtime policies are stored and
 * how the admin API shows any policy.
 */
export function policyToJson(policy: SigningPolicy): Record<string, unknown> {
  return JSON.parse(JSON.stringify(policy, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>;
}
