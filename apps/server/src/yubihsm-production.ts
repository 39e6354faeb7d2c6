/**
 * `production: true` for a YubiHSM 2 backend: the gateway does not start against yubihsm-sim (it
 * names itself on DEVICE_INFO page 1), nor with the factory credentials (authentication key 1,
 * password "password"), nor against a device that still accepts them, since anyone on the host
 * could then sign with every key.
 */
import { CeremonyError, DEFAULT_AUTH_KEY_ID, FACTORY_PASSWORD, factoryClient, isSimulatedDevice, opens } from '@kmsgate/yubihsm';
import { ConfigError, type YubiHsmBackendConfig } from './config';
import type { Logger } from './log';

export async function checkProductionYubiHsm(b: YubiHsmBackendConfig, password: string, logger: Logger): Promise<void> {
  if (b.authKeyId === DEFAULT_AUTH_KEY_ID && password === FACTORY_PASSWORD) {
    throw new ConfigError(
      `backend ${b.id}: production: true refuses authentication key 1 with the factory password; run npx kmsgate hsm setup (docs/yubihsm-setup.md)`,
    );
  }
  // Every device of a pool: one that is a simulator or still takes the factory key signs for the whole pool.
  for (const connectorUrl of b.connectors?.map((c) => c.url) ?? [b.connectorUrl!]) {
    const factory = factoryClient({ connectorUrl, requestTimeoutMs: b.requestTimeoutMs });
    try {
      if (isSimulatedDevice(await factory.deviceInfo())) {
        throw new ConfigError(
          `backend ${b.id}: the device at the connector identifies as the yubihsm-sim simulator; production: true refuses a simulated backend`,
        );
      }
      if (await opens(factory)) {
        throw new ConfigError(
          `backend ${b.id}: the device still accepts authentication key 1 with the factory password; production: true refuses it until kmsgate hsm setup has deleted that key`,
        );
      }
    } catch (e) {
      if (e instanceof ConfigError || e instanceof CeremonyError) throw e;
      // Unreachable now: like any connector outage this does not stop the start; /health shows it.
      logger.warn('production check of the YubiHSM 2 could not reach the device', { backend: b.id });
    } finally {
      await factory.close();
    }
  }
}
