"""boto3 against a running kmsgate: the unmodified client, configured only with endpoint_url and
credentials. Prints one JSON object of results for the jest test that runs it; signatures are
checked with the `cryptography` package, not with kmsgate."""
import hashlib
import json
import os
import sys

import boto3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

kms = boto3.client(
    "kms",
    endpoint_url=os.environ["KMSGATE_URL"],
    region_name="us-east-1",
    aws_access_key_id=os.environ["KMSGATE_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["KMSGATE_SECRET_ACCESS_KEY"],
)
out = {}

key = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY", Description="boto3")["KeyMetadata"]
out["created"] = {k: key[k] for k in ("KeySpec", "KeyUsage", "KeyState", "SigningAlgorithms")}
out["creation_date_type"] = type(key["CreationDate"]).__name__

pub = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
out["curve"] = pub.curve.name

message = b"boto3 says hello"
sig = kms.sign(KeyId=key["KeyId"], Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
try:
    pub.verify(sig, message, ec.ECDSA(hashes.SHA256()))
    out["raw_signature_valid"] = True
except InvalidSignature:
    out["raw_signature_valid"] = False

digest = hashlib.sha256(message).digest()
sig2 = kms.sign(KeyId=key["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
out["verify"] = kms.verify(KeyId=key["KeyId"], Message=message, Signature=sig2, SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]

try:
    kms.verify(KeyId=key["KeyId"], Message=b"tampered", Signature=sig2, SigningAlgorithm="ECDSA_SHA_256")
    out["tampered"] = "accepted"
except kms.exceptions.KMSInvalidSignatureException:
    out["tampered"] = "KMSInvalidSignatureException"

try:
    kms.describe_key(KeyId="alias/does-not-exist")
    out["missing"] = "found"
except kms.exceptions.NotFoundException as e:
    out["missing"] = "NotFoundException: " + e.response["Error"]["Message"]

try:
    kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    out["bad_usage"] = "created"
except kms.exceptions.ClientError as e:
    out["bad_usage"] = e.response["Error"]["Code"]

ed = kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
ed_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=ed["Arn"])["PublicKey"])
ed_sig = kms.sign(KeyId=ed["Arn"], Message=b"solana tx", MessageType="RAW", SigningAlgorithm="ED25519_SHA_512")["Signature"]
try:
    ed_pub.verify(ed_sig, b"solana tx")
    out["ed25519_valid"] = True
except InvalidSignature:
    out["ed25519_valid"] = False

pages, marker = 0, None
while True:
    kwargs = {"Limit": 1}
    if marker:
        kwargs["Marker"] = marker
    page = kms.list_keys(**kwargs)
    pages += 1
    if not page["Truncated"]:
        break
    marker = page["NextMarker"]
out["list_pages"] = pages

json.dump(out, sys.stdout)
