import { KmsError } from '@kmsgate/core';
import { DecodeError } from '@kmsgate/chains';
import { ethereumSigningDigest, isPolicyDenial, type PolicyEngine, type ResolvedPolicy } from '@kmsgate/policy';
import type { CallerKey } from './gates';

/**
 * Verify RAW for a key whose policy says `chain: ethereum` checks the same keccak-256 digest Sign
 * RAW signs for it (docs/policy.md, "Ethereum"); every other key verifies as AWS does. Undefined
 * means "AWS's rule". A RAW message that is neither a transaction nor EIP-712 typed data could not
 * have been signed by such a key: KMSInvalidSignatureException.
 */
export function verifyDigestOverride(engine: PolicyEngine, caller: CallerKey, messageType: string, message: Uint8Array): Uint8Array | undefined {
  if (messageType !== 'RAW') return undefined;
  let resolved: ResolvedPolicy | undefined;
  try {
    resolved = engine.policyFor({ keyId: caller.key.keyId, aliases: caller.aliases });
  } catch (e) {
    if (isPolicyDenial(e)) return undefined;
    throw e;
  }
  if (resolved?.policy.chain !== 'ethereum') return undefined;
  try {
    return ethereumSigningDigest(message);
  } catch (e) {
    if (e instanceof DecodeError) throw new KmsError('KMSInvalidSignatureException', '');
    throw e;
  }
}
