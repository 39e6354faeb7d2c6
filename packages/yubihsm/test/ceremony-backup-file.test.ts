import { BackupFileError, type BackupBody, openBackup, sealBackup } from '../src/ceremony/backup-file';
import { CeremonySecrets } from '../src/ceremony/mnemonic';

const MNEMONIC =
  'legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title';
const OTHER =
  'letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless';
const secrets = CeremonySecrets.fromMnemonic(MNEMONIC);

const body: BackupBody = {
  format: 'kmsgate-yubihsm-backup',
  version: 1,
  createdAt: '2026-12-05T10:00:00.000Z',
  fingerprint: secrets.fingerprint,
  wrapKeyId: 0x0100,
  device: { serial: 1234567, firmware: '2.4.0' },
  backendId: 'yubihsm',
  auditHead: { seq: 7, hash: 'ab'.repeat(32) },
  keys: [
    {
      keyId: '0b9a7f8e-0000-4000-8000-000000000001',
      createdAt: '2026-12-05T09:00:00.000Z',
      description: 'hot wallet',
      keyUsage: 'SIGN_VERIFY',
      keySpec: 'ECC_SECG_P256K1',
      keyState: 'Enabled',
      origin: 'AWS_CLOUDHSM',
      tags: [{ TagKey: 'team', TagValue: 'ops' }],
      aliases: ['alias/hot'],
      handle: '1234567:17',
      objectId: 17,
      capabilities: '0000000000010080',
      publicKey: 'MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAE',
      wrapped: 'AAEC',
    },
  ],
};

it('opens what it sealed', () => {
  expect(openBackup(sealBackup(body, secrets), secrets)).toEqual(body);
});

it('refuses a truncated file', () => {
  const text = sealBackup(body, secrets);
  for (const cut of [1, 10, text.length / 2, text.length - 3]) {
    expect(() => openBackup(text.slice(0, Math.floor(cut)), secrets)).toThrow(
      new BackupFileError('the file is not a complete kmsgate backup (it does not parse as JSON: truncated or not a backup)'),
    );
  }
});

it('refuses a tampered file, whichever field changed', () => {
  const text = sealBackup(body, secrets);
  const altered = [
    text.replace('"SIGN_VERIFY"', '"ENCRYPT_DECRYPT"'),
    text.replace('"1234567:17"', '"1234567:18"'),
    text.replace('"AAEC"', '"AAED"'),
    text.replace('"alias/hot"', '"alias/cold"'),
    text.replace(/"mac": "([0-9a-f])/, (_, c: string) => `"mac": "${c === '0' ? '1' : '0'}`),
    text.replace(/,\n "mac": "[0-9a-f]+"/, ''),
  ];
  for (const t of altered) {
    expect(t).not.toBe(text);
    expect(() => openBackup(t, secrets)).toThrow(new BackupFileError('the backup file was altered: its MAC does not match (restore nothing from it)'));
  }
});

it('tells a backup made under another mnemonic from an altered one', () => {
  const other = CeremonySecrets.fromMnemonic(OTHER);
  const text = sealBackup({ ...body, fingerprint: other.fingerprint }, other);
  expect(() => openBackup(text, secrets)).toThrow(
    new BackupFileError(`the backup was made under another mnemonic (fingerprint ${other.fingerprint}; this mnemonic's is ${secrets.fingerprint})`),
  );
});

it('refuses what is not a backup, and versions it does not read', () => {
  expect(() => openBackup('{"hello": 1}', secrets)).toThrow('the file is not a kmsgate backup');
  expect(() => openBackup(sealBackup({ ...body, version: 3 as 2 }, secrets), secrets)).toThrow('backup format version 3 is not supported');
});
