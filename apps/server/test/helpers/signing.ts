import type { TestGateway, Credentials } from './gateway';

/** What a signing call through the gateway came back with. */
export interface SignOutcome {
  status: number;
  /** The signature, when the call succeeded. */
  signature?: Uint8Array;
  /** The AWS error __type and the kmsgate reason code parsed from the message, when it failed. */
  error?: { type: string; message: string; reason: string | undefined };
}

/** Sign through the real HTTP API (raw awsJson with x-api-key), as any client would. */
export async function sign(
  t: TestGateway,
  keyId: string,
  message: Uint8Array,
  opts: { algorithm?: string; messageType?: 'RAW' | 'DIGEST'; creds?: Credentials } = {},
): Promise<SignOutcome> {
  const r = await t.call(
    'Sign',
    {
      KeyId: keyId,
      Message: Buffer.from(message).toString('base64'),
      MessageType: opts.messageType ?? 'RAW',
      SigningAlgorithm: opts.algorithm ?? 'ECDSA_SHA_256',
    },
    { 'x-api-key': (opts.creds ?? t.admin).apiKey },
  );
  if (r.status === 200) return { status: 200, signature: new Uint8Array(Buffer.from(r.json.Signature as string, 'base64')) };
  const message_ = String(r.json?.message ?? '');
  return { status: r.status, error: { type: String(r.json?.__type), message: message_, reason: reasonOf(message_) } };
}

/** The reason code kmsgate puts in a denial's message: "Denied by kmsgate (CODE): …". */
export function reasonOf(message: string): string | undefined {
  return /^Denied by kmsgate \(([A-Z0-9_]+)\): /.exec(message)?.[1];
}

/** Creates a key (default backend) with an alias; returns its key id. */
export async function createKeyWithAlias(t: TestGateway, keySpec: string, alias: string): Promise<string> {
  const created = await t.call('CreateKey', { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' });
  if (created.status !== 200) throw new Error(`CreateKey: ${created.text}`);
  const keyId = created.json.KeyMetadata.KeyId as string;
  const aliased = await t.call('CreateAlias', { AliasName: alias, TargetKeyId: keyId });
  if (aliased.status !== 200) throw new Error(`CreateAlias: ${aliased.text}`);
  return keyId;
}

export async function publicKeyOf(t: TestGateway, keyId: string): Promise<Uint8Array> {
  const r = await t.call('GetPublicKey', { KeyId: keyId });
  if (r.status !== 200) throw new Error(`GetPublicKey: ${r.text}`);
  return new Uint8Array(Buffer.from(r.json.PublicKey as string, 'base64'));
}

export async function addressOf(t: TestGateway, keyId: string, chain: 'ethereum' | 'solana' | 'cosmos', prefix?: string): Promise<string> {
  const r = await t.call('DeriveAddress', { KeyId: keyId, Chain: chain, ...(prefix ? { Prefix: prefix } : {}) });
  if (r.status !== 200) throw new Error(`DeriveAddress: ${r.text}`);
  return r.json.Address as string;
}

/** Connector requests the embedded YubiHSM 2 simulator has served: a device call is at least one. */
export function deviceRequests(t: TestGateway): number {
  return t.gateway.backends.simulators.get('yubihsm')!.stats().apiRequests;
}

/** The audit records of Sign requests for a key, oldest first. */
export function auditFor(t: TestGateway, keyId: string): { decision: string; gate: string | null; reason: string | null }[] {
  return t.db.prepare("SELECT decision, gate, reason FROM audit_log WHERE key_id = ? AND operation = 'Sign' ORDER BY seq").all(keyId) as {
    decision: string;
    gate: string | null;
    reason: string | null;
  }[];
}

/** An admin API call (/admin/…) with x-api-key. */
export async function admin(
  t: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  creds: Credentials = t.admin,
): Promise<{ status: number; json: any }> {
  const res = await fetch(t.url + path, {
    method,
    headers: { 'x-api-key': creds.apiKey, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
