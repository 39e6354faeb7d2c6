import { KmsError } from '../errors';

/**
 * One declarative validator for every operation's input. It works in AWS's two stages:
 * deserialization (a member of the wrong JSON type, or a blob that is not base64, is a
 * SerializationException) and constraint validation, which collects every failure and writes
 * AWS's sentence: "N validation error(s) detected: <msg>; <msg>", with lowerCamelCase member
 * paths and without ever echoing a blob. Unknown members are ignored, as AWS does.
 */
export type Shape = StringShape | BlobShape | IntegerShape | BooleanShape | TimestampShape | ListShape | MapShape | StructureShape;

interface Base {
  required?: boolean;
  /** never echo the value in an error (like AWS's sensitive strings) */ sensitive?: boolean;
}
export interface StringShape extends Base {
  type: 'string';
  min?: number;
  max?: number;
  enum?: readonly string[];
  /** Must match the whole string (anchor it). */
  pattern?: RegExp;
  /** The pattern as the AWS model spells it, for the message; defaults to `pattern.source`. */
  patternText?: string;
}
export interface BlobShape extends Base {
  type: 'blob';
  min?: number;
  max?: number;
}
export interface IntegerShape extends Base {
  type: 'integer';
  min?: number;
  max?: number;
}
export interface BooleanShape extends Base {
  type: 'boolean';
}
/** awsJson 1.1 sends a timestamp as epoch seconds, a JSON number with a fraction. */
export interface TimestampShape extends Base {
  type: 'timestamp';
}
export interface ListShape extends Base {
  type: 'list';
  member: Shape;
  min?: number;
  max?: number;
}
export interface MapShape extends Base {
  type: 'map';
  key: StringShape;
  value: Shape;
  min?: number;
  max?: number;
}
export interface StructureShape extends Base {
  type: 'structure';
  members: Readonly<Record<string, Shape>>;
}

type Value<S> = S extends { type: 'string'; enum: readonly (infer E)[] }
  ? E
  : S extends { type: 'string' }
    ? string
    : S extends { type: 'blob' }
      ? Uint8Array
      : S extends { type: 'integer' }
        ? number
        : S extends { type: 'boolean' }
          ? boolean
          : S extends { type: 'timestamp' }
            ? Date
            : S extends { type: 'list'; member: infer M }
              ? Value<M>[]
              : S extends { type: 'map'; value: infer V }
                ? Record<string, Value<V>>
                : S extends { type: 'structure'; members: infer M }
                  ? StructValue<M>
                  : never;

type RequiredKeys<M> = { [K in keyof M]: M[K] extends { required: true } ? K : never }[keyof M];
type StructValue<M> = { -readonly [K in RequiredKeys<M>]: Value<M[K]> } & { -readonly [K in Exclude<keyof M, RequiredKeys<M>>]?: Value<M[K]> };

/** The TypeScript type an operation's input shape deserializes to. */
export type Infer<S extends StructureShape> = Value<S>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function memberPath(parent: string, name: string): string {
  const camel = name.charAt(0).toLowerCase() + name.slice(1);
  return parent ? `${parent}.${camel}` : camel;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function serializationError(path: string, expected: string, got: unknown): KmsError {
  return new KmsError('SerializationException', `Value at '${path}' must be ${expected}, not ${typeName(got)}`);
}

/** Stage 1: type-check and convert (base64 blobs become bytes). */
function deserialize(shape: Shape, v: unknown, path: string): unknown {
  switch (shape.type) {
    case 'string':
      if (typeof v !== 'string') throw serializationError(path, 'a string', v);
      return v;
    case 'blob':
      if (typeof v !== 'string') throw serializationError(path, 'a base64-encoded string', v);
      if (!BASE64.test(v)) throw new KmsError('SerializationException', `Value at '${path}' is not valid base64`);
      return new Uint8Array(Buffer.from(v, 'base64'));
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw serializationError(path, 'an integer', v);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw serializationError(path, 'a boolean', v);
      return v;
    case 'timestamp':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw serializationError(path, 'a timestamp', v);
      return new Date(v * 1000);
    case 'list': {
      if (!Array.isArray(v)) throw serializationError(path, 'a list', v);
      return v.map((item, i) => {
        if (item === null) throw serializationError(`${path}.${i + 1}.member`, 'a value', item);
        return deserialize(shape.member, item, `${path}.${i + 1}.member`);
      });
    }
    case 'map': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw serializationError(path, 'an object', v);
      // No prototype: a client's key named "__proto__" stays an entry (EncryptionContext keys are free text).
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, item] of Object.entries(v)) out[k] = deserialize(shape.value, item, `${path}.${k}`);
      return out;
    }
    case 'structure': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw serializationError(path || 'body', 'an object', v);
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members)) {
        const raw = (v as Record<string, unknown>)[name];
        // JSON null is how some clients spell "absent".
        if (raw !== undefined && raw !== null) out[name] = deserialize(member, raw, memberPath(path, name));
      }
      return out;
    }
  }
}

function quoted(shape: Shape, v: unknown): string {
  if (shape.sensitive || shape.type === 'blob' || shape.type === 'list' || shape.type === 'map' || shape.type === 'structure') return '';
  return ` '${String(v)}'`;
}

function lengthOf(shape: Shape, v: unknown): number | undefined {
  if (shape.type === 'string') return [...(v as string)].length;
  if (shape.type === 'blob') return (v as Uint8Array).length;
  if (shape.type === 'list') return (v as unknown[]).length;
  if (shape.type === 'map') return Object.keys(v as object).length;
  return undefined;
}

/** Stage 2: constraints; every failure is collected. */
function check(shape: Shape, v: unknown, path: string, errors: string[]): void {
  if (v === undefined) {
    if (shape.required) errors.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
    return;
  }
  const fail = (constraint: string) => errors.push(`Value${quoted(shape, v)} at '${path}' failed to satisfy constraint: ${constraint}`);

  const len = lengthOf(shape, v);
  if (len !== undefined && 'min' in shape && shape.min !== undefined && len < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
  if (len !== undefined && 'max' in shape && shape.max !== undefined && len > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);

  switch (shape.type) {
    case 'string':
      if (shape.enum && !shape.enum.includes(v as string)) fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      if (shape.pattern && !shape.pattern.test(v as string))
        fail(`Member must satisfy regular expression pattern: ${shape.patternText ?? shape.pattern.source}`);
      break;
    case 'integer':
      if (shape.min !== undefined && (v as number) < shape.min) fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && (v as number) > shape.max) fail(`Member must have value less than or equal to ${shape.max}`);
      break;
    case 'list':
      (v as unknown[]).forEach((item, i) => check(shape.member, item, `${path}.${i + 1}.member`, errors));
      break;
    case 'map':
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        check(shape.key, k, `${path}.key`, errors);
        check(shape.value, item, `${path}.${k}`, errors);
      }
      break;
    case 'structure':
      for (const [name, member] of Object.entries(shape.members)) check(member, (v as Record<string, unknown>)[name], memberPath(path, name), errors);
      break;
    default:
      break;
  }
}

export function validationError(messages: readonly string[]): KmsError {
  const n = messages.length;
  return new KmsError('ValidationException', `${n} validation error${n === 1 ? '' : 's'} detected: ${messages.join('; ')}`);
}

/** Deserializes and validates a request body against an operation's input shape. */
export function parseInput<S extends StructureShape>(shape: S, body: unknown): Infer<S> {
  const value = deserialize(shape, body, '');
  const errors: string[] = [];
  check(shape, value, '', errors);
  if (errors.length > 0) throw validationError(errors);
  return value as Infer<S>;
}
