/**
 * `kmsgate hsm upgrade`: brings a device an earlier kmsgate set up to this version's layout.ts.
 * No YubiHSM 2 command changes an object's capabilities (CHANGE_AUTHENTICATION_KEY changes only
 * its secret), so each object that differs is deleted and put again under the same ID, with the
 * same label and the same mnemonic-derived password or AES key: the gateway's configuration and
 * password files stay valid, and backups made under the old wrap key import under the new one.
 *
 * Order: nothing changes until the whole device has been compared (layout-objects.ts refuses what
 * must not be replaced) and the device log has room for every entry the upgrade writes (force
 * audit would refuse a put half-way). The admin key 0x0002 is replaced only from a second admin
 * key (TEMPORARY_ADMIN_ID, same password) that has been shown to open a session, so the device
 * always holds a working admin key; a run interrupted at any point is finished by running again
 * (a missing object is put, a leftover temporary key deleted, a session opened with it if 0x0002
 * is gone). The device is compared again at the end: a second run finds nothing to do.
 */
import { ALL_CAPABILITIES, ObjectType } from '../codes';
import { YubiHsmClient } from '../client';
import { AUTH_KEYS, type AuthKeyLayout, BACKUP_WRAP_KEY, TEMPORARY_ADMIN_ID, authKeyOf, objectLabel } from './layout';
import { type LayoutDifference, hex4, inspectLayout, putBackupWrapKey, putRole, turnOnDeviceLog } from './layout-objects';
import type { CeremonySecrets } from './mnemonic';
import { type CeremonyConnection, CeremonyError, closing, factoryClient, opens, roleClient } from './sessions';
import type { SetupProgress } from './setup';

export interface UpgradeOptions extends CeremonyConnection {
  secrets: CeremonySecrets;
  /** Compare and print the plan, change nothing. */
  dryRun?: boolean;
  progress?: SetupProgress;
  /** Called with the plan once the device has been compared, before anything changes. */
  onPlan?: (plan: UpgradePlan) => void;
}

export interface PlannedChange {
  /** `authentication key 0x0004 (runtime)` */
  name: string;
  action: 'put' | 'replace' | 'delete' | 'turn on';
  /** `capabilities: add decrypt-oaep` */
  reason: string;
}

export interface UpgradePlan {
  serial: number;
  firmware: string;
  upToDate: string[];
  changes: PlannedChange[];
}

export interface UpgradeResult extends UpgradePlan {
  /** Whether the changes were made (false for a dry run or when there was nothing to do). */
  applied: boolean;
}

function action(d: LayoutDifference): PlannedChange['action'] {
  if (d.object.kind === 'temporary-admin') return 'delete';
  if (d.object.kind === 'device-log') return 'turn on';
  return d.exists ? 'replace' : 'put';
}

/**
 * Device log entries the changes write (DELETE_OBJECT, PUT_*, SET_OPTION are in AUDITED_COMMANDS):
 * a replacement is a delete and a put, the admin's also a temporary key put and deleted.
 */
function logEntries(differences: readonly LayoutDifference[]): number {
  return differences.reduce((n, d) => {
    if (d.object.kind === 'device-log') return n + 2;
    if (d.object.kind === 'temporary-admin') return n + 1;
    const admin = d.object.kind === 'auth-key' && d.object.layout.role === 'admin';
    return n + (d.exists ? 2 : 1) + (admin ? 2 : 0);
  }, 0);
}

function temporaryAdminClient(c: CeremonyConnection, secrets: CeremonySecrets): YubiHsmClient {
  return new YubiHsmClient({
    connectorUrl: c.connectorUrl,
    requestTimeoutMs: c.requestTimeoutMs,
    authKeyId: TEMPORARY_ADMIN_ID,
    password: secrets.password('admin'),
    maxSessions: 1,
  });
}

export async function upgradeDevice(options: UpgradeOptions): Promise<UpgradeResult> {
  const { secrets } = options;
  const progress = options.progress ?? (() => undefined);
  const factory = factoryClient(options);
  const admin = roleClient(options, 'admin', secrets);
  const temporary = temporaryAdminClient(options, secrets);
  return closing([factory, admin, temporary], async () => {
    const info = await factory.deviceInfo();
    if (await opens(factory)) {
      throw new CeremonyError(
        'the factory authentication key 1 still opens a session: this device was never set up by kmsgate, or its setup was interrupted; ' +
          'run npx kmsgate hsm setup instead; nothing was changed',
      );
    }
    // 0x0002 is gone only if an upgrade stopped between deleting and putting it: the temporary key is then the admin.
    const session = (await opens(admin)) ? admin : (await opens(temporary)) ? temporary : undefined;
    if (!session) {
      throw new CeremonyError(
        `the device refuses this mnemonic's admin key ${hex4(authKeyOf('admin').id)} (fingerprint ${secrets.fingerprint}): ` +
          'a wrong mnemonic, or a device set up from another one; nothing was changed',
      );
    }
    const inspection = await inspectLayout(session, options, secrets);
    const plan: UpgradePlan = {
      serial: info.serial,
      firmware: `${info.major}.${info.minor}.${info.build}`,
      upToDate: inspection.upToDate,
      changes: inspection.differences.map((d) => ({ name: d.name, action: action(d), reason: d.reason })),
    };
    const needed = logEntries(inspection.differences);
    const free = info.logTotal - info.logUsed;
    if (needed > free) {
      throw new CeremonyError(
        `the device log has ${free} free entries and the upgrade writes ${needed}: release it with npx kmsgate hsm audit first; nothing was changed`,
      );
    }
    options.onPlan?.(plan);
    if (options.dryRun || plan.changes.length === 0) return { ...plan, applied: false };

    const steps = stepsFor(inspection.differences, session === temporary, options, secrets, inspection.domains);
    let step = 0;
    for (const s of steps) {
      progress(++step, steps.length + 1, s.text);
      await s.run();
    }
    progress(++step, steps.length + 1, 'comparing the device with the layout again');
    const after = roleClient(options, 'admin', secrets);
    const left = await closing([after], () => inspectLayout(after, options, secrets));
    if (left.differences.length > 0) {
      throw new CeremonyError(
        `after the upgrade the device still differs from the layout: ${left.differences.map((d) => `${d.name}: ${d.reason}`).join('; ')}`,
      );
    }
    return { ...plan, applied: true };
  });
}

