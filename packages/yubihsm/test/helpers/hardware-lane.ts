/**
 * The hardware lane (docs/testing.md): with KMSGATE_HARDWARE_TESTS=1 the YubiHSM 2 contract suite
 * and the AWS-level e2e suite run against a real device behind a yubihsm-connector; otherwise they
 * run against the simulator and say that the hardware lane was skipped.
 */

export interface HardwareLane {
  connectorUrl: string;
  authKeyId: number;
  password: string;
  /** The device's serial, when given: the suites then refuse any other device. */
  serial?: number;
  /** Domain (1-16) the suites' keys are generated in. */
  domain: number;
}

export const HARDWARE_LANE_VARIABLES = [
  'KMSGATE_HARDWARE_TESTS=1',
  'KMSGATE_HARDWARE_CONNECTOR_URL',
  'KMSGATE_HARDWARE_PASSWORD',
  'KMSGATE_HARDWARE_AUTH_KEY_ID (default 1)',
  'KMSGATE_HARDWARE_SERIAL (optional)',
  'KMSGATE_HARDWARE_DOMAIN (default 1)',
] as const;

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`${name} must be an integer ${min}-${max}, got ${raw}`);
  return Number(raw);
}

/**
 * The device to test, or undefined when the lane is off. Turned on but incomplete is an error, not
 * a skip: a lane that silently tests nothing is worse than none.
 */
export function hardwareLane(env: NodeJS.ProcessEnv = process.env): HardwareLane | undefined {
  if (env.KMSGATE_HARDWARE_TESTS !== '1') return undefined;
  const connectorUrl = env.KMSGATE_HARDWARE_CONNECTOR_URL;
  const password = env.KMSGATE_HARDWARE_PASSWORD;
  if (!connectorUrl || !password) {
    throw new Error('KMSGATE_HARDWARE_TESTS=1 needs KMSGATE_HARDWARE_CONNECTOR_URL and KMSGATE_HARDWARE_PASSWORD (docs/testing.md)');
  }
  return {
    connectorUrl,
    password,
    authKeyId: intVar(env, 'KMSGATE_HARDWARE_AUTH_KEY_ID', 1, 0xfffe) ?? 1,
    serial: intVar(env, 'KMSGATE_HARDWARE_SERIAL', 0, 0xffff_ffff),
    domain: intVar(env, 'KMSGATE_HARDWARE_DOMAIN', 1, 16) ?? 1,
  };
}

/** Printed once per suite when the lane is off, so the output says what was not tested. */
export function announceSkippedLane(suite: string): void {
  console.info(
    `${suite}: hardware lane skipped, ran against the YubiHSM 2 simulator. Set ${HARDWARE_LANE_VARIABLES.join(', ')} to run it against a real device (docs/testing.md).`,
  );
}
