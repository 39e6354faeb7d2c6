import type { Operation } from './operation';
import { CreateAlias } from './CreateAlias';
import { CreateKey } from './CreateKey';
import { DeleteAlias } from './DeleteAlias';
import { DescribeKey } from './DescribeKey';
import { GetPublicKey } from './GetPublicKey';
import { ListAliases } from './ListAliases';
import { ListKeys } from './ListKeys';
import { Sign } from './Sign';
import { Verify } from './Verify';

/**
 * Every TrentService operation kmsgate answers, by its X-Amz-Target name. An explicit table,
 * so what is served is visible in one place; anything else is UnknownOperationException.
 */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateAlias,
  CreateKey,
  DeleteAlias,
  DescribeKey,
  GetPublicKey,
  ListAliases,
  ListKeys,
  Sign,
  Verify,
} as unknown as Record<string, Operation>;

export function findOperation(name: string): Operation | undefined {
  return Object.prototype.hasOwnProperty.call(OPERATIONS, name) ? OPERATIONS[name] : undefined;
}
