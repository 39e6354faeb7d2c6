import { KmsError, type StringShape } from '@kmsgate/core';

/** AWS's AliasName member: 1-256 characters of [a-zA-Z0-9:/_-]. */
export const ALIAS_NAME = { type: 'string', required: true, min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ } as const satisfies StringShape;

/** Every operation that names an alias by AliasName requires the prefix (AWS-recorded wording). */
export function checkAliasPrefix(name: string): void {
  if (!name.startsWith('alias/'))
    throw new KmsError(
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
}

/** The rules AWS applies to a new alias name beyond the member constraints. */
export function checkNewAliasName(name: string): void {
  checkAliasPrefix(name);
  if (name.startsWith('alias/aws/'))
    throw new KmsError('InvalidAliasNameException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys.');
  if (name === 'alias/') throw new KmsError('InvalidAliasNameException', 'Alias name must contain at least one character after the prefix "alias/".');
}

/**
 * AWS's quota "aliases per KMS key" (50). Real AWS answer quoted in scylladb/scylla-cluster-tests#7611:
 * "Aliases per key quota for this account in this region is 50, current usage is 60."
 */
export const MAX_ALIASES_PER_KEY = 50;

export function aliasLimitError(count: number): KmsError {
  return new KmsError('LimitExceededException', `Aliases per key quota for this account in this region is ${MAX_ALIASES_PER_KEY}, current usage is ${count}.`);
}