async function mustOpen(client: YubiHsmClient, name: string): Promise<void> {
  if (!(await closing([client], () => opens(client)))) throw new CeremonyError(`${name} does not open a session after it was put; stopped here`);
}

interface Step {
  text: string;
  run: () => Promise<void>;
}

/**
 * The changes, in order: the admin key first (through the temporary key), then the other role
 * keys, the backup wrap key and the log settings, each through an admin session. Each put key is
 * checked to open a session with its mnemonic-derived password before the next change.
 */
function stepsFor(differences: readonly LayoutDifference[], onTemporary: boolean, c: CeremonyConnection, secrets: CeremonySecrets, domains: number): Step[] {
  const steps: Step[] = [];
  const tempName = `temporary admin key ${hex4(TEMPORARY_ADMIN_ID)}`;
  const withClient = (client: YubiHsmClient, f: (s: YubiHsmClient) => Promise<void>) => closing([client], () => f(client));
  const asAdmin = (f: (s: YubiHsmClient) => Promise<void>) => withClient(roleClient(c, 'admin', secrets), f);
  const asTemporary = (f: (s: YubiHsmClient) => Promise<void>) => withClient(temporaryAdminClient(c, secrets), f);

  const roleChange = (role: AuthKeyLayout['role']) => differences.find((d) => d.object.kind === 'auth-key' && d.object.layout.role === role);
  const leftover = differences.some((d) => d.object.kind === 'temporary-admin');
  const adminChange = roleChange('admin');
  if (adminChange) {
    if (!onTemporary) {
      if (leftover)
        steps.push({
          text: `deleting the ${tempName} left by an interrupted upgrade`,
          run: () => asAdmin((s) => s.deleteObject(TEMPORARY_ADMIN_ID, ObjectType.AUTHENTICATION_KEY)),
        });
      steps.push({
        text: `putting a ${tempName} with the admin's password, so the device keeps a working admin key`,
        run: () =>
          asAdmin(async (s) => {
            await s.putAuthenticationKey({
              id: TEMPORARY_ADMIN_ID,
              label: objectLabel('admin-upgrade', secrets.fingerprint),
              domains: 0xffff,
              capabilities: ALL_CAPABILITIES,
              delegatedCapabilities: ALL_CAPABILITIES,
              password: secrets.password('admin'),
            });
          }),
      });
      steps.push({ text: `checking the ${tempName} opens a session`, run: () => mustOpen(temporaryAdminClient(c, secrets), tempName) });
    }
    steps.push(...replaceRole(adminChange, asTemporary, c, secrets, domains));
    steps.push({ text: `deleting the ${tempName}`, run: () => asAdmin((s) => s.deleteObject(TEMPORARY_ADMIN_ID, ObjectType.AUTHENTICATION_KEY)) });
  } else if (leftover) {
    steps.push({
      text: `deleting the ${tempName} left by an interrupted upgrade`,
      run: () => asAdmin((s) => s.deleteObject(TEMPORARY_ADMIN_ID, ObjectType.AUTHENTICATION_KEY)),
    });
  }
  for (const layout of AUTH_KEYS.filter((k) => k.role !== 'admin')) {
    const d = roleChange(layout.role);
    if (d) steps.push(...replaceRole(d, asAdmin, c, secrets, domains));
  }
  const wrap = differences.find((d) => d.object.kind === 'backup-wrap-key');
  if (wrap) {
    if (wrap.exists) steps.push({ text: `deleting ${wrap.name}`, run: () => asAdmin((s) => s.deleteObject(BACKUP_WRAP_KEY.id, ObjectType.WRAP_KEY)) });
    steps.push({
      text: `putting ${wrap.name} (AES-256-CCM, the same key from the mnemonic)`,
      run: () => asAdmin((s) => putBackupWrapKey(s, secrets, domains)),
    });
  }
  if (differences.some((d) => d.object.kind === 'device-log')) {
    steps.push({ text: 'turning on the device log: command audit for key use and changes, force audit', run: () => asAdmin(turnOnDeviceLog) });
  }
  return steps;
}

function replaceRole(
  d: LayoutDifference,
  as: (f: (s: YubiHsmClient) => Promise<void>) => Promise<void>,
  c: CeremonyConnection,
  secrets: CeremonySecrets,
  domains: number,
): Step[] {
  const layout = (d.object as { layout: AuthKeyLayout }).layout;
  return [
    ...(d.exists ? [{ text: `deleting ${d.name}`, run: () => as((s) => s.deleteObject(layout.id, ObjectType.AUTHENTICATION_KEY)) }] : []),
    { text: `putting ${d.name} with its password from the mnemonic`, run: () => as((s) => putRole(s, layout.role, secrets, domains)) },
    { text: `checking ${d.name} opens a session`, run: () => mustOpen(roleClient(c, layout.role, secrets), d.name) },
  ];
}
