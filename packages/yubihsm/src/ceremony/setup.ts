/**
 * `kmsgate hsm setup`: takes a factory-fresh (or, with `reset`, any) YubiHSM 2 to the layout in
 * layout.ts, every secret derived from the mnemonic. Order matters: the device admin key is put
 * and proven to open a session before anything else, and the factory key 1 is deleted last, after
 * everything else is in place; an interrupted run leaves the factory key, so a re-run removes the
 * partial objects and starts again. A device already set up from the same mnemonic is checked
 * object by object instead (so a run interrupted after the factory key went still completes).
 */
import { ObjectType } from '../codes';
import type { YubiHsmClient } from '../client';
import { DEFAULT_AUTH_KEY_ID } from '../scp03/kdf';
import { AUTH_KEYS, BACKUP_WRAP_KEY, authKeyOf } from './layout';
import { hex4, inspectLayout, putBackupWrapKey, putRole, turnOnDeviceLog } from './layout-objects';
import type { CeremonySecrets } from './mnemonic';
import { type CeremonyConnection, CeremonyError, closing, factoryClient, opens, roleClient } from './sessions';

export type SetupProgress = (step: number, total: number, text: string) => void;

export interface SetupOptions extends CeremonyConnection {
  secrets: CeremonySecrets;
  /** Domain mask of kmsgate's keys (the gateway's `domains`). */
  domains: number;
  /** Factory-reset the device first (with this mnemonic's admin key, or the factory key). */
  reset?: boolean;
  progress?: SetupProgress;
  /** How long to wait for the device to come back after a reset (default 60 s). */
  resetWaitMs?: number;
}

export interface SetupResult {
  serial: number;
  firmware: string;
  /** 'created': the layout was put on the device; 'verified': it was there already, and checked. */
  outcome: 'created' | 'verified';
}

export async function setupDevice(options: SetupOptions): Promise<SetupResult> {
  const { secrets, domains } = options;
  const progress = options.progress ?? (() => undefined);
  const factory = factoryClient(options);
  const admin = roleClient(options, 'admin', secrets);
  return closing([factory, admin], async () => {
    let total = 11 + (options.reset ? 1 : 0);
    let step = 0;
    const say = (text: string): void => progress(++step, total, text);

    say('identifying the device');
    const info = await factory.deviceInfo();
    const result = { serial: info.serial, firmware: `${info.major}.${info.minor}.${info.build}` };

    if (options.reset) {
      say('resetting the device (every object on it is erased)');
      const resetter = (await opens(admin)) ? admin : (await opens(factory)) ? factory : undefined;
      if (!resetter) {
        throw new CeremonyError(
          "cannot reset: neither this mnemonic's admin key (0x0002) nor the factory key 1 opens a session. " +
            'Reset the device by hand (hold its touch sensor for 10 s while inserting it), then run setup again without --reset.',
        );
      }
      await resetter.resetDevice();
      await waitForDevice(factory, options.resetWaitMs ?? 60_000);
    }

    say('opening a session with the factory key 1');
    if (!(await opens(factory))) {
      if (await opens(admin)) {
        total = step + 1;
        await verifyLayout(options, say);
        return { ...result, outcome: 'verified' as const };
      }
      throw new CeremonyError(
        'the device is neither factory-fresh nor set up from this mnemonic: authentication key 1 refuses the ' +
          'factory password and the admin key 0x0002 refuses this mnemonic. Check the mnemonic, or erase the device with --reset.',
      );
    }

    say('checking what the device holds');
    await clearPartialLayout(factory, options.reset === true);

    const adminLayout = authKeyOf('admin');
    say(`putting authentication key ${hex4(adminLayout.id)} (admin)`);
    await putRole(factory, 'admin', secrets, domains);

    say('verifying the admin key opens a session');
    if (!(await opens(admin))) throw new CeremonyError('the admin key just put does not open a session; the factory key 1 was kept');

    for (const role of ['keyadmin', 'runtime', 'auditor'] as const) {
      say(`putting authentication key ${hex4(authKeyOf(role).id)} (${role})`);
      await putRole(admin, role, secrets, domains);
    }

    say(`putting wrap key ${hex4(BACKUP_WRAP_KEY.id)} (backup, AES-256-CCM)`);
    await putBackupWrapKey(admin, secrets, domains);

    say('turning on the device log: command audit for key use and changes, force audit');
    await turnOnDeviceLog(admin);

    say('deleting the factory authentication key 1');
    await admin.deleteObject(DEFAULT_AUTH_KEY_ID, ObjectType.AUTHENTICATION_KEY);
    await factory.close();
    const check = factoryClient(options);
    if (await closing([check], () => opens(check))) throw new CeremonyError('the factory key 1 still opens a session after it was deleted');
    return { ...result, outcome: 'created' as const };
  });
}

/** The (type, id) pairs of the kmsgate layout. */
function layoutObjects(): { type: number; id: number }[] {
  return [...AUTH_KEYS.map((k) => ({ type: ObjectType.AUTHENTICATION_KEY as number, id: k.id })), { type: BACKUP_WRAP_KEY.type, id: BACKUP_WRAP_KEY.id }];
}

/**
 * A factory-fresh device holds only key 1. Objects of the kmsgate layout are what an interrupted
 * setup left behind: they are deleted and put again. Anything else (someone else's keys) stops
 * setup unless the operator asked for a reset.
 */
async function clearPartialLayout(factory: YubiHsmClient, afterReset: boolean): Promise<void> {
  const ours = layoutObjects();
  const objects = await factory.listObjects();
  const foreign = objects.filter(
    (o) => !(o.type === ObjectType.AUTHENTICATION_KEY && o.id === DEFAULT_AUTH_KEY_ID) && !ours.some((k) => k.type === o.type && k.id === o.id),
  );
  if (foreign.length > 0 && !afterReset) {
    throw new CeremonyError(
      `the device holds ${foreign.length} object(s) besides the factory key (e.g. type ${foreign[0]!.type} id ${hex4(foreign[0]!.id)}); ` +
        'setup wants a factory-fresh device: run it with --reset to erase them',
    );
  }
  for (const o of objects) {
    if (ours.some((k) => k.type === o.type && k.id === o.id)) await factory.deleteObject(o.id, o.type);
  }
}

/** Polls DEVICE_INFO until the device answers again after a reset (it reboots). */
async function waitForDevice(client: YubiHsmClient, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      await client.deviceInfo();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new CeremonyError(`the device did not come back within ${Math.round(waitMs / 1000)} s of the reset`, { cause: e });
    }
    await new Promise((ok) => setTimeout(ok, delay));
  }
}

/**
 * The device was set up from this mnemonic before: every object must be what this version puts,
 * or setup says what differs and that `kmsgate hsm upgrade` brings it to the layout.
 */
async function verifyLayout(options: SetupOptions, say: (text: string) => void): Promise<void> {
  const admin = roleClient(options, 'admin', options.secrets);
  const { differences } = await closing([admin], () => {
    say('checking every object of the layout and the device log settings');
    return inspectLayout(admin, options, options.secrets);
  });
  if (differences.length > 0) {
    throw new CeremonyError(
      `the device was set up from this mnemonic but differs from the layout: ${differences.map((d) => `${d.name}: ${d.reason}`).join('; ')}. ` +
        'Run npx kmsgate hsm upgrade to bring it to the layout (same object IDs and passwords; docs/yubihsm-setup.md).',
    );
  }
}
