/**
 * `kmsgate kill-switch on|off [--key <key id|alias>] [--reason <text>]` and `kmsgate kill-switch status`.
 * Writes the switch straight into the store the gateway reads on every Sign (docs/policy.md, "Kill
 * switch"), so it takes effect on the gateway's very next request, running or not; each change is
 * written to the audit log (decision admin, operation SetKillSwitch, API key "-": the CLI).
 */
import { GLOBAL_KILL_SWITCH, describeKillSwitches } from '@kmsgate/policy';
import type { KeyRepository } from '@kmsgate/store';
import { CliError, auditCliChange, printable, withStore, type CommandModule } from '../context';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Who the kill_switches table says engaged a switch from here. */
export const CLI_ACTOR = 'cli';

export const killSwitchCommands: CommandModule = (program, { io }) => {
  const ks = program.command('kill-switch').description("stop all signing, or one key's, at once (the gateway reads the switch on every Sign)");

  const flip = (engaged: boolean) => async (opts: { key?: string; reason?: string; json?: boolean }) => {
    const result = await withStore(io.env, { sealKey: false }, async (store) => {
      const state = store.policyState;
      const target = opts.key === undefined ? GLOBAL_KILL_SWITCH : resolveKeyId(store.keys, opts.key);
      const changed = await state.setKillSwitch(target, engaged, CLI_ACTOR, opts.reason ?? null, new Date());
      if (changed) {
        await auditCliChange(io.env, store, {
          operation: 'SetKillSwitch',
          ...(target === GLOBAL_KILL_SWITCH ? {} : { keyId: target }),
          summary: {
            target: target === GLOBAL_KILL_SWITCH ? 'global' : 'key',
            engaged,
            via: 'cli',
            ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          },
        });
      }
      return { target, changed, switches: await state.listKillSwitches() };
    });
    const what = result.target === GLOBAL_KILL_SWITCH ? 'the global kill switch' : `the kill switch of key ${result.target}`;
    if (opts.json) io.stdout(`${JSON.stringify({ changed: result.changed, ...describeKillSwitches(result.switches) }, null, 2)}\n`);
    else io.stdout(`${what} is ${engaged ? 'ENGAGED' : 'released'}${result.changed ? '' : ' (it already was)'}\n`);
  };

  ks.command('on')
    .description('engage: no signature (global) or none with that key until released')
    .option('--key <key>', 'a key id or alias name (alias/…); left out: the global switch')
    .option('--reason <text>', 'why, for the audit log and for clients that are refused')
    .option('--json', 'print the resulting state as JSON')
    .action(flip(true));

  ks.command('off')
    .description('release')
    .option('--key <key>', 'a key id or alias name (alias/…); left out: the global switch')
    .option('--json', 'print the resulting state as JSON')
    .action(flip(false));

  ks.command('status')
    .description('list the engaged switches')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const switches = await withStore(io.env, { sealKey: false }, (store) => store.policyState.listKillSwitches());
      if (opts.json) {
        io.stdout(`${JSON.stringify(describeKillSwitches(switches), null, 2)}\n`);
        return;
      }
      if (switches.length === 0) io.stdout('no kill switch is engaged\n');
      for (const s of switches) {
        const what = s.target === GLOBAL_KILL_SWITCH ? 'global' : `key ${s.target}`;
        io.stdout(`${what}: ENGAGED since ${s.engagedAt.toISOString()} by ${printable(s.engagedBy)}${s.reason ? ` (${printable(s.reason)})` : ''}\n`);
      }
    });
};

/** A key switch is bound to the key id, so an alias is resolved now: moving the alias later does not release it. */
export function resolveKeyId(keys: KeyRepository, key: string): string {
  if (UUID.test(key)) {
    if (!keys.getKey(key)) throw new CliError(`no key with id ${key}`);
    return key;
  }
  if (key.startsWith('alias/')) {
    const target = keys.getAliasTarget(key);
    if (target === undefined) throw new CliError(`no alias ${printable(key)}`);
    return target;
  }
  throw new CliError(`--key must be a key id (UUID) or an alias name (alias/…), got ${printable(key)}`);
}
