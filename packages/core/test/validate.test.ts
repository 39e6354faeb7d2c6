import { KmsError, parseInput, type StructureShape } from '../src';

const SHAPE = {
  type: 'structure',
  members: {
    KeyId: { type: 'string', required: true, min: 1, max: 2048 },
    KeySpec: { type: 'string', enum: ['A', 'B'] },
    Message: { type: 'blob', required: true, min: 1, max: 4 },
    Limit: { type: 'integer', min: 1, max: 10 },
    AliasName: { type: 'string', pattern: /^[a-z/]+$/ },
    DryRun: { type: 'boolean' },
    Tags: {
      type: 'list',
      member: { type: 'structure', members: { TagKey: { type: 'string', required: true, min: 1, max: 3 }, TagValue: { type: 'string', required: true } } },
    },
  },
} as const satisfies StructureShape;

function errorOf(body: unknown): KmsError {
  try {
    parseInput(SHAPE, body);
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('parseInput (AWS constraint validation)', () => {
  it('decodes blobs from base64 and keeps typed members', () => {
    const v = parseInput(SHAPE, { KeyId: 'k', Message: 'AQID', Limit: 3, DryRun: true, Unknown: 1 });
    expect(v.Message).toEqual(new Uint8Array([1, 2, 3]));
    expect(v.Limit).toBe(3);
    expect(v.DryRun).toBe(true);
    expect(v).not.toHaveProperty('Unknown');
  });

  it('writes the AWS sentence for one failure', () => {
    const e = errorOf({ KeyId: 'k', Message: 'AQ==', KeySpec: 'C' });
    expect(e.type).toBe('ValidationException');
    expect(e.message).toBe("1 validation error detected: Value 'C' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [A, B]");
  });

  it('collects every failure in member order, without echoing blobs', () => {
    const e = errorOf({ Message: 'AQIDBAU=', Limit: 0, AliasName: 'X' });
    expect(e.message).toBe(
      '4 validation errors detected: ' +
        "Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
        "Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4; " +
        "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
        "Value 'X' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z/]+$",
    );
  });

  it('uses 1-based list member paths', () => {
    const e = errorOf({
      KeyId: 'k',
      Message: 'AQ==',
      Tags: [
        { TagKey: 'ok', TagValue: '' },
        { TagKey: 'long', TagValue: 'v' },
      ],
    });
    expect(e.message).toBe(
      "1 validation error detected: Value 'long' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 3",
    );
  });

  it.each([
    [{ KeyId: 5, Message: 'AQ==' }, "'keyId' must be a string"],
    [{ KeyId: 'k', Message: 'not base64!' }, "'message' is not valid base64"],
    [{ KeyId: 'k', Message: 'AQ==', Limit: '3' }, "'limit' must be an integer"],
    [{ KeyId: 'k', Message: 'AQ==', Limit: 1.5 }, "'limit' must be an integer"],
    [{ KeyId: 'k', Message: 'AQ==', DryRun: 'yes' }, "'dryRun' must be a boolean"],
    [{ KeyId: 'k', Message: 'AQ==', Tags: {} }, "'tags' must be a list"],
    [[], 'must be an object'],
    ['text', 'must be an object'],
  ])('refuses wrong JSON types as SerializationException (%j)', (body, text) => {
    const e = errorOf(body);
    expect(e.type).toBe('SerializationException');
    expect(e.message).toContain(text);
  });

  it('treats JSON null as absent', () => {
    expect(errorOf({ KeyId: null, Message: 'AQ==' }).message).toContain("Value null at 'keyId'");
    expect(parseInput(SHAPE, { KeyId: 'k', Message: 'AQ==', Limit: null }).Limit).toBeUndefined();
  });
});
