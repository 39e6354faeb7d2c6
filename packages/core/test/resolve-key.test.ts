import { KEY_STATES_FOR, resolveKey, type KeyLookup, type KeyRecord, type KeyState } from '../src';

/** resolveKey's answers for keys in each state, with AWS's wording (see KEY_STATES_FOR). */
const ctx = { region: 'us-east-1', accountId: '111122223333' };
const ID = '11111111-2222-4333-8444-555555555555';
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${ID}`;

function lookup(state: KeyState): KeyLookup {
  const key = {
    keyId: ID,
    createdAt: new Date(0),
    description: '',
    keyUsage: 'SIGN_VERIFY',
    keySpec: 'ECC_NIST_P256',
    keyState: state,
    origin: 'AWS_KMS',
    backendId: 'hsm',
    handle: '1',
    publicKey: new Uint8Array(1),
  } satisfies KeyRecord;
  return { getKey: (id) => (id === ID ? key : undefined), getAliasTarget: (a) => (a === 'alias/k' ? ID : undefined) };
}

const attempt = (state: KeyState, operation: keyof typeof KEY_STATES_FOR, keyId = ID, allowAliases?: boolean) => {
  try {
    resolveKey(lookup(state), ctx, keyId, { operation, states: KEY_STATES_FOR[operation], allowAliases });
    return 'ok';
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};

it.each([
  ['Disabled', 'Sign', `DisabledException: ${ARN} is disabled.`],
  ['Disabled', 'EnableKeyRotation', `DisabledException: ${ARN} is disabled.`],
  ['Disabled', 'EnableKey', 'ok'],
  ['Disabled', 'GetPublicKey', 'ok'],
  ['Disabled', 'CancelKeyDeletion', `KMSInvalidStateException: ${ARN} is not pending deletion.`],
  ['Enabled', 'CancelKeyDeletion', `KMSInvalidStateException: ${ARN} is not pending deletion.`],
  ['PendingDeletion', 'CancelKeyDeletion', 'ok'],
  ['PendingDeletion', 'Sign', `KMSInvalidStateException: ${ARN} is pending deletion.`],
  ['PendingDeletion', 'TagResource', `KMSInvalidStateException: ${ARN} is pending deletion.`],
  ['PendingDeletion', 'DescribeKey', 'ok'],
  ['PendingDeletion', 'ListResourceTags', 'ok'],
  ['PendingImport', 'Sign', `KMSInvalidStateException: ${ARN} is pending import.`],
] as const)('a %s key for %s', (state, op, answer) => {
  expect(attempt(state, op)).toBe(answer);
});

it('resolves aliases only where they are allowed', () => {
  expect(attempt('Enabled', 'Sign', 'alias/k')).toBe('ok');
  expect(attempt('Enabled', 'EnableKey', 'alias/k', false)).toBe("NotFoundException: Invalid keyId 'alias/k'");
});
