/**
 * The four ways a request names a key: key id (UUID), key ARN, alias name, alias ARN.
 * Source: AWS KMS API reference, "KeyId" parameter of DescribeKey/Sign.
 */
export type KeyIdentifier =
  | { kind: 'key-id'; keyId: string }
  | { kind: 'key-arn'; keyId: string; region: string; account: string }
  | { kind: 'alias-name'; aliasName: string }
  | { kind: 'alias-arn'; aliasName: string; region: string; account: string }
  | { kind: 'malformed' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export function parseKeyIdentifier(value: string): KeyIdentifier {
  if (UUID.test(value)) return { kind: 'key-id', keyId: value };
  if (value.startsWith('alias/')) return { kind: 'alias-name', aliasName: value };
  const m = ARN.exec(value);
  if (m) {
    const [, region, account, type, rest] = m as unknown as [string, string, string, string, string];
    if (type === 'key') return UUID.test(rest) ? { kind: 'key-arn', keyId: rest, region, account } : { kind: 'malformed' };
    return { kind: 'alias-arn', aliasName: `alias/${rest}`, region, account };
  }
  return { kind: 'malformed' };
}

export interface ArnContext {
  region: string;
  accountId: string;
}

export function keyArn(ctx: ArnContext, keyId: string): string {
  return `arn:aws:kms:${ctx.region}:${ctx.accountId}:key/${keyId}`;
}

export function aliasArn(ctx: ArnContext, aliasName: string): string {
  return `arn:aws:kms:${ctx.region}:${ctx.accountId}:${aliasName}`;
}
