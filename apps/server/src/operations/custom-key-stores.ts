import { KmsError, type BackendDescription, type KeyBackend } from '@kmsgate/core';
import type { OperationContext } from './operation';

/**
 * How backends appear as AWS custom key stores. CustomKeyStoreType is AWS_CLOUDHSM: like a CloudHSM
 * key store, a backend is an HSM the customer owns in which keys are generated and used, and keys
 * created in it have Origin AWS_CLOUDHSM (CreateKey). The other type, EXTERNAL_KEY_STORE, would tell
 * clients to expect an XKS proxy configuration and Origin EXTERNAL_KEY_STORE with an XksKeyId,
 * none of which exists here. CloudHsmClusterId and TrustAnchorCertificate are left out: there is
 * no CloudHSM cluster.
 */
export const CUSTOM_KEY_STORE_TYPE = 'AWS_CLOUDHSM';

export function customKeyStoreNotFound(what: string): KmsError {
  return new KmsError('CustomKeyStoreNotFoundException', `Custom key store ${what} does not exist.`);
}

export function findCustomKeyStore(ctx: OperationContext, id: string): KeyBackend {
  const backend = ctx.backends.find(id);
  if (!backend) throw customKeyStoreNotFound(id);
  return backend;
}

/** AWS's ConnectionErrorCode for a FAILED backend, from what its live check reported. */
function connectionErrorCode(d: Pick<BackendDescription, 'failure'>): string {
  return d.failure === 'network' ? 'NETWORK_ERRORS' : d.failure === 'credentials' ? 'INVALID_CREDENTIALS' : 'INTERNAL_ERROR';
}

/**
 * One CustomKeyStoresListEntry, from a live describe() of the backend. A device pool adds
 * `Devices`, each device's state: a kmsgate extension AWS's model does not have, so the SDKs and
 * the AWS CLI drop it and only a raw JSON client sees it (/health shows the same).
 */
export function customKeyStoreEntry(d: BackendDescription, createdAt: Date): Record<string, unknown> {
  return {
    CustomKeyStoreId: d.id,
    CustomKeyStoreName: d.name,
    CustomKeyStoreType: CUSTOM_KEY_STORE_TYPE,
    ConnectionState: d.connectionState,
    ...(d.connectionState === 'FAILED' ? { ConnectionErrorCode: connectionErrorCode(d) } : {}),
    CreationDate: createdAt,
    ...(d.devices
      ? {
          Devices: d.devices.map((dev) => ({
            Serial: dev.serial,
            ConnectionState: dev.connectionState,
            ...(dev.connectionState === 'FAILED' ? { ConnectionErrorCode: connectionErrorCode(dev) } : {}),
          })),
        }
      : {}),
  };
}
