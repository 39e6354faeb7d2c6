import { TypedDataEncoder, concat, getAddress, getBigInt, getBytes, hexlify, keccak256 } from 'ethers';
import { checkBytes, jsonDepth, utf8OrUndefined } from '../bytes';
import { DecodeError, fail, guard } from '../errors';
import type { Eip712Domain, Eip712Field, Eip712Summary } from './types';

/** Upper bound on a typed-data JSON document. */
export const MAX_TYPED_DATA_BYTES = 1 << 20;

/** EIP-712 domain fields and their types, in the order the EIP lists them. */
const DOMAIN_FIELD_TYPES = {
  name: 'string',
  version: 'string',
  chainId: 'uint256',
  verifyingContract: 'address',
  salt: 'bytes32',
} as const;
type DomainKey = keyof typeof DOMAIN_FIELD_TYPES;
const DOMAIN_KEYS = Object.keys(DOMAIN_FIELD_TYPES) as DomainKey[];
const TOP_LEVEL_KEYS = new Set(['types', 'primaryType', 'domain', 'message']);
/** Deeper JSON than any real typed data is refused before anything walks it. */
export const MAX_JSON_DEPTH = 64;

/**
 * Decodes EIP-712 typed data as `eth_signTypedData_v4` takes it — JSON `{types, primaryType,
 * domain, message}` — and computes the digest the key signs:
 * keccak256(0x1901 ‖ hashStruct(EIP712Domain, domain) ‖ hashStruct(primaryType, message)).
 * The domain is hashed with the EIP712Domain type as declared (its field order matters), which
 * must agree with the domain object; values must match their declared types (a bool is a JSON
 * boolean, not a truthy string).
 */
export function decodeEip712(json: string | Uint8Array): Eip712Summary {
  let text: string;
  if (typeof json === 'string') {
    if (json.length > MAX_TYPED_DATA_BYTES) fail('MESSAGE_TOO_LARGE', `typed data is over ${MAX_TYPED_DATA_BYTES} characters`);
    text = json;
  } else {
    const decoded = utf8OrUndefined(checkBytes('json', json, MAX_TYPED_DATA_BYTES));
    if (decoded === undefined) fail('EIP712_MALFORMED', 'typed data is not UTF-8');
    text = decoded;
  }
  const parsed = guard('EIP712_MALFORMED', 'typed data is not JSON', () => JSON.parse(text) as unknown);
  if (jsonDepth(parsed) > MAX_JSON_DEPTH) fail('EIP712_MALFORMED', `typed data nests deeper than ${MAX_JSON_DEPTH}`);
  const doc = record(parsed, 'typed data');
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.has(key)) fail('EIP712_MALFORMED', `unknown top-level key ${JSON.stringify(key).slice(0, 80)}`);
  }
  const types = parseTypes(doc.types);
  const primaryType = doc.primaryType;
  if (typeof primaryType !== 'string' || primaryType === 'EIP712Domain' || !Object.prototype.hasOwnProperty.call(types, primaryType)) {
    fail('EIP712_MALFORMED', 'primaryType must name a type in types other than EIP712Domain');
  }
  const domain = record(doc.domain, 'domain');
  const message = record(doc.message, 'message');

  const domainFields = domainType(domain, types.EIP712Domain);
  const used = reachable(types, primaryType);
  return guard('EIP712_MALFORMED', 'typed data does not encode', () => {
    const domainEncoder = TypedDataEncoder.from({ EIP712Domain: domainFields });
    const encoder = TypedDataEncoder.from(used);
    if (encoder.primaryType !== primaryType) fail('EIP712_MALFORMED', `types make ${encoder.primaryType} the primary type`);
    // Normalise first: this also checks every value against its type before anything is hashed.
    const normalisedDomain = domainEncoder.visit(domain, normalise) as Record<string, unknown>;
    const normalisedMessage = encoder.visit(message, normalise) as Record<string, unknown>;
    const domainSeparator = domainEncoder.hash(domain);
    const digest = keccak256(concat(['0x1901', domainSeparator, encoder.hash(message)]));
    return {
      chain: 'ethereum' as const,
      domain: normalisedDomain as Eip712Domain,
      primaryType,
      types: used,
      message: normalisedMessage,
      domainSeparator,
      digest,
    };
  });
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('EIP712_MALFORMED', `${what} must be an object`);
  return value as Record<string, unknown>;
}

