import { KmsError } from '../errors';
import type { KeyState, KeyUsageValue } from './enums';
import { aliasArn, keyArn, parseKeyIdentifier, type ArnContext } from './key-id';
import type { KeyLookup, KeyRecord } from './key-record';

export interface ResolveOptions {
  /** The operation's name, for AWS's usage error text. */
  operation: string;
  /** States the operation accepts (AWS's "Key states of AWS KMS keys" table). */
  states: readonly KeyState[];
  usage?: KeyUsageValue;
  /** Operations that take only a key id or key ARN reject aliases. */
  allowAliases?: boolean;
}

/**
 * The single place that turns a KeyId parameter into a key: it accepts a key id, key ARN, alias
 * name or alias ARN and applies AWS's key-state and key-usage rules, with AWS's wording.
 */
export function resolveKey(lookup: KeyLookup, ctx: ArnContext, keyIdParam: string, opts: ResolveOptions): KeyRecord {
  const id = parseKeyIdentifier(keyIdParam);
  let keyId: string;
  switch (id.kind) {
    case 'malformed':
      throw new KmsError('NotFoundException', `Invalid keyId '${keyIdParam}'`);
    case 'key-arn':
    case 'alias-arn':
      if (id.region !== ctx.region) throw new KmsError('NotFoundException', `Invalid arn ${id.region}`);
      if (id.account !== ctx.accountId) throw new KmsError('NotFoundException', `Invalid arn ${id.account}`);
      break;
    default:
      break;
  }
  if (id.kind === 'alias-name' || id.kind === 'alias-arn') {
    if (opts.allowAliases === false) throw new KmsError('NotFoundException', `Invalid keyId '${keyIdParam}'`);
    const target = lookup.getAliasTarget(id.aliasName);
    if (target === undefined) throw new KmsError('NotFoundException', `Alias ${aliasArn(ctx, id.aliasName)} is not found.`);
    keyId = target;
  } else {
    keyId = id.keyId;
  }
  const key = lookup.getKey(keyId);
  if (!key) throw new KmsError('NotFoundException', `Key '${keyArn(ctx, keyId)}' does not exist`);
  return checkKey(key, ctx, opts);
}

/** AWS's key-state and key-usage rules for a key already found (what resolveKey applies last). */
export function checkKey(key: KeyRecord, ctx: ArnContext, opts: ResolveOptions): KeyRecord {
  if (!opts.states.includes(key.keyState)) throw stateError(keyArn(ctx, key.keyId), key.keyState, opts.states);
  if (opts.usage && key.keyUsage !== opts.usage)
    throw new KmsError('InvalidKeyUsageException', `${keyArn(ctx, key.keyId)} key usage is ${key.keyUsage} which is not valid for ${opts.operation}.`);
  return key;
}

/**
 * AWS's answer for a key in a state the operation does not accept. DisabledException only where an
 * enabled key would do (a disabled key is then the one thing in the way); KMSInvalidStateException
 * otherwise. Wording: "is disabled." is AWS-recorded (LocalStack snapshot, RotateKeyOnDemand);
 * "is pending deletion." and "is not pending deletion." are emulator consensus (LocalStack's
 * _get_kms_key, local-kms cancel_key_deletion.go).
 */
function stateError(arn: string, state: KeyState, accepted: readonly KeyState[]): KmsError {
  if (accepted.length === 1 && accepted[0] === 'PendingDeletion') return new KmsError('KMSInvalidStateException', `${arn} is not pending deletion.`);
  if (state === 'Disabled' && accepted.includes('Enabled')) return new KmsError('DisabledException', `${arn} is disabled.`);
  if (state === 'PendingDeletion') return new KmsError('KMSInvalidStateException', `${arn} is pending deletion.`);
  if (state === 'PendingImport') return new KmsError('KMSInvalidStateException', `${arn} is pending import.`);
  return new KmsError('KMSInvalidStateException', `${arn} is ${state}.`);
}
