/**
 * `kmsgate policy list|get|put|delete`: the runtime signing policies an admin can also change with
 * the admin API (PUT /admin/policies/<selector>). They live in the store the gateway reads on every
 * Sign, so a change takes effect on its next request; each change is written to the audit log.
 * The YAML config's `policies` are the baseline: a runtime policy overrides the config's for the
 * same selector, and deleting it falls back to the config (which this command does not read).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { KEY_SELECTOR, KEY_SELECTOR_MESSAGE, PolicyValidationError, parseSigningPolicy, policyToJson, type RuntimePolicyRecord } from '@kmsgate/policy';
import { CliError, auditCliChange, printable, withStore, type CommandModule } from '../context';

/** Who the runtime_policies table says made a change from here. */
const CLI_ACTOR = 'cli';

function selectorArg(selector: string): string {
  if (!KEY_SELECTOR.test(selector)) throw new CliError(`the selector ${printable(selector)} ${KEY_SELECTOR_MESSAGE}`);
  return selector;
}

function view(r: RuntimePolicyRecord) {
  return { selector: r.selector, policy: JSON.parse(r.policy) as unknown, updatedAt: r.updatedAt.toISOString(), updatedBy: r.updatedBy };
}

/** A policy file is JSON or YAML (JSON is YAML); it is validated exactly as the gateway validates config policies. */
function readPolicyFile(path: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read policy file ${printable(path)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return policyToJson(parseSigningPolicy(raw));
  } catch (e) {
    if (e instanceof PolicyValidationError) throw new CliError(`invalid policy in ${printable(path)}: ${e.issues.join('; ')}`);
    throw e;
  }
}

export const policyCommands: CommandModule = (program, { io, setExitCode }) => {
  const policy = program.command('policy').description("runtime signing policies (they override the config's for the same key id or alias)");

  policy
    .command('list')
    .description('list the runtime policies')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const records = await withStore(io.env, { sealKey: false }, (store) => store.policyState.listRuntimePolicies());
      if (opts.json) {
        io.stdout(`${JSON.stringify(records.map(view), null, 2)}\n`);
        return;
      }
      if (records.length === 0) io.stdout("no runtime policy (the config's policies apply)\n");
      for (const r of records) io.stdout(`${r.selector}  updated ${r.updatedAt.toISOString()} by ${printable(r.updatedBy)}\n`);
    });

  policy
    .command('get <selector>')
    .description('print the runtime policy for a key id or alias, as JSON')
    .action(async (selector: string) => {
      const sel = selectorArg(selector);
      const record = await withStore(io.env, { sealKey: false }, (store) => store.policyState.runtimePoliciesFor([sel])[0]);
      if (!record) {
        io.stderr(`no runtime policy for ${sel}\n`);
        setExitCode(1);
        return;
      }
      io.stdout(`${JSON.stringify(view(record), null, 2)}\n`);
    });

  policy
    .command('put <selector>')
    .description('set the runtime policy for a key id or alias from a JSON or YAML file')
    .requiredOption('--file <path>', "the policy, in the same form as one entry of the config's policies")
    .action(async (selector: string, opts: { file: string }) => {
      const sel = selectorArg(selector);
      const normalised = readPolicyFile(opts.file);
      await withStore(io.env, { sealKey: false }, async (store) => {
        await store.policyState.putRuntimePolicy(sel, JSON.stringify(normalised), CLI_ACTOR, new Date());
        await auditCliChange(io.env, store, { operation: 'PutSigningPolicy', summary: { selector: sel, policy: normalised, via: 'cli' } });
      });
      io.stdout(`runtime policy for ${sel} set; the gateway applies it from its next request\n`);
    });

  policy
    .command('delete <selector>')
    .description("delete the runtime policy; the config's policy for the selector, if any, applies again")
    .action(async (selector: string) => {
      const sel = selectorArg(selector);
      const deleted = await withStore(io.env, { sealKey: false }, async (store) => {
        const ok = await store.policyState.deleteRuntimePolicy(sel);
        if (ok) await auditCliChange(io.env, store, { operation: 'DeleteSigningPolicy', summary: { selector: sel, via: 'cli' } });
        return ok;
      });
      if (!deleted) {
        io.stderr(`no runtime policy for ${sel}\n`);
        setExitCode(1);
        return;
      }
      io.stdout(`runtime policy for ${sel} deleted\n`);
    });
};
