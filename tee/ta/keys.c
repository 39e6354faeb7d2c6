// SPDX-License-Identifier: Apache-2.0
/*
 * Key generation and signing: ECDSA on NIST P-256 (TEE_TYPE_ECDSA_KEYPAIR) and Ed25519
 * (TEE_TYPE_ED25519_KEYPAIR, GP 1.3.1, optee_os >= 3.18) through the GP TEE Internal Core API;
 * ECDSA on secp256k1, which is not a GP curve, through the dev kit's mbed TLS (secp256k1.c);
 * AES-256 keys (TEE_TYPE_AES) for SEAL/UNSEAL (seal.c).
 */
#include <string.h>
#include <tee_internal_api.h>
#include "kmsgate_ta_private.h"

/* A GP buffer attribute, left-padded to width: OP-TEE returns big numbers without leading zeros. */
static TEE_Result get_padded(TEE_ObjectHandle obj, uint32_t attr, uint8_t *out, size_t width)
{
	uint8_t buf[64];
	size_t len = sizeof(buf);
	TEE_Result res;

	res = TEE_GetObjectBufferAttribute(obj, attr, buf, &len);
	if (res != TEE_SUCCESS)
		return res;
	if (len > width)
		return TEE_ERROR_GENERIC;
	memset(out, 0, width - len);
	memcpy(out + width - len, buf, len);
	TEE_MemFill(buf, 0, sizeof(buf));
	return TEE_SUCCESS;
}

bool keys_type_known(uint32_t type)
{
	return type == KMSGATE_KEY_P256 || type == KMSGATE_KEY_SECP256K1 ||
	       type == KMSGATE_KEY_ED25519 || type == KMSGATE_KEY_AES_256;
}

/* The key comes from the TEE's own key generation; the whole 32 bytes or an error. */
static TEE_Result aes_generate(uint8_t key[KMSGATE_AES_KEY_BYTES])
{
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	size_t len = KMSGATE_AES_KEY_BYTES;
	TEE_Result res;

	res = TEE_AllocateTransientObject(TEE_TYPE_AES, 256, &obj);
	if (res != TEE_SUCCESS)
		return res;
	res = TEE_GenerateKey(obj, 256, NULL, 0);
	if (res == TEE_SUCCESS)
		res = TEE_GetObjectBufferAttribute(obj, TEE_ATTR_SECRET_VALUE, key, &len);
	if (res == TEE_SUCCESS && len != KMSGATE_AES_KEY_BYTES)
		res = TEE_ERROR_GENERIC;
	TEE_FreeTransientObject(obj);
	return res;
}

TEE_Result keys_generate(uint8_t type, struct key_record *rec)
{
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	TEE_Attribute curve;
	TEE_Result res;

	if (!keys_type_known(type))
		return TEE_ERROR_BAD_PARAMETERS;
	rec->type = type;
	if (type == KMSGATE_KEY_SECP256K1)
		return k1_generate(rec->priv, rec->pub);
	if (type == KMSGATE_KEY_AES_256) {
		res = aes_generate(rec->priv);
		if (res != TEE_SUCCESS)
			TEE_MemFill(rec->priv, 0, PRIVATE_KEY_BYTES);
		return res;
	}
	if (type == KMSGATE_KEY_P256) {
		res = TEE_AllocateTransientObject(TEE_TYPE_ECDSA_KEYPAIR, 256, &obj);
		if (res != TEE_SUCCESS)
			return res;
		TEE_InitValueAttribute(&curve, TEE_ATTR_ECC_CURVE, TEE_ECC_CURVE_NIST_P256, 0);
		res = TEE_GenerateKey(obj, 256, &curve, 1);
		if (res == TEE_SUCCESS)
			res = get_padded(obj, TEE_ATTR_ECC_PRIVATE_VALUE, rec->priv, PRIVATE_KEY_BYTES);
		rec->pub[0] = 0x04;	/* SEC1 uncompressed point */
		if (res == TEE_SUCCESS)
			res = get_padded(obj, TEE_ATTR_ECC_PUBLIC_VALUE_X, rec->pub + 1, EC_COORD_BYTES);
		if (res == TEE_SUCCESS)
			res = get_padded(obj, TEE_ATTR_ECC_PUBLIC_VALUE_Y, rec->pub + 1 + EC_COORD_BYTES,
					 EC_COORD_BYTES);
	} else {
		res = TEE_AllocateTransientObject(TEE_TYPE_ED25519_KEYPAIR, 256, &obj);
		if (res != TEE_SUCCESS)
			return res;
		res = TEE_GenerateKey(obj, 256, NULL, 0);
		if (res == TEE_SUCCESS)
			res = get_padded(obj, TEE_ATTR_ED25519_PRIVATE_VALUE, rec->priv, PRIVATE_KEY_BYTES);
		if (res == TEE_SUCCESS)
			res = get_padded(obj, TEE_ATTR_ED25519_PUBLIC_VALUE, rec->pub,
					 KMSGATE_ED25519_PUBLIC_KEY_BYTES);
	}
	TEE_FreeTransientObject(obj);
	if (res != TEE_SUCCESS)
		TEE_MemFill(rec->priv, 0, PRIVATE_KEY_BYTES);
	return res;
}

