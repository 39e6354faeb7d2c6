/**
 * The objects of layout.ts on a device: putting them (setup, upgrade) and comparing what a device
 * holds with what this version of kmsgate would put (setup's re-run check, upgrade's plan).
 *
 * The comparison refuses, rather than reports, whatever an upgrade must not touch: an object at a
 * layout ID that is not kmsgate's from this mnemonic (another label or algorithm), a role key that
 * no longer opens with its mnemonic-derived password (putting it again would change the password
 * the gateway host holds), and layout objects that disagree on kmsgate's domains.
 */
import { Algorithm, AuditMode, ObjectType, algorithmName, capabilityNames } from '../codes';
import type { YubiHsmClient } from '../client';
import type { Response as ObjectInfo } from '../commands/get-object-info';
import { DeviceError, DeviceErrorCode } from '../errors';
import {
  AUDITED_COMMANDS,
  AUTH_KEYS,
  type AuthKeyLayout,
  BACKUP_WRAP_KEY,
  type Role,
  TEMPORARY_ADMIN_ID,
  authKeyOf,
  layoutDomains,
  objectLabel,
} from './layout';
import type { CeremonySecrets } from './mnemonic';
import { type CeremonyConnection, CeremonyError, closing, opens, roleClient } from './sessions';

/** The role's authentication key as the layout has it, its password derived from the mnemonic. */
export async function putRole(session: YubiHsmClient, role: Role, secrets: CeremonySecrets, domains: number): Promise<void> {
  const layout = authKeyOf(role);
  await session.putAuthenticationKey({
    id: layout.id,
    label: objectLabel(role, secrets.fingerprint),
    domains: layoutDomains(layout, domains),
    capabilities: layout.capabilities,
    delegatedCapabilities: layout.delegatedCapabilities,
    password: secrets.password(role),
  });
}

/** The backup wrap key as the layout has it, its AES key derived from the mnemonic. */
export async function putBackupWrapKey(session: YubiHsmClient, secrets: CeremonySecrets, domains: number): Promise<void> {
  const key = secrets.wrapKey();
  try {
    await session.putWrapKey({
      id: BACKUP_WRAP_KEY.id,
      label: objectLabel('backup-wrap', secrets.fingerprint),
      domains,
      capabilities: BACKUP_WRAP_KEY.capabilities,
      delegatedCapabilities: BACKUP_WRAP_KEY.delegatedCapabilities,
      algorithm: Algorithm.AES256_CCM_WRAP,
      key,
    });
  } finally {
    key.fill(0);
  }
}

/** Command audit for every command of AUDITED_COMMANDS, and force audit. */
export async function turnOnDeviceLog(session: YubiHsmClient): Promise<void> {
  await session.setCommandAudit(new Map(AUDITED_COMMANDS.map((c) => [c, AuditMode.ON])));
  await session.setForceAudit(AuditMode.ON);
}

export type LayoutObject =
  | { kind: 'auth-key'; layout: AuthKeyLayout }
  | { kind: 'backup-wrap-key' }
  /** Left by an upgrade interrupted while it replaced the admin key (upgrade.ts). */
  | { kind: 'temporary-admin' }
  | { kind: 'device-log' };

export interface LayoutDifference {
  object: LayoutObject;
  /** `authentication key 0x0004 (runtime)` */
  name: string;
  /** The object is on the device now (replacing it starts with deleting it). */
  exists: boolean;
  /** For the operator: `capabilities: add decrypt-oaep`. */
  reason: string;
}

export interface LayoutInspection {
  /** Domain mask of kmsgate's keys, as the runtime key, key admin and backup wrap key have it. */
  domains: number;
  /** Names of the layout's objects that match it. */
  upToDate: string[];
  differences: LayoutDifference[];
}

export function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

export function layoutObjectName(object: LayoutObject): string {
  switch (object.kind) {
    case 'auth-key':
      return `authentication key ${hex4(object.layout.id)} (${object.layout.role})`;
    case 'backup-wrap-key':
      return `wrap key ${hex4(BACKUP_WRAP_KEY.id)} (backup)`;
    case 'temporary-admin':
      return `temporary admin key ${hex4(TEMPORARY_ADMIN_ID)}`;
    case 'device-log':
      return 'device log settings';
  }
}

async function objectInfo(session: YubiHsmClient, id: number, type: number): Promise<ObjectInfo | undefined> {
  try {
    return await session.getObjectInfo(id, type);
  } catch (e) {
    if (e instanceof DeviceError && e.code === DeviceErrorCode.OBJECT_NOT_FOUND) return undefined;
    throw e;
  }
}

/** An object at a layout ID must be kmsgate's, from this mnemonic, of the layout's algorithm. */
function checkOurs(name: string, info: ObjectInfo, algorithm: number, label: string): void {
  if (info.algorithm !== algorithm) {
    throw new CeremonyError(
      `${name} on the device is an object of algorithm ${algorithmName(info.algorithm)}, not ${algorithmName(algorithm)}: it is not kmsgate's; nothing was changed`,
    );
  }
  const actual = new TextDecoder().decode(info.label);
  if (actual !== label) {
    throw new CeremonyError(
      `${name} on the device is labelled ${JSON.stringify(actual)}, not ${JSON.stringify(label)}: it is not kmsgate's from this mnemonic; nothing was changed`,
    );
  }
}

