import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseLogFormat } from '../src/log';
import { runMain, spawnMain } from './helpers/main-process';

/** LOG_FORMAT: JSON lines by default, `time LEVEL message key=value …` for people with `pretty`. */
describe('the logger', () => {
  const capture = (format: 'json' | 'pretty') => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level: 'info', format, sink: (l) => lines.push(l) }) };
  };
  const fields = {
    requestId: 'f0e1',
    client: '2001:db8::7',
    operation: 'Sign',
    status: 200,
    ms: 1.5,
    ok: true,
    none: undefined,
    detail: 'two words\nand a line',
  };

  it('json: one object per line, as before', () => {
    const { lines, logger } = capture('json');
    logger.info('request', fields);
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.stringMatching(/Z$/), level: 'info', msg: 'request', ...fields, none: undefined });
  });

  it('pretty: one line per event, words bare, anything else quoted so it never breaks the line', () => {
    const { lines, logger } = capture('pretty');
    logger.warn('backend down', fields);
    logger.info('kmsgate listening', { backends: ['yubihsm (embedded simulator)', 'tee'], tls: { subject: 'CN=a b' } });
    logger.debug('not shown');
    expect(lines).toEqual([
      expect.stringMatching(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN {2}backend down requestId=f0e1 client=2001:db8::7 operation=Sign status=200 ms=1.5 ok=true detail="two words\\nand a line"$/,
      ),
      expect.stringMatching(/Z INFO {2}kmsgate listening backends=\["yubihsm \(embedded simulator\)","tee"\] tls=\{"subject":"CN=a b"\}$/),
    ]);
  });

  it('LOG_FORMAT takes json or pretty; unset is json; anything else is refused', () => {
    expect([undefined, '', 'json', 'pretty'].map(parseLogFormat)).toEqual(['json', 'json', 'json', 'pretty']);
    expect(parseLogFormat('yaml')).toEqual({ error: 'LOG_FORMAT must be json or pretty, got "yaml"' });
  });
});

describe('npm start (apps/server/src/main.ts through tsx)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'kmsgate-log-format-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = () => ({ KMSGATE_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', KMSGATE_CONFIG: '', KMSGATE_YUBIHSM_URL: '', KMSGATE_TEE_SOCKET: '' });

  it('LOG_FORMAT=pretty logs human-readable lines from start to stop', async () => {
    const child = spawnMain({ ...env(), LOG_FORMAT: 'pretty' });
    let stderr = '';
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    try {
      const listening = await new Promise<string>((ok, fail) => {
        child.stderr!.on('data', (c: Buffer) => {
          stderr += c.toString();
          const m = / INFO {2}kmsgate listening url=(http:\/\/\S+) /.exec(stderr);
          if (m) ok(m[1]!);
        });
        void exited.then((code) => fail(new Error(`exited (${code}) before listening:\n${stderr}`)));
      });
      expect((await fetch(`${listening}/version`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const lines = stderr.trimEnd().split('\n');
      for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z (DEBUG|INFO |WARN |ERROR) \S/);
      expect(lines.at(-1)).toMatch(/Z INFO {2}stopped abandoned=0$/);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('an unknown LOG_FORMAT stops it before anything starts: one line, exit 2', async () => {
    const { status, stderr } = await runMain({ ...env(), LOG_FORMAT: 'xml' });
    expect({ status, stderr }).toEqual({ status: 2, stderr: 'kmsgate: LOG_FORMAT must be json or pretty, got "xml"\n' });
  });
});
