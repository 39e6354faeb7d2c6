/**
 * A store that could not be reached (StoreUnavailableError: a shared database down or too slow) is
 * answered as AWS answers a dependency that did not respond: DependencyTimeoutException, 503,
 * which every AWS SDK retries. Nothing was signed or changed; the detail goes to the log only.
 */
import { KmsError } from '@kmsgate/core';
import { StoreUnavailableError } from '@kmsgate/policy';

export function storeFault(e: unknown): KmsError | undefined {
  if (!(e instanceof StoreUnavailableError)) return undefined;
  return new KmsError('DependencyTimeoutException', "The gateway's store did not answer in time; nothing was signed or changed. Retry later.", { cause: e });
}
