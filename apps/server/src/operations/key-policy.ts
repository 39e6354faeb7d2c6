import { KmsError } from '@kmsgate/core';

/** The only key policy name AWS has (GetKeyPolicy/PutKeyPolicy/ListKeyPolicies). */
export const DEFAULT_POLICY_NAME = 'default';

/**
 * The key policy AWS gives a key created without one, byte for byte as `aws kms get-key-policy
 * --output text` prints it in the AWS KMS developer guide ("Default key policy"): the account's
 * root principal may do kms:*. kmsgate stores and returns it; it does not evaluate policies.
 */
export function defaultKeyPolicy(accountId: string): string {
  return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${accountId}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;
}

/**
 * A policy must at least be a JSON object. AWS also checks the principals and the lockout rule;
 * kmsgate stores policies without evaluating them, so it checks only the shape. (AWS answered a
 * non-JSON policy with an empty message in aws/aws-sdk-ruby#1784; kmsgate says what is wrong.)
 */
export function checkPolicy(policy: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new KmsError('MalformedPolicyDocumentException', 'The key policy is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new KmsError('MalformedPolicyDocumentException', 'The key policy must be a JSON object.');
}

/** Policy names other than `default` do not exist (emulator consensus: moto and LocalStack). */
export function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== DEFAULT_POLICY_NAME) throw new KmsError('NotFoundException', 'No such policy exists');
}
