// The device-global options of SET_OPTION / GET_OPTION (Set Option page; python-yubihsm `OPTION`):
// force audit, per-command audit and, from firmware 2.2, the algorithm toggles. A factory reset
// restores the defaults: since firmware 2.3.1 every command's audit is off (Set Command Audit
// Option guide: "By default, logging is disabled"; python-yubihsm test_logs_after_reset).
import { AuditMode, Command, DeviceError, DeviceErrorCode, OptionTag, SetOption } from '@kmsgate/yubihsm';

/** Every command the device knows can be audited (the guide's get-option example lists them all). */
export const AUDITABLE_COMMANDS: readonly number[] = [...new Set(Object.values(Command))].sort((a, b) => a - b);

export interface SettingsSnapshot {
  readonly forceAudit: number;
  readonly commandAudit: ReadonlyArray<readonly [number, number]>;
  readonly disabledAlgorithms: readonly number[];
}

export class DeviceSettings {
  #forceAudit: number = AuditMode.OFF;
  readonly #commandAudit = new Map<number, number>();
  readonly #disabled = new Set<number>();

  /** `algorithms`: what the device supports, the domain of the algorithm toggles. */
  constructor(private readonly algorithms: readonly number[]) {
    this.reset();
  }

  get forceAudit(): boolean {
    return this.#forceAudit !== AuditMode.OFF;
  }

  isAudited(command: number): boolean {
    return (this.#commandAudit.get(command) ?? AuditMode.OFF) !== AuditMode.OFF;
  }

  isAlgorithmEnabled(algorithm: number): boolean {
    return !this.#disabled.has(algorithm);
  }

  /** GET_OPTION. FIPS mode is a YubiHSM 2 FIPS option; like a non-FIPS device, the simulator refuses it. */
  get(tag: number): Uint8Array {
    switch (tag) {
      case OptionTag.FORCE_AUDIT:
        return Uint8Array.of(this.#forceAudit);
      case OptionTag.COMMAND_AUDIT:
        return SetOption.encodePairs(new Map(AUDITABLE_COMMANDS.map((c) => [c, this.#commandAudit.get(c) ?? AuditMode.OFF])));
      case OptionTag.ALGORITHM_TOGGLE:
        return SetOption.encodePairs(new Map(this.algorithms.map((a) => [a, this.#disabled.has(a) ? 0 : 1])));
      default:
        throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    }
  }

  /**
   * SET_OPTION. Everything is checked before anything changes, so a rejected request changes
   * nothing. `fresh`: the device holds no object but the factory authentication key, the only
   * time algorithms may be toggled (python-yubihsm `set_enabled_algorithms`).
   */
  set(tag: number, value: Uint8Array, fresh: boolean): void {
    switch (tag) {
      case OptionTag.FORCE_AUDIT: {
        if (value.length !== 1) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
        this.#forceAudit = checkedAudit(this.#forceAudit, value[0]!);
        return;
      }
      case OptionTag.COMMAND_AUDIT: {
        const pairs = nonEmptyPairs(value);
        const next = new Map<number, number>();
        for (const [command, setting] of pairs) {
          if (!AUDITABLE_COMMANDS.includes(command)) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
          next.set(command, checkedAudit(this.#commandAudit.get(command) ?? AuditMode.OFF, setting));
        }
        for (const [command, setting] of next) this.#commandAudit.set(command, setting);
        return;
      }
      case OptionTag.ALGORITHM_TOGGLE: {
        const pairs = nonEmptyPairs(value);
        for (const [algorithm, enabled] of pairs) {
          if (!this.algorithms.includes(algorithm) || enabled > 1) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
        }
        if (!fresh) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
        for (const [algorithm, enabled] of pairs) {
          if (enabled === 1) this.#disabled.delete(algorithm);
          else this.#disabled.add(algorithm);
        }
        return;
      }
      default:
        throw new DeviceError(DeviceErrorCode.INVALID_DATA);
    }
  }

  reset(): void {
    this.#forceAudit = AuditMode.OFF;
    this.#commandAudit.clear();
    this.#disabled.clear();
  }

  snapshot(): SettingsSnapshot {
    return {
      forceAudit: this.#forceAudit,
      commandAudit: [...this.#commandAudit.entries()].filter(([, v]) => v !== AuditMode.OFF),
      disabledAlgorithms: [...this.#disabled],
    };
  }

  restore(s: SettingsSnapshot): void {
    this.reset();
    this.#forceAudit = s.forceAudit;
    for (const [command, setting] of s.commandAudit) this.#commandAudit.set(command, setting);
    for (const algorithm of s.disabledAlgorithms) this.#disabled.add(algorithm);
  }
}

/** A FIXED audit setting can only be undone by a factory reset (Set Option page). */
function checkedAudit(current: number, wanted: number): number {
  if (wanted > AuditMode.FIXED) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  if (current === AuditMode.FIXED && wanted !== AuditMode.FIXED) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  return wanted;
}

function nonEmptyPairs(value: Uint8Array): Map<number, number> {
  if (value.length === 0) throw new DeviceError(DeviceErrorCode.WRONG_LENGTH);
  return SetOption.decodePairs(value);
}
