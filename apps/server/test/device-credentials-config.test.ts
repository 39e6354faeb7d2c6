import { ConfigError, parseConfig, type YubiHsmBackendConfig } from '../src/config';

/**
 * A YubiHSM backend's extra authentication keys (keyAdmin, deviceLog) name where their password
 * comes from exactly once, as the backend's own does: a file or an environment variable.
 */
const backend = { id: 'hsm', type: 'yubihsm', connectorUrl: 'http://127.0.0.1:1', passwordEnv: 'HSM_PASSWORD' };
const parse = (extra: Record<string, unknown>) => parseConfig({ backends: [{ ...backend, ...extra }] }, 'test', {}).backends[0] as YubiHsmBackendConfig;

it.each([
  [
    'keyAdmin with both sources',
    { keyAdmin: { authKeyId: 2, passwordEnv: 'ADMIN', passwordFile: '/run/admin' } },
    'backends.0.keyAdmin: set exactly one of passwordFile or passwordEnv',
  ],
  ['keyAdmin with neither', { keyAdmin: { authKeyId: 2 } }, 'backends.0.keyAdmin: set exactly one of passwordFile or passwordEnv'],
  ['deviceLog with neither', { deviceLog: { authKeyId: 3 } }, 'backends.0.deviceLog: set exactly one of passwordFile or passwordEnv'],
  [
    'deviceLog with both',
    { deviceLog: { authKeyId: 3, passwordEnv: 'AUDITOR', passwordFile: '/run/auditor' } },
    'backends.0.deviceLog: set exactly one of passwordFile or passwordEnv',
  ],
  ['keyAdmin with a variable name that is not one', { keyAdmin: { authKeyId: 2, passwordEnv: 'not-a-name' } }, 'backends.0.keyAdmin.passwordEnv'],
  ['deviceLog with authentication key 0', { deviceLog: { authKeyId: 0, passwordEnv: 'AUDITOR' } }, 'backends.0.deviceLog.authKeyId'],
])('%s is refused, naming the field', (_what, extra, field) => {
  expect(() => parse(extra)).toThrow(ConfigError);
  expect(() => parse(extra)).toThrow(field);
});

it('takes one source each, with the device log read every 300 s unless told otherwise', () => {
  const b = parse({ keyAdmin: { authKeyId: 2, passwordFile: '/run/admin' }, deviceLog: { authKeyId: 3, passwordEnv: 'AUDITOR' } });
  expect(b.keyAdmin).toEqual({ authKeyId: 2, passwordFile: '/run/admin' });
  expect(b.deviceLog).toEqual({ authKeyId: 3, passwordEnv: 'AUDITOR', intervalSeconds: 300 });
});