function domainList(mask: number): string {
  return mask === 0xffff
    ? 'all'
    : [...Array(16).keys()]
        .filter((d) => mask & (1 << d))
        .map((d) => d + 1)
        .join(',');
}

function capabilityChange(what: string, have: bigint, want: bigint): string[] {
  const add = capabilityNames(want & ~have);
  const remove = capabilityNames(have & ~want);
  return [...(add.length > 0 ? [`${what}: add ${add.join(', ')}`] : []), ...(remove.length > 0 ? [`${what}: remove ${remove.join(', ')}`] : [])];
}

function changes(info: ObjectInfo, want: { capabilities: bigint; delegatedCapabilities: bigint; domains: number }): string[] {
  return [
    ...capabilityChange('capabilities', info.capabilities, want.capabilities),
    ...capabilityChange('delegated', info.delegatedCapabilities, want.delegatedCapabilities),
    ...(info.domains === want.domains ? [] : [`domains: ${domainList(info.domains)} → ${domainList(want.domains)}`]),
  ];
}

/**
 * Compares the device with the layout through `session` (an admin session). Throws CeremonyError
 * for what must not be replaced (see the file comment); everything else that differs is listed.
 */
export async function inspectLayout(session: YubiHsmClient, c: CeremonyConnection, secrets: CeremonySecrets): Promise<LayoutInspection> {
  const roles: { layout: AuthKeyLayout; info: ObjectInfo | undefined }[] = [];
  for (const layout of AUTH_KEYS) roles.push({ layout, info: await objectInfo(session, layout.id, ObjectType.AUTHENTICATION_KEY) });
  const wrap = await objectInfo(session, BACKUP_WRAP_KEY.id, ObjectType.WRAP_KEY);
  const temporary = await objectInfo(session, TEMPORARY_ADMIN_ID, ObjectType.AUTHENTICATION_KEY);

  for (const { layout, info } of roles) {
    if (info) {
      checkOurs(layoutObjectName({ kind: 'auth-key', layout }), info, Algorithm.AES128_YUBICO_AUTHENTICATION, objectLabel(layout.role, secrets.fingerprint));
    }
  }
  if (wrap) checkOurs(layoutObjectName({ kind: 'backup-wrap-key' }), wrap, Algorithm.AES256_CCM_WRAP, objectLabel('backup-wrap', secrets.fingerprint));
  if (temporary) {
    checkOurs(
      layoutObjectName({ kind: 'temporary-admin' }),
      temporary,
      Algorithm.AES128_YUBICO_AUTHENTICATION,
      objectLabel('admin-upgrade', secrets.fingerprint),
    );
  }

  // kmsgate's domains are where its objects are: the gateway's configuration names the same ones.
  const placed = [
    ...roles.filter((r) => r.layout.domains === 'kmsgate' && r.info).map((r) => [r.layout.role, r.info!.domains] as const),
    ...(wrap ? [['backup wrap key', wrap.domains] as const] : []),
  ];
  const masks = new Set(placed.map(([, mask]) => mask));
  if (masks.size === 0) {
    throw new CeremonyError(
      "neither the key admin, the runtime key nor the backup wrap key is on the device, so kmsgate's domains are unknown: " +
        'set it up again (npx kmsgate hsm setup --reset) and restore a backup; nothing was changed',
    );
  }
  if (masks.size > 1) {
    throw new CeremonyError(
      `kmsgate's objects on the device disagree on their domains (${placed.map(([who, mask]) => `${who}: ${domainList(mask)}`).join(', ')}); nothing was changed`,
    );
  }
  const domains = [...masks][0]!;

  const upToDate: string[] = [];
  const differences: LayoutDifference[] = [];
  const note = (object: LayoutObject, exists: boolean, reasons: string[]): void => {
    const name = layoutObjectName(object);
    if (reasons.length === 0) upToDate.push(name);
    else differences.push({ object, name, exists, reason: reasons.join('; ') });
  };
  for (const { layout, info } of roles) {
    const object = { kind: 'auth-key', layout } as const;
    if (!info) {
      note(object, false, ['missing']);
      continue;
    }
    const client = roleClient(c, layout.role, secrets);
    if (!(await closing([client], () => opens(client)))) {
      throw new CeremonyError(
        `${layoutObjectName(object)} does not open a session with this mnemonic's password: putting it again would change the password ` +
          'its users hold; nothing was changed',
      );
    }
    note(object, true, changes(info, { ...layout, domains: layoutDomains(layout, domains) }));
  }
  note({ kind: 'backup-wrap-key' }, wrap !== undefined, wrap ? changes(wrap, { ...BACKUP_WRAP_KEY, domains }) : ['missing']);
  if (temporary) note({ kind: 'temporary-admin' }, true, ['left by an interrupted upgrade']);

  const log: string[] = [];
  if ((await session.getForceAudit()) === AuditMode.OFF) log.push('force audit is off');
  const audit = await session.getCommandAudit();
  const unlogged = AUDITED_COMMANDS.filter((cmd) => (audit.get(cmd) ?? AuditMode.OFF) === AuditMode.OFF);
  if (unlogged.length > 0) log.push(`${unlogged.length} key command(s) not logged`);
  note({ kind: 'device-log' }, true, log);
  return { domains, upToDate, differences };
}