/* What keys_generate() accepts, for KMSGATE_CMD_GET_KEY_TYPES. */
uint32_t keys_types(void)
{
	return (1u << KMSGATE_KEY_P256) | (1u << KMSGATE_KEY_SECP256K1) | (1u << KMSGATE_KEY_ED25519) |
	       (1u << KMSGATE_KEY_AES_256);
}

size_t keys_public_len(uint32_t type)
{
	if (type == KMSGATE_KEY_AES_256)
		return 0;
	return type == KMSGATE_KEY_ED25519 ? KMSGATE_ED25519_PUBLIC_KEY_BYTES :
					     KMSGATE_EC_PUBLIC_KEY_BYTES;
}

/* One asymmetric signature with a transient key object built from the stored key. */
static TEE_Result sign_with(uint32_t obj_type, uint32_t alg, TEE_Attribute *attrs,
			    uint32_t attr_count, const void *input, size_t input_len,
			    uint8_t sig[KMSGATE_SIGNATURE_BYTES])
{
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	TEE_OperationHandle op = TEE_HANDLE_NULL;
	size_t sig_len = KMSGATE_SIGNATURE_BYTES;
	uint8_t empty = 0;
	TEE_Result res;

	res = TEE_AllocateTransientObject(obj_type, 256, &obj);
	if (res == TEE_SUCCESS)
		res = TEE_PopulateTransientObject(obj, attrs, attr_count);
	if (res == TEE_SUCCESS)
		res = TEE_AllocateOperation(&op, alg, TEE_MODE_SIGN, 256);
	if (res == TEE_SUCCESS)
		res = TEE_SetOperationKey(op, obj);
	if (res == TEE_SUCCESS)
		res = TEE_AsymmetricSignDigest(op, NULL, 0, input_len ? input : &empty, input_len,
					       sig, &sig_len);
	if (res == TEE_SUCCESS && sig_len != KMSGATE_SIGNATURE_BYTES)
		res = TEE_ERROR_GENERIC;
	if (op != TEE_HANDLE_NULL)
		TEE_FreeOperation(op);
	if (obj != TEE_HANDLE_NULL)
		TEE_FreeTransientObject(obj);
	return res;
}

TEE_Result keys_ecdsa_p256_sign(const uint8_t priv[PRIVATE_KEY_BYTES],
				const uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES],
				const uint8_t digest[KMSGATE_DIGEST_BYTES],
				uint8_t sig[KMSGATE_SIGNATURE_BYTES])
{
	TEE_Attribute attrs[4];

	TEE_InitRefAttribute(&attrs[0], TEE_ATTR_ECC_PRIVATE_VALUE, (void *)priv, PRIVATE_KEY_BYTES);
	TEE_InitRefAttribute(&attrs[1], TEE_ATTR_ECC_PUBLIC_VALUE_X, (void *)(pub + 1), EC_COORD_BYTES);
	TEE_InitRefAttribute(&attrs[2], TEE_ATTR_ECC_PUBLIC_VALUE_Y,
			     (void *)(pub + 1 + EC_COORD_BYTES), EC_COORD_BYTES);
	TEE_InitValueAttribute(&attrs[3], TEE_ATTR_ECC_CURVE, TEE_ECC_CURVE_NIST_P256, 0);
	/* TEE_ALG_ECDSA_P256 names the right value in every OP-TEE 4.x dev kit (GP 1.1 and 1.3.1 ids). */
	return sign_with(TEE_TYPE_ECDSA_KEYPAIR, TEE_ALG_ECDSA_P256, attrs, 4, digest,
			 KMSGATE_DIGEST_BYTES, sig);
}

TEE_Result keys_sign(const struct key_record *rec, uint32_t alg, const void *input,
		     size_t input_len, uint8_t sig[KMSGATE_SIGNATURE_BYTES])
{
	TEE_Attribute attrs[2];

	if (alg == KMSGATE_ALG_ECDSA_SHA_256) {
		if (input_len != KMSGATE_DIGEST_BYTES)
			return TEE_ERROR_BAD_PARAMETERS;
		if (rec->type == KMSGATE_KEY_SECP256K1)
			return k1_sign(rec->priv, input, sig);
		if (rec->type != KMSGATE_KEY_P256)
			return TEE_ERROR_BAD_PARAMETERS;
		return keys_ecdsa_p256_sign(rec->priv, rec->pub, input, sig);
	}
	if (alg == KMSGATE_ALG_ED25519) {
		if (rec->type != KMSGATE_KEY_ED25519 || input_len > KMSGATE_MAX_MESSAGE_BYTES)
			return TEE_ERROR_BAD_PARAMETERS;
		TEE_InitRefAttribute(&attrs[0], TEE_ATTR_ED25519_PRIVATE_VALUE, (void *)rec->priv,
				     PRIVATE_KEY_BYTES);
		TEE_InitRefAttribute(&attrs[1], TEE_ATTR_ED25519_PUBLIC_VALUE, (void *)rec->pub,
				     KMSGATE_ED25519_PUBLIC_KEY_BYTES);
		/* Pure Ed25519 (RFC 8032): the whole message, no context, no prehash. */
		return sign_with(TEE_TYPE_ED25519_KEYPAIR, TEE_ALG_ED25519, attrs, 2, input,
				 input_len, sig);
	}
	return TEE_ERROR_BAD_PARAMETERS;
}
