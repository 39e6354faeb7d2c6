// SIGN_ATTESTATION_CERTIFICATE: an X.509 certificate for a key, signed by an attesting key.
import { Capability, DeviceError, DeviceErrorCode, ObjectType, SignAttestationCertificate } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import { attestingSigner, DEVICE_ATTESTATION_ID, issueAttestationCertificate, type AttestationSigner } from '../attestation';
import type { SessionContext } from '../handler';
import { keySpec } from '../key-crypto';

export function signAttestationCertificate(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignAttestationCertificate.decodeRequest(payload);
  const { authority } = ctx.session;
  requireCapability(authority, Capability.SIGN_ATTESTATION_CERTIFICATE);
  const subject = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const subjectSpec = keySpec(subject.algorithm);
  if (subjectSpec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  const signer = signerOf(ctx, req.attestingKeyId);
  return SignAttestationCertificate.encodeResponse({ certificate: issueAttestationCertificate(signer, subject, subjectSpec, ctx.device.serial) });
}

/** Id 0 is the built-in device key; any other needs the capability and its certificate beside it. */
function signerOf(ctx: SessionContext, attestingKeyId: number): AttestationSigner {
  if (attestingKeyId === DEVICE_ATTESTATION_ID) return attestingSigner.device(ctx.device.serial);
  const { authority } = ctx.session;
  const attesting = findVisible(ctx.device.store, authority, ObjectType.ASYMMETRIC_KEY, attestingKeyId);
  requireObjectCapability(authority, attesting, Capability.SIGN_ATTESTATION_CERTIFICATE);
  const template = findVisible(ctx.device.store, authority, ObjectType.OPAQUE, attestingKeyId);
  return attestingSigner.stored(attesting, template);
}
