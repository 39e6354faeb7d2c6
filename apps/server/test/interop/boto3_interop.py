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
from cryptography.hazmat.primitives.asymmetric import ec, padding

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

# ---- the key lifecycle, aliases, tags and policies, with boto3's typed exceptions
life = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Tags=[{"TagKey": "team", "TagValue": "boto3"}])["KeyMetadata"]
life_id = life["KeyId"]
other_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
kms.create_alias(AliasName="alias/boto3-life", TargetKeyId=life_id)
kms.update_alias(AliasName="alias/boto3-life", TargetKeyId=other_id)
out["alias_moved"] = kms.describe_key(KeyId="alias/boto3-life")["KeyMetadata"]["KeyId"] == other_id
kms.update_alias(AliasName="alias/boto3-life", TargetKeyId=life_id)
kms.tag_resource(KeyId=life_id, Tags=[{"TagKey": "env", "TagValue": "test"}])
out["tags"] = [t["TagKey"] for t in kms.list_resource_tags(KeyId=life_id)["Tags"]]
kms.untag_resource(KeyId=life_id, TagKeys=["env"])
out["tags_after_untag"] = [t["TagKey"] for t in kms.list_resource_tags(KeyId=life_id)["Tags"]]
kms.update_key_description(KeyId=life_id, Description="described by boto3")
out["description"] = kms.describe_key(KeyId=life_id)["KeyMetadata"]["Description"]


def sign_life():
    return kms.sign(KeyId="alias/boto3-life", Message=b"\x01" * 32, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")


kms.disable_key(KeyId=life_id)
try:
    sign_life()
    out["disabled"] = "signed"
except kms.exceptions.DisabledException as e:
    out["disabled"] = "DisabledException: " + e.response["Error"]["Message"]
kms.enable_key(KeyId=life_id)
scheduled = kms.schedule_key_deletion(KeyId=life_id, PendingWindowInDays=7)
out["scheduled"] = {"KeyState": scheduled["KeyState"], "PendingWindowInDays": scheduled["PendingWindowInDays"],
                    "deletion_date_type": type(scheduled["DeletionDate"]).__name__}
try:
    sign_life()
    out["pending"] = "signed"
except kms.exceptions.KMSInvalidStateException as e:
    out["pending"] = "KMSInvalidStateException: " + e.response["Error"]["Message"]
kms.cancel_key_deletion(KeyId=life["Arn"])
out["after_cancel"] = kms.describe_key(KeyId=life_id)["KeyMetadata"]["KeyState"]
kms.enable_key(KeyId=life_id)
out["signs_again"] = len(sign_life()["Signature"]) > 8
try:
    kms.schedule_key_deletion(KeyId=life_id, PendingWindowInDays=3)
    out["bad_window"] = "scheduled"
except kms.exceptions.ClientError as e:
    out["bad_window"] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
try:
    kms.enable_key(KeyId="alias/boto3-life")
    out["alias_for_key_only"] = "enabled"
except kms.exceptions.NotFoundException as e:
    out["alias_for_key_only"] = "NotFoundException"
try:
    kms.tag_resource(KeyId=life_id, Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    out["reserved_tag"] = "tagged"
except kms.exceptions.TagException as e:
    out["reserved_tag"] = "TagException: " + e.response["Error"]["Message"]

policy = json.loads(kms.get_key_policy(KeyId=life_id, PolicyName="default")["Policy"])
out["default_policy_principal"] = policy["Statement"][0]["Principal"]["AWS"]
mine = '{"Version":"2012-10-17","Statement":[]}'
kms.put_key_policy(KeyId=life_id, PolicyName="default", Policy=mine)
out["policy_round_trip"] = kms.get_key_policy(KeyId=life_id, PolicyName="default")["Policy"] == mine
try:
    kms.put_key_policy(KeyId=life_id, PolicyName="default", Policy="not json")
    out["malformed_policy"] = "stored"
except kms.exceptions.MalformedPolicyDocumentException:
    out["malformed_policy"] = "MalformedPolicyDocumentException"
out["policy_names"] = kms.list_key_policies(KeyId=life_id)["PolicyNames"]
out["rotation"] = kms.get_key_rotation_status(KeyId=life_id)["KeyRotationEnabled"]
out["random_length"] = len(kms.generate_random(NumberOfBytes=48)["Plaintext"])
out["key_stores"] = [(s["CustomKeyStoreId"], s["CustomKeyStoreType"], s["ConnectionState"])
                     for s in kms.describe_custom_key_stores()["CustomKeyStores"]]
try:
    kms.encrypt(KeyId=life_id, Plaintext=b"secret")
    out["encrypt_signing_key"] = "encrypted"
except kms.exceptions.InvalidKeyUsageException:
    out["encrypt_signing_key"] = "InvalidKeyUsageException"

# ---- a symmetric key, as `create_key()` with no arguments makes one: encrypt, decrypt, data keys
sym = kms.create_key()["KeyMetadata"]
ctx = {"tenant": "acme", "purpose": "boto3"}
ct = kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"boto3 secret", EncryptionContext=ctx)
dec = kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext=ctx)
try:
    kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"tenant": "acme"})
    wrong_context = "decrypted"