function parseTypes(value: unknown): Record<string, Eip712Field[]> {
  const types = record(value, 'types');
  const out: Record<string, Eip712Field[]> = Object.create(null) as Record<string, Eip712Field[]>;
  for (const [name, fields] of Object.entries(types)) {
    if (!Array.isArray(fields)) fail('EIP712_MALFORMED', `types.${name} must be an array`);
    out[name] = fields.map((f, i) => {
      const field = record(f, `types.${name}[${i}]`);
      if (typeof field.name !== 'string' || typeof field.type !== 'string' || Object.keys(field).length !== 2) {
        fail('EIP712_MALFORMED', `types.${name}[${i}] must be {name, type} strings`);
      }
      return { name: field.name, type: field.type };
    });
  }
  return out;
}

/** The EIP712Domain fields: as declared (checked against the domain), or derived from the domain as ethers does. */
function domainType(domain: Record<string, unknown>, declared: Eip712Field[] | undefined): Eip712Field[] {
  for (const [key, value] of Object.entries(domain)) {
    if (!DOMAIN_KEYS.includes(key as DomainKey)) fail('EIP712_MALFORMED', `unknown domain field ${JSON.stringify(key).slice(0, 80)}`);
    if (value === null) fail('EIP712_MALFORMED', `domain.${key} is null`);
  }
  if (declared === undefined) {
    return DOMAIN_KEYS.filter((k) => domain[k] !== undefined).map((name) => ({ name, type: DOMAIN_FIELD_TYPES[name] }));
  }
  const names = declared.map((f) => f.name);
  for (const { name, type } of declared) {
    if (!DOMAIN_KEYS.includes(name as DomainKey) || DOMAIN_FIELD_TYPES[name as DomainKey] !== type) {
      fail('EIP712_DOMAIN_MISMATCH', `EIP712Domain field ${name} ${type} is not an EIP-712 domain field`);
    }
    if (domain[name] === undefined) fail('EIP712_DOMAIN_MISMATCH', `EIP712Domain declares ${name} but the domain has none`);
  }
  for (const key of Object.keys(domain)) {
    if (!names.includes(key)) fail('EIP712_DOMAIN_MISMATCH', `domain.${key} is not declared in EIP712Domain`);
  }
  return declared;
}

/** The struct types reachable from `primaryType` (others are ignored by wallets, and by us). */
function reachable(types: Record<string, Eip712Field[]>, primaryType: string): Record<string, Eip712Field[]> {
  const out = Object.create(null) as Record<string, Eip712Field[]>;
  const queue = [primaryType];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (Object.prototype.hasOwnProperty.call(out, name)) continue;
    const fields = types[name]!;
    out[name] = fields;
    for (const { type } of fields) {
      const base = type.replace(/(\[[0-9]*\])+$/, '');
      if (base !== 'EIP712Domain' && Object.prototype.hasOwnProperty.call(types, base)) queue.push(base);
    }
  }
  return out;
}

/** ethers' visit callback for base types: check the JSON value's kind, return the value as hashed. */
function normalise(type: string, value: unknown): unknown {
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new DecodeError('EIP712_MALFORMED', 'a bool value must be true or false');
    return value;
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw new DecodeError('EIP712_MALFORMED', 'a string value must be a string');
    return value;
  }
  if (type === 'address') return getAddress(value as string);
  if (/^u?int[0-9]*$/.test(type)) return getBigInt(value as string).toString();
  if (/^bytes[0-9]*$/.test(type)) return hexlify(getBytes(value as string));
  throw new DecodeError('EIP712_MALFORMED', `unsupported base type ${type}`);
}
