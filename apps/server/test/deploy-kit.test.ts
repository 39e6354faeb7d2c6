import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveDataDir } from '@kmsgate/store';
import { ConfigError, loadConfig, parseConfig } from '../src/config';
import { REPO_ROOT } from '../src/gateway';

/**
 * deploy/systemd/kmsgate.service and docs/deploy.md against the code they start, for what a host
 * only shows once the unit runs there: the file ExecStart names is one `npm run build` makes, the
 * unit's environment is what the gateway reads, the documented configuration loads, and its
 * passwordFiles are where the unit's LoadCredential= puts them. (docs/deploy.md says how the unit
 * itself was run under systemd.)
 */
const UNIT_NAME = 'kmsgate.service';
const INSTALL_ROOT = '/opt/kmsgate/';

/** A unit file's settings: each key with its values in order (Environment= and LoadCredential= repeat), continuation lines joined. */
function readUnit(path: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  const text = readFileSync(path, 'utf8').replace(/\\\n\s*/g, ' ');
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!.trim()]);
  }
  return settings;
}

const unit = readUnit(join(REPO_ROOT, 'deploy', 'systemd', UNIT_NAME));
const one = (key: string): string => {
  const values = unit.get(key) ?? [];
  expect(values).toHaveLength(1);
  return values[0]!;
};
const unitEnv = (): NodeJS.ProcessEnv => Object.fromEntries((unit.get('Environment') ?? []).map((kv) => kv.split(/=(.*)/s, 2) as [string, string]));
const deployDoc = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');

/** The TypeScript source `npm run build` compiles into `<workspace>/dist/<file>.js` (scripts/build.ts: each workspace's src/ → its dist/). */
function sourceOfBuilt(builtPath: string): string {
  const m = /^((?:apps|packages)\/[^/]+)\/dist\/(.+)\.js$/.exec(builtPath);
  if (!m) throw new Error(`${builtPath} is not in a workspace's dist/`);
  return `${m[1]}/src/${m[2]}.ts`;
}

it("ExecStart runs the kmsgate CLI's serve from the compiled build, with plain node and the condition every workspace's exports has", () => {
  const [node, condition, script, command, ...rest] = one('ExecStart').split(/\s+/);
  expect([node, condition, command, rest]).toEqual(['/usr/bin/node', '--conditions=kmsgate-built', 'serve', []]);
  expect(script!.startsWith(INSTALL_ROOT)).toBe(true);
  expect(sourceOfBuilt(script!.slice(INSTALL_ROOT.length))).toBe('apps/kmsgate/src/main.ts');
  expect(existsSync(join(REPO_ROOT, 'apps', 'kmsgate', 'src', 'main.ts'))).toBe(true);
  const workspaces = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  for (const ws of workspaces) {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, ws, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect([ws, pkg.exports['.']!['kmsgate-built']]).toEqual([ws, './dist/index.js']);
  }
});

it('every built file the deploy docs and units run is one the build makes from a source that exists', () => {
  const texts = [
    readFileSync(join(REPO_ROOT, 'deploy', 'systemd', UNIT_NAME), 'utf8'),
    deployDoc,
    readFileSync(join(REPO_ROOT, 'docs', 'backup.md'), 'utf8'),
    readFileSync(join(REPO_ROOT, 'docs', 'tee-board.md'), 'utf8'),
  ];
  const built = [...new Set(texts.flatMap((t) => [...t.matchAll(/\/opt\/kmsgate\/(\S+\/dist\/\S+\.js)/g)].map((m) => m[1]!)))];
  expect(built).toContain('apps/kmsgate/dist/main.js');
  expect(built.filter((b) => !existsSync(join(REPO_ROOT, sourceOfBuilt(b))))).toEqual([]);
});

it("the unit's Environment= is what the gateway reads: its data dir is the unit's StateDirectory=, its configuration the file docs/deploy.md writes", () => {
  const env = unitEnv();
  expect(resolveDataDir(env)).toBe(`/var/lib/${one('StateDirectory')}`);
  expect(one('WorkingDirectory')).toBe(resolveDataDir(env));
  expect(deployDoc).toContain(`\`${env.KMSGATE_CONFIG}\` (mode 0640, group kmsgate)`);
  // The gateway reads the file the variable names (it does not exist here).
  expect(() => loadConfig(env)).toThrow(
    new ConfigError(`cannot read KMSGATE_CONFIG ${env.KMSGATE_CONFIG}: ENOENT: no such file or directory, open '${env.KMSGATE_CONFIG}'`),
  );
});

describe("docs/deploy.md's configuration", () => {
  const blocks = [...deployDoc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const full = blocks.find((b) => /^backends:/m.test(b))!;

  it("every YAML example loads with the gateway's own loader (a server: fragment over the whole file)", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const whole = parseYaml(full) as { server: object };
    for (const block of blocks) {
      const fragment = parseYaml(block) as { server?: object };
      const config = { ...whole, ...fragment, server: { ...whole.server, ...fragment.server } };
      expect(() => parseConfig(config, 'docs/deploy.md', unitEnv())).not.toThrow();
    }
  });

  it('reads its device passwords where LoadCredential= puts them, from the files the doc installs', () => {
    const config = parseConfig(parseYaml(full), 'docs/deploy.md', unitEnv());
    const backend = config.backends[0] as { passwordFile: string; keyAdmin: { passwordFile: string }; deviceLog: { passwordFile: string } };
    const credentials = new Map((unit.get('LoadCredential') ?? []).map((c) => c.split(':', 2) as [string, string]));
    for (const passwordFile of [backend.passwordFile, backend.keyAdmin.passwordFile, backend.deviceLog.passwordFile]) {
      const m = new RegExp(`^/run/credentials/${UNIT_NAME.replace('.', '\\.')}/(.+)$`).exec(passwordFile);
      expect(m).not.toBeNull();
      const source = credentials.get(m![1]!);
      expect([m![1], source]).toEqual([m![1], expect.stringMatching(/^\/etc\/kmsgate\/credentials\//)]);
      expect(deployDoc).toMatch(new RegExp(`^install -m 0600 -o root \\S+ +${source!.replace(/\./g, '\\.')}$`, 'm'));
    }
    expect(config.production).toBe(true);
  });
});
