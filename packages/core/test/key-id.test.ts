import { KmsError, parseKeyIdentifier, resolveKey, type KeyLookup, type KeyRecord } from '../src';

const CTX = { region: 'us-east-1', accountId: '111122223333' };
const ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

function key(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: ID,
    createdAt: new Date(0),
    description: '',
    keyUsage: 'SIGN_VERIFY',
    keySpec: 'ECC_NIST_P256',
    keyState: 'Enabled',
    origin: 'AWS_KMS',
    backendId: 'b',
    handle: '1',
    publicKey: new Uint8Array(),
    ...over,
  };
}

function lookup(k: KeyRecord | undefined, aliases: Record<string, string> = {}): KeyLookup {
  return { getKey: (id) => (k && id === k.keyId ? k : undefined), getAliasTarget: (a) => aliases[a] };
}

function err(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('parseKeyIdentifier', () => {
  it.each([
    [ID, 'key-id'],
    [`arn:aws:kms:us-east-1:111122223333:key/${ID}`, 'key-arn'],
    ['alias/my-key', 'alias-name'],
    ['arn:aws:kms:us-east-1:111122223333:alias/my-key', 'alias-arn'],
    ['fake-key-id', 'malformed'],
    ['1234abcd12ab34cd56ef1234567890ab', 'malformed'],
    ['mrk-1234abcd12ab34cd56ef1234567890ab', 'malformed'],
    ['arn:aws:kms:us-east-1:111122223333:key/not-a-uuid', 'malformed'],
  ])('%s is a %s', (value, kind) => {
    expect(parseKeyIdentifier(value).kind).toBe(kind);
  });
});

describe('resolveKey', () => {
  const opts = { operation: 'Sign', states: ['Enabled'] as const, usage: 'SIGN_VERIFY' as const };

  it('resolves all four forms to the same key', () => {
    const l = lookup(key(), { 'alias/a': ID });
    for (const form of [ID, `arn:aws:kms:us-east-1:111122223333:key/${ID}`, 'alias/a', 'arn:aws:kms:us-east-1:111122223333:alias/a'])
      expect(resolveKey(l, CTX, form, opts).keyId).toBe(ID);
  });

  it('uses AWS wording for malformed and missing keys and aliases', () => {
    expect(err(() => resolveKey(lookup(undefined), CTX, 'fake-key-id', opts)).message).toBe("Invalid keyId 'fake-key-id'");
    expect(err(() => resolveKey(lookup(undefined), CTX, ID, opts)).message).toBe(`Key 'arn:aws:kms:us-east-1:111122223333:key/${ID}' does not exist`);
    expect(err(() => resolveKey(lookup(undefined), CTX, 'alias/none', opts)).message).toBe('Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.');
    expect(err(() => resolveKey(lookup(key()), CTX, `arn:aws:kms:eu-west-1:111122223333:key/${ID}`, opts)).message).toBe('Invalid arn eu-west-1');
  });

  it('applies key state and usage rules', () => {
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${ID}`;
    const disabled = err(() => resolveKey(lookup(key({ keyState: 'Disabled' })), CTX, ID, opts));
    expect([disabled.type, disabled.message]).toEqual(['DisabledException', `${arn} is disabled.`]);
    const pending = err(() => resolveKey(lookup(key({ keyState: 'PendingDeletion' })), CTX, ID, opts));
    expect([pending.type, pending.message]).toEqual(['KMSInvalidStateException', `${arn} is pending deletion.`]);
    const usage = err(() => resolveKey(lookup(key({ keyUsage: 'ENCRYPT_DECRYPT' })), CTX, ID, opts));
    expect([usage.type, usage.message]).toEqual(['InvalidKeyUsageException', `${arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`]);
  });

  it('rejects aliases where the operation takes only key ids', () => {
    expect(err(() => resolveKey(lookup(key(), { 'alias/a': ID }), CTX, 'alias/a', { ...opts, allowAliases: false })).type).toBe('NotFoundException');
  });
});
