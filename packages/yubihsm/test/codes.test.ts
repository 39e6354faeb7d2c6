import {
  ALL_CAPABILITIES,
  Algorithm,
  Capability,
  Command,
  ObjectType,
  RESPONSE_ERROR,
  capabilitiesFromNames,
  capabilityNames,
  responseCode,
} from '../src/codes';
import { DeviceError, DeviceErrorCode } from '../src/errors';

describe('protocol numbers', () => {
  it('has unique command, algorithm and capability values', () => {
    for (const table of [Command, Algorithm, ObjectType, DeviceErrorCode]) {
      const values = Object.values(table);
      expect(new Set(values).size).toBe(values.length);
    }
    const caps = Object.values(Capability);
    expect(new Set(caps).size).toBe(caps.length);
    expect(caps).toHaveLength(0x38);
  });

  it('matches the reference examples', () => {
    expect(Command.SIGN_ECDSA).toBe(0x56);
    expect(responseCode(Command.SIGN_ECDSA)).toBe(0xd6);
    expect(responseCode(Command.CLOSE_SESSION)).toBe(0xc0);
    expect(RESPONSE_ERROR).toBe(0x7f);
    expect(Capability.SIGN_ECDSA).toBe(0x80n);
    expect(Capability.SIGN_EDDSA).toBe(0x100n);
    expect(Capability.EXPORTABLE_UNDER_WRAP).toBe(0x10000n);
    expect(Capability.DELETE_ASYMMETRIC_KEY).toBe(0x0000020000000000n);
    expect(ALL_CAPABILITIES).toBe(0x00ffffffffffffffn);
    expect(Algorithm.EC_P256).toBe(12);
    expect(Algorithm.EC_K256).toBe(15);
    expect(Algorithm.EC_ED25519).toBe(46);
    expect(Algorithm.AES128_YUBICO_AUTHENTICATION).toBe(38);
  });

  it('uses Yubico error numbering, not yubihsm.rs', () => {
    expect(DeviceErrorCode.INVALID_OTP).toBe(0x0f);
    expect(DeviceErrorCode.DEMO_MODE).toBe(0x10);
    expect(DeviceErrorCode.OBJECT_EXISTS).toBe(0x11);
    expect(DeviceErrorCode.COMMAND_UNEXECUTED).toBe(0xff);
    const e = new DeviceError(0x0b, { command: Command.SIGN_ECDSA });
    expect(e.codeName).toBe('OBJECT_NOT_FOUND');
    expect(e.message).toBe('YubiHSM 2 device error OBJECT_NOT_FOUND (0x0b) for command 0x56');
    expect(new DeviceError(0x0d).codeName).toBe('UNKNOWN_0x0d');
  });

  it('converts capability names both ways', () => {
    expect(capabilitiesFromNames(['sign-ecdsa', 'SIGN_EDDSA'])).toBe(0x180n);
    expect(capabilitiesFromNames(['put-hmac-key'])).toBe(Capability.PUT_MAC_KEY);
    expect(capabilitiesFromNames(['all'])).toBe(ALL_CAPABILITIES);
    expect(capabilityNames(0x180n)).toEqual(['sign-ecdsa', 'sign-eddsa']);
    expect(capabilityNames(1n << 63n)).toEqual(['bit-0x3f']);
    expect(capabilitiesFromNames(capabilityNames(ALL_CAPABILITIES))).toBe(ALL_CAPABILITIES);
    expect(() => capabilitiesFromNames(['sign-everything'])).toThrow('unknown capability: "sign-everything"');
  });
});
