/**
 * `api-key`: manage kmsgate API keys directly in the store the server reads.
 * stdout carries the results (a new key's credentials, listings, JSON); messages for humans go to stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { formatTable } from '@kmsgate/core';
import { ConfigError, loadConfig, storeSpec } from '@kmsgate/server/config';
import { API_KEY_ROLES, StoreLocationError, type ApiKeyRecord, type ApiKeyRepository, type ApiKeyRole, type ApiKeyScope } from '@kmsgate/store';
import { openGatewayStore } from '@kmsgate/store-open';
import { VERSION } from './version';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI on `args` (without node and script path); resolves to the process exit code. */
export async function run(args: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('api-key')
    .description('Manage kmsgate API keys (x-api-key values and SigV4 credentials) in the local store.')
    .addHelpText(
      'after',
      '\nThe store is the one the server uses: the PostgreSQL database of store.url when the configuration ($KMSGATE_CONFIG, or --config) sets it, ' +
        'otherwise $KMSGATE_DATA_DIR/kms.db (default ./data/kms.db, or $KMS_DB_PATH). ' +
        'It must exist (the server creates it on its first start, or `kmsgate init`): a missing or foreign one is refused with exit code 2.',
    )
    .option('--config <file>', "the gateway's configuration file, for its store (default: $KMSGATE_CONFIG)")
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run api-key --help for usage)');
  // The store is opened in the actions, after the options are parsed: --config applies to every command.
  let env = io.env;
  program.hook('preAction', () => {
    const { config } = program.opts<{ config?: string }>();
    if (config !== undefined) env = { ...io.env, KMSGATE_CONFIG: config };
  });

  program
    .command('generate')
    .description('create a key; prints its x-api-key value and its SigV4 pair (access key id, secret access key), once')
    .requiredOption('--label <label>', 'who or what the key is for (1-128 characters)')
    .addOption(new Option('--role <role>', 'what the key may do').choices(API_KEY_ROLES).default('signer'))
    .option('--scope <key>', 'a key id or alias name (alias/…) a signer key may use; repeat for more. Without it: every key', collect, [])
    .option('--expires-in <duration>', 'refuse the key from this long after now on: a whole number of s, m, h or d (90s, 15m, 12h, 30d). Without it: never')
    .addOption(new Option('--json', 'print id, label, role, apiKey, accessKeyId, secretAccessKey and expiresAt as one JSON object').conflicts('env'))
    .option('--env', 'print shell export lines: KMSGATE_API_KEY, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (eval "$(api-key generate … --env)")')
    .action(async (opts: { label: string; role: ApiKeyRole; scope: string[]; expiresIn?: string; json?: boolean; env?: boolean }) => {
      // Checked before the store is opened: a mistyped duration changes nothing.
      const lifetimeMs = opts.expiresIn === undefined ? undefined : parseDuration(opts.expiresIn);
      // One instant for the creation date and the expiry, so the key lives exactly as long as asked.
      const now = new Date();
      await withApiKeys(env, { sealKey: true, now: () => now }, async (store) => {
        const k = await store.generate({
          label: opts.label,
          role: opts.role,
          ...(opts.scope.length > 0 ? { scope: opts.scope } : {}),
          ...(lifetimeMs !== undefined ? { expiresAt: new Date(now.getTime() + lifetimeMs) } : {}),
        });
        if (opts.json) {
          io.stdout(
            `${JSON.stringify(
              {
                id: k.id,
                label: k.label,
                role: k.role,
                apiKey: k.apiKey,
                accessKeyId: k.accessKeyId,
                secretAccessKey: k.secretAccessKey,
                createdAt: iso(k.createdAt),
                expiresAt: k.expiresAt && iso(k.expiresAt),
              },
              null,
              2,
            )}\n`,
          );
        } else if (opts.env) {
          // The names the AWS SDKs, the AWS CLI and boto3 read by themselves, and the README's x-api-key one.
          io.stdout(
            `export KMSGATE_API_KEY=${shellQuote(k.apiKey)}\n` +
              `export AWS_ACCESS_KEY_ID=${shellQuote(k.accessKeyId)}\n` +
              `export AWS_SECRET_ACCESS_KEY=${shellQuote(k.secretAccessKey)}\n`,
          );
        } else {
          io.stdout(`x-api-key          ${k.apiKey}\n` + `access key id      ${k.accessKeyId}\n` + `secret access key  ${k.secretAccessKey}\n`);
        }
        io.stderr(
          `Created API key ${k.id} (label ${JSON.stringify(k.label)}, role ${k.role}; scope: ${describeScope(store.scopeOf(k.id)!)}; ` +
            `${k.expiresAt ? `expires ${iso(k.expiresAt)}` : 'does not expire'}).\n` +
            `  ${KEPT}\n`,
        );
      });
    });

  program
    .command('list')
    .description('list keys (never any secret)')
    .option('--json', 'print a JSON array')
    .action(async (opts: { json?: boolean }) => {
      await withApiKeys(env, { sealKey: false }, async (store) => {
        const records = (await store.list()).map((r) => ({ ...r, scope: store.scopeOf(r.id)! }));
        io.stdout(opts.json ? `${JSON.stringify(records.map(toJson), null, 2)}\n` : table(records, Date.now()));
      });
    });

  program
    .command('scope')
    .description('show or change which keys a signer key may use (ids or alias names); changes apply from the next request')
    .argument('<id>', 'the API key id (ak_…)')
    .option('--add <key>', 'allow this key id or alias name; repeat for more', collect, [])
    .option('--remove <key>', 'stop allowing it; removing the last one leaves a key that may use no key', collect, [])
    .option('--all-keys', 'lift the restriction: the key may use every key')
    .option('--json', 'print the scope as JSON')
    .action(async (id: string, opts: { add: string[]; remove: string[]; allKeys?: boolean; json?: boolean }) => {
      await withApiKeys(env, { sealKey: false }, async (store) => {
        if ((await store.get(id)) === undefined) {
          io.stderr(`api-key: no API key with id '${id}'\n`);
          exitCode = 1;
          return;
        }
        const change = opts.add.length > 0 || opts.remove.length > 0 || opts.allKeys;
        const scope = change
          ? await store.updateScope(id, { add: opts.add, remove: opts.remove, ...(opts.allKeys ? { allKeys: true } : {}) })
          : store.scopeOf(id)!;
        io.stdout(opts.json ? `${JSON.stringify(scopeJson(scope))}\n` : `${id}: ${describeScope(scope)}\n`);
      });
    });

  program
    .command('revoke')
    .description('revoke a key; the server refuses it from the next request on')
    .argument('<id>', 'the key id (ak_…)')
    .action(async (id: string) => {
      // No seal key needed: a revoke must work even when credential.key is missing or unreadable.
      await withApiKeys(env, { sealKey: false }, async (store) => {
        const before = await store.get(id);
        if (before === undefined) {
          io.stderr(`api-key: no API key with id '${id}'\n`);
          exitCode = 1;
        } else if (before.revokedAt !== null) {
          io.stderr(`api-key: ${id} was already revoked at ${iso(before.revokedAt)}\n`);
        } else {
          await store.revoke(id);
          io.stdout(`revoked ${id} (${before.label})\n`);
        }
      });
    });

  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    io.stderr(`api-key: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof StoreLocationError || e instanceof ConfigError || e instanceof UsageError ? 2 : 1;
  }
}

/** What kmsgate keeps of a new key's secrets (store/api-keys.ts): SigV4 needs the secret itself to check a signature. */
const KEPT =
  'kmsgate keeps only a hash of the x-api-key value and a copy of the secret access key sealed under credential.key: ' +
  'store both now, they are not shown again.';

/** A mistyped argument the user can fix; printed without a stack, exit code 2. */
class UsageError extends Error {}

const DURATION_UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Ten years: longer is "never", which is what leaving --expires-in out says. */
const MAX_LIFETIME_MS = 3650 * DURATION_UNIT_MS.d;

/** `--expires-in`: a whole positive number and one unit (30d, 12h, 15m, 90s). */
function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,9})([smhd])$/.exec(text);
  const ms = m ? Number(m[1]) * DURATION_UNIT_MS[m[2] as keyof typeof DURATION_UNIT_MS] : NaN;
  if (!(ms <= MAX_LIFETIME_MS)) {
    throw new UsageError(`--expires-in must be a whole number of s, m, h or d (90s, 15m, 12h, 30d), at most 3650d; got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** POSIX single quotes: the values are base64, but the quoting must not depend on that. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The store the server uses, found as it finds it (its configuration's store.url, else the data
 * dir); a missing or foreign one is a StoreLocationError, a mistake in the configuration a
 * ConfigError (both exit 2), and is left alone.
 */
async function withApiKeys(
  env: NodeJS.ProcessEnv,
  opts: { sealKey: boolean; now?: () => Date },
  f: (apiKeys: ApiKeyRepository) => Promise<void>,
): Promise<void> {
  const store = await openGatewayStore(storeSpec(loadConfig(env), env), env, opts);
  try {
    await f(store.apiKeys);
  } finally {
    await store.close();
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function describeScope(scope: ApiKeyScope): string {
  if (!scope.restricted) return 'every key';
  return scope.selectors.length === 0 ? 'no key (its scope is empty)' : scope.selectors.join(', ');
}

/** null: every key; otherwise the key ids and alias names it may use. */
function scopeJson(scope: ApiKeyScope): string[] | null {
  return scope.restricted ? [...scope.selectors] : null;
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toJson(r: ApiKeyRecord & { scope: ApiKeyScope }): Record<string, string | string[] | null> {
  return {
    id: r.id,
    label: r.label,
    role: r.role,
    accessKeyId: r.accessKeyId,
    createdAt: iso(r.createdAt),
    revokedAt: r.revokedAt && iso(r.revokedAt),
    lastUsedAt: r.lastUsedAt && iso(r.lastUsedAt),
    expiresAt: r.expiresAt && iso(r.expiresAt),
    scope: scopeJson(r.scope),
  };
}

function table(records: readonly (ApiKeyRecord & { scope: ApiKeyScope })[], now: number): string {
  if (records.length === 0) return 'no API keys\n';
  const rows = [
    ['ID', 'LABEL', 'ROLE', 'ACCESS KEY ID', 'CREATED', 'EXPIRES', 'REVOKED', 'LAST USED', 'SCOPE'],
    ...records.map((r) => [
      r.id,
      r.label,
      r.role,
      r.accessKeyId,
      iso(r.createdAt),
      r.expiresAt ? `${iso(r.expiresAt)}${r.expiresAt.getTime() <= now ? ' (expired)' : ''}` : 'never',
      r.revokedAt ? iso(r.revokedAt) : '-',
      r.lastUsedAt ? iso(r.lastUsedAt) : '-',
      !r.scope.restricted ? '*' : r.scope.selectors.length === 0 ? '(none)' : r.scope.selectors.join(','),
    ]),
  ];
  return formatTable(rows);
}
