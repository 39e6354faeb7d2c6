// SIGN_ATTESTATION_CERTIFICATE: an X.509 certificate for a key, signed by an attesting key.
import { Capability, DeviceError, DeviceErrorCode, ObjectType, SignAttestationCertificate } from '@kmsgate/yubihsm';
import { findVisible, requireCapability, requireObjectCapability } from '../access';
import { attestingSigner, DEVICE_ATTESTATION_ID, issueAttestationCertificate } from '../attestation';
import type { SessionContext } from '../handler';
import { keySpec } from '../key-crypto';

export function signAttestationCertificate(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const req = SignAttestationCertificate.decodeRequest(payload);
  const { authority } = ctx.session;
  const { store, serial } = ctx.device;
  requireCapability(authority, Capability.SIGN_ATTESTATION_CERTIFICATE);
  const subject = findVisible(store, authority, ObjectType.ASYMMETRIC_KEY, req.keyId);
  const subjectSpec = keySpec(subject.algorithm);
  if (subjectSpec === undefined) throw new DeviceError(DeviceErrorCode.INVALID_DATA);
  let signer;
  if (req.attestingKeyId === DEVICE_ATTESTATION_ID) {
    signer = attestingSigner.device(serial);
  } else {
    const attesting = findVisible(store, authority, ObjectType.ASYMMETRIC_KEY, req.attestingKeyId);
    requireObjectCapability(authority, attesting, Capability.SIGN_ATTESTATION_CERTIFICATE);
    const template = findVisible(store, authority, ObjectType.OPAQUE, req.attestingKeyId);
    signer = attestingSigner.stored(attesting, template);
  }
  return SignAttestationCertificate.encodeResponse({ certificate: issueAttestationCertificate(signer, subject, subjectSpec, serial) });
}
