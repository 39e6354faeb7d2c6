import { Command, responseCode } from '../src/codes';
import { ObjectType } from '../src/codes';
import { type DeviceLogEntry, describeEntry, keyObject, reconcile } from '../src/ceremony/reconcile';

const wrapKeyObject = (id: number) => keyObject(ObjectType.WRAP_KEY, id);

let n = 0;
function entry(command: number, target: number, ok = true, sessionKey = 4): DeviceLogEntry {
  n++;
  return {
    serial: 7,
    number: n,
    command,
    length: 34,
    sessionKey,
    targetKey: target,
    secondKey: 0xffff,
    result: ok ? responseCode(command) : 0x0b,
    tick: 1000 + n,
    digest: new Uint8Array(16),
  };
}
const none = new Map<number, number>();
const objects = new Set([0x11, 0x12]);

beforeEach(() => {
  n = 0;
});

it('matches each device signature to a kmsgate record of its key', () => {
  const entries = [entry(Command.SIGN_ECDSA, 0x11), entry(Command.SIGN_EDDSA, 0x12), entry(Command.SIGN_ECDSA, 0x11)];
  const r = reconcile({
    entries,
    recorded: new Map([
      [0x11, 2],
      [0x12, 1],
    ]),
    carried: none,
    kmsgateObjects: objects,
  });
  expect(r).toEqual({ matched: 3, unexplained: [], carry: new Map() });
});

it('reports a signature kmsgate did not record, with its entry', () => {
  const entries = [entry(Command.SIGN_ECDSA, 0x11), entry(Command.SIGN_ECDSA, 0x11)];
  const r = reconcile({ entries, recorded: new Map([[0x11, 1]]), carried: none, kmsgateObjects: objects });
  expect(r.matched).toBe(1);
  expect(r.unexplained).toEqual([{ entry: entries[1], why: 'signature not recorded by kmsgate' }]);
  expect(describeEntry(entries[1]!)).toBe('serial 7 entry #2: SIGN_ECDSA on object 0x0011 by authentication key 0x0004 (tick 1002)');
});

it('a record on another key does not explain a signature', () => {
  const r = reconcile({ entries: [entry(Command.SIGN_ECDSA, 0x11)], recorded: new Map([[0x12, 1]]), carried: none, kmsgateObjects: objects });
  expect(r.unexplained).toHaveLength(1);
  expect(r.carry).toEqual(new Map([[0x12, 1]]));
});

it('carries a record whose device entry comes with the next read, once only', () => {
  const first = reconcile({ entries: [], recorded: new Map([[0x11, 1]]), carried: none, kmsgateObjects: objects });
  expect(first.carry).toEqual(new Map([[0x11, 1]]));
  const second = reconcile({ entries: [entry(Command.SIGN_ECDSA, 0x11)], recorded: none, carried: first.carry, kmsgateObjects: objects });
  expect(second).toEqual({ matched: 1, unexplained: [], carry: new Map() });
  // Not consumed the next time: dropped, so an old record cannot hide a later signature.
  const idle = reconcile({ entries: [], recorded: none, carried: first.carry, kmsgateObjects: objects });
  expect(idle.carry).toEqual(new Map());
  const later = reconcile({ entries: [entry(Command.SIGN_ECDSA, 0x11)], recorded: none, carried: idle.carry, kmsgateObjects: objects });
  expect(later.unexplained).toHaveLength(1);
});

it('ignores failed commands and objects that are not kmsgate keys; reports uses kmsgate never makes', () => {
  const entries = [
    entry(Command.SIGN_ECDSA, 0x11, false),
    entry(Command.SIGN_ECDSA, 0x99),
    entry(Command.DECRYPT_PKCS1, 0x12),
    entry(Command.GET_PUBLIC_KEY, 0x11),
    // An ENCRYPT_DECRYPT RSA key's decryption is a kmsgate use, matched against Decrypt's records.
    entry(Command.DECRYPT_OAEP, 0x12),
  ];
  const r = reconcile({ entries, recorded: none, carried: none, kmsgateObjects: objects });
  expect(r.unexplained).toEqual([
    { entry: entries[2], why: 'key use kmsgate never makes' },
    { entry: entries[4], why: 'decryption not recorded by kmsgate' },
  ]);
  expect(r.matched).toBe(0);
});

describe("a symmetric key's wrap-key object", () => {
  // Wrap key 0x11 shares its ID with asymmetric key 0x11: object IDs are per type.
  const withWrap = new Set([0x11, wrapKeyObject(0x11)]);

  it('matches WRAP_DATA and UNWRAP_DATA to the device uses kmsgate recorded for the key, apart from its signatures', () => {
    const entries = [entry(Command.WRAP_DATA, 0x11), entry(Command.UNWRAP_DATA, 0x11), entry(Command.SIGN_ECDSA, 0x11)];
    const r = reconcile({
      entries,
      recorded: new Map([
        [0x11, 1],
        [wrapKeyObject(0x11), 2],
      ]),
      carried: none,
      kmsgateObjects: withWrap,
    });
    expect(r).toEqual({ matched: 3, unexplained: [], carry: new Map() });
  });

  it('reports a data wrap kmsgate did not record; a signature record does not explain it', () => {
    const entries = [entry(Command.UNWRAP_DATA, 0x11)];
    const r = reconcile({ entries, recorded: new Map([[0x11, 1]]), carried: none, kmsgateObjects: withWrap });
    expect(r.unexplained).toEqual([{ entry: entries[0], why: 'data wrap not recorded by kmsgate' }]);
    expect(r.carry).toEqual(new Map([[0x11, 1]]));
  });

  it('leaves data wraps on objects that are not kmsgate keys alone (an asymmetric kmsgate key with the same ID is not one)', () => {
    const r = reconcile({ entries: [entry(Command.WRAP_DATA, 0x12)], recorded: none, carried: none, kmsgateObjects: objects });
    expect(r).toEqual({ matched: 0, unexplained: [], carry: new Map() });
  });
});

it("matches an HMAC key's SIGN_HMAC to its recorded MACs, apart from other objects with its ID", () => {
  const hmac = keyObject(ObjectType.HMAC_KEY, 0x11);
  const entries = [entry(Command.SIGN_HMAC, 0x11), entry(Command.SIGN_HMAC, 0x11), entry(Command.SIGN_HMAC, 0x11)];
  const r = reconcile({
    entries,
    recorded: new Map([
      [hmac, 2],
      [0x11, 5],
    ]),
    carried: none,
    kmsgateObjects: new Set([0x11, hmac]),
  });
  expect(r.matched).toBe(2);
  expect(r.unexplained).toEqual([{ entry: entries[2], why: 'MAC not recorded by kmsgate' }]);
});

it('matches DERIVE_ECDH on a key agreement key to its recorded DeriveSharedSecret uses', () => {
  const entries = [entry(Command.DERIVE_ECDH, 0x11), entry(Command.DERIVE_ECDH, 0x11)];
  const r = reconcile({ entries, recorded: new Map([[0x11, 1]]), carried: none, kmsgateObjects: objects });
  expect(r.matched).toBe(1);
  expect(r.unexplained).toEqual([{ entry: entries[1], why: 'shared secret not recorded by kmsgate' }]);
});
