/**
 * `kmsgate hsm upgrade`: a device set up by an earlier kmsgate brought to this version's layout
 * (packages/yubihsm/src/ceremony/upgrade.ts), authenticated with the admin key derived from the
 * mnemonic. The plan goes to stdout, progress to stderr; no secret is printed or written (the
 * objects keep their passwords, so the password files setup wrote stay as they are).
 */
import { CeremonyError, upgradeDevice, type UpgradePlan } from '@kmsgate/yubihsm';
import { CliError, type CliIo } from '../context';
import { loadSecrets, progressPrinter } from './ceremony-input';

export interface UpgradeCliOptions {
  connector: string;
  mnemonicFile: string;
  dryRun: boolean;
}

function planText(plan: UpgradePlan, fingerprint: string): string {
  return [
    `YubiHSM 2 serial ${plan.serial}, firmware ${plan.firmware}, set up from the mnemonic with fingerprint ${fingerprint}:`,
    ...plan.upToDate.map((name) => `  ${name}: up to date`),
    ...plan.changes.map((c) => `  ${c.name}: ${c.action} (${c.reason})`),
    '',
  ].join('\n');
}

export async function upgrade(opts: UpgradeCliOptions, io: CliIo): Promise<void> {
  const secrets = loadSecrets(opts.mnemonicFile);
  try {
    let result;
    try {
      result = await upgradeDevice({
        connectorUrl: opts.connector,
        secrets,
        dryRun: opts.dryRun,
        progress: progressPrinter(io),
        onPlan: (plan) => io.stdout(planText(plan, secrets.fingerprint)),
      });
    } catch (e) {
      if (e instanceof CeremonyError) throw new CliError(e.message);
      throw e;
    }
    const n = result.changes.length;
    if (n === 0) io.stdout('nothing to do: the device matches the layout\n');
    else if (!result.applied) io.stdout(`dry run: ${n} change(s) planned, nothing was changed\n`);
    else io.stdout(`upgraded: ${n} change(s) made; every object kept its ID and password, so the gateway's configuration is unchanged\n`);
  } finally {
    secrets.wipe();
  }
}