except kms.exceptions.InvalidCiphertextException:
    wrong_context = "InvalidCiphertextException"
gdk = kms.generate_data_key(KeyId=sym["Arn"], KeySpec="AES_256")
out["symmetric"] = {
    "KeySpec": sym["KeySpec"], "KeyUsage": sym["KeyUsage"], "EncryptionAlgorithms": sym["EncryptionAlgorithms"],
    "round_trip": dec["Plaintext"] == b"boto3 secret",
    "key_id_is_arn": ct["KeyId"] == sym["Arn"] and dec["KeyId"] == sym["Arn"],
    "wrong_context": wrong_context,
    "data_key": len(gdk["Plaintext"]),
    "data_key_round_trip": kms.decrypt(CiphertextBlob=gdk["CiphertextBlob"])["Plaintext"] == gdk["Plaintext"],
}
kms.rotate_key_on_demand(KeyId=sym["KeyId"])
after_rotation = kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"boto3 secret", EncryptionContext=ctx)
out["rotated"] = {
    "rotations": len(kms.list_key_rotations(KeyId=sym["KeyId"])["Rotations"]),
    "old_decrypts": kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"] == b"boto3 secret",
    "new_material": kms.decrypt(CiphertextBlob=after_rotation["CiphertextBlob"], EncryptionContext=ctx)["KeyMaterialId"]
    != dec["KeyMaterialId"],
}

# ---- an HMAC key: generate_mac, verify_mac, and a MAC with one byte changed
hmac_key = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
mac = kms.generate_mac(KeyId=hmac_key["KeyId"], Message=b"boto3 message", MacAlgorithm="HMAC_SHA_384")["Mac"]
try:
    kms.verify_mac(KeyId=hmac_key["KeyId"], Message=b"boto3 message", MacAlgorithm="HMAC_SHA_384", Mac=bytes([mac[0] ^ 1]) + mac[1:])
    tampered_mac = "valid"
except kms.exceptions.KMSInvalidMacException:
    tampered_mac = "KMSInvalidMacException"
out["mac"] = {
    "length": len(mac),
    "valid": kms.verify_mac(KeyId=hmac_key["KeyId"], Message=b"boto3 message", MacAlgorithm="HMAC_SHA_384", Mac=mac)["MacValid"],
    "tampered": tampered_mac,
}

alias_pages = list(kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 1}))
out["alias_paginator"] = {"pages": len(alias_pages), "aliases": sum(len(p["Aliases"]) for p in alias_pages)}
kms.tag_resource(KeyId=life_id, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(5)])
tag_pages = list(kms.get_paginator("list_resource_tags").paginate(KeyId=life_id, PaginationConfig={"PageSize": 2}))
out["tag_paginator"] = {"pages": len(tag_pages), "tags": sum(len(p["Tags"]) for p in tag_pages)}

# ---- every signing key spec the gateway's backend holds, signed by KMS, checked with `cryptography`
HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


def check_locally(pub, alg, message, signature):
    try:
        if alg.startswith("ED25519"):
            pub.verify(signature, message)
        else:
            h = HASHES[alg[-7:]]()
            if alg.startswith("ECDSA"):
                pub.verify(signature, message, ec.ECDSA(h))
            elif alg.startswith("RSASSA_PSS"):
                pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
            else:
                pub.verify(signature, message, padding.PKCS1v15(), h)
        return True
    except InvalidSignature:
        return False


out["specs"] = {}
for spec in json.loads(os.environ.get("KMSGATE_SIGNING_SPECS", "[]")):
    md = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    spec_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    results = {}
    for alg in md["SigningAlgorithms"]:
        msg = f"{spec} {alg}".encode()
        signed = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm=alg)["Signature"]
        verified = kms.verify(KeyId=md["Arn"], Message=msg, Signature=signed, SigningAlgorithm=alg)["SignatureValid"]
        results[alg] = check_locally(spec_pub, alg, msg, signed) and verified
    out["specs"][spec] = results

json.dump(out, sys.stdout)
