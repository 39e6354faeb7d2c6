// SPDX-License-Identifier: Apache-2.0
/*
 * Attestation: the TA signs SHA-256(KMSGATE_ATTESTATION_DOMAIN || nonce || measurement) with a
 * P-256 key it generated once and keeps in TEE_STORAGE_PRIVATE. The measurement is the digest of
 * the TA's signed header as OP-TEE's attestation PTA reports it (CFG_ATTESTATION_PTA=y); a TEE
 * without that PTA gives 32 zero bytes, which a verifier must read as "not measured".
 */
#include <string.h>
#include <tee_internal_api.h>
#include <pta_attestation.h>
#include "kmsgate_ta_private.h"

static const char ATTEST_KEY_ID[] = "kmsgate.attest";
static const uint8_t ATTEST_MAGIC[4] = { 'K', 'G', 'A', 'K' };
#define ATTEST_KEY_BYTES	(4 + PRIVATE_KEY_BYTES + KMSGATE_EC_PUBLIC_KEY_BYTES)
/* Digest plus an RSA signature of up to 4096 bits, as the PTA returns them. */
#define PTA_OUT_BYTES		(KMSGATE_MEASUREMENT_BYTES + 512)

static TEE_Result load_or_create_key(struct key_record *key)
{
	uint8_t buf[ATTEST_KEY_BYTES];
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	size_t n = 0;
	TEE_Result res;

	res = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, ATTEST_KEY_ID, strlen(ATTEST_KEY_ID),
				       TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_SHARE_READ, &obj);
	if (res == TEE_SUCCESS) {
		res = TEE_ReadObjectData(obj, buf, sizeof(buf), &n);
		TEE_CloseObject(obj);
		if (res == TEE_SUCCESS && (n != sizeof(buf) || memcmp(buf, ATTEST_MAGIC, 4)))
			res = TEE_ERROR_SECURITY;
		if (res == TEE_SUCCESS) {
			memcpy(key->priv, buf + 4, PRIVATE_KEY_BYTES);
			memcpy(key->pub, buf + 4 + PRIVATE_KEY_BYTES, KMSGATE_EC_PUBLIC_KEY_BYTES);
		}
	} else if (res == TEE_ERROR_ITEM_NOT_FOUND) {
		res = keys_generate(KMSGATE_KEY_P256, key);
		if (res != TEE_SUCCESS)
			return res;
		memcpy(buf, ATTEST_MAGIC, 4);
		memcpy(buf + 4, key->priv, PRIVATE_KEY_BYTES);
		memcpy(buf + 4 + PRIVATE_KEY_BYTES, key->pub, KMSGATE_EC_PUBLIC_KEY_BYTES);
		res = TEE_CreatePersistentObject(TEE_STORAGE_PRIVATE, ATTEST_KEY_ID,
						 strlen(ATTEST_KEY_ID),
						 TEE_DATA_FLAG_ACCESS_READ, TEE_HANDLE_NULL,
						 buf, sizeof(buf), &obj);
		if (res == TEE_SUCCESS)
			TEE_CloseObject(obj);
	} else if (res == TEE_ERROR_CORRUPT_OBJECT) {
		res = TEE_ERROR_SECURITY;
	}
	TEE_MemFill(buf, 0, sizeof(buf));
	return res;
}

/* The signed-header digest from the attestation PTA, or zeros where the TEE has no such PTA. */
static TEE_Result measure(const uint8_t *nonce, size_t nonce_len,
			  uint8_t measurement[KMSGATE_MEASUREMENT_BYTES])
{
	const TEE_UUID pta = PTA_ATTESTATION_UUID;
	TEE_UUID self = TA_KMSGATE_UUID;
	TEE_TASessionHandle sess = TEE_HANDLE_NULL;
	TEE_Param params[TEE_NUM_PARAMS] = { };
	uint8_t *out;
	uint32_t origin = 0;
	TEE_Result res;

	res = TEE_OpenTASession(&pta, TEE_TIMEOUT_INFINITE, 0, NULL, &sess, &origin);
	if (res == TEE_ERROR_ITEM_NOT_FOUND) {
		memset(measurement, 0, KMSGATE_MEASUREMENT_BYTES);
		return TEE_SUCCESS;
	}
	if (res != TEE_SUCCESS)
		return res;
	out = TEE_Malloc(PTA_OUT_BYTES, 0);
	if (!out) {
		TEE_CloseTASession(sess);
		return TEE_ERROR_OUT_OF_MEMORY;
	}
	params[0].memref.buffer = &self;
	params[0].memref.size = sizeof(self);
	params[1].memref.buffer = (void *)nonce;
	params[1].memref.size = nonce_len;
	params[2].memref.buffer = out;
	params[2].memref.size = PTA_OUT_BYTES;
	res = TEE_InvokeTACommand(sess, TEE_TIMEOUT_INFINITE, PTA_ATTESTATION_GET_TA_SHDR_DIGEST,
				  TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT,
						  TEE_PARAM_TYPE_MEMREF_INPUT,
						  TEE_PARAM_TYPE_MEMREF_OUTPUT,
						  TEE_PARAM_TYPE_NONE),
				  params, &origin);
	if (res == TEE_SUCCESS && params[2].memref.size < KMSGATE_MEASUREMENT_BYTES)
		res = TEE_ERROR_GENERIC;
	if (res == TEE_SUCCESS)
		memcpy(measurement, out, KMSGATE_MEASUREMENT_BYTES);
	TEE_Free(out);
	TEE_CloseTASession(sess);
	return res;
}

TEE_Result attest(const uint8_t *nonce, size_t nonce_len,
		  uint8_t measurement[KMSGATE_MEASUREMENT_BYTES],
		  uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES],
		  uint8_t sig[KMSGATE_SIGNATURE_BYTES])
{
	struct key_record key = { };
	TEE_OperationHandle op = TEE_HANDLE_NULL;
	uint8_t digest[KMSGATE_DIGEST_BYTES];
	size_t digest_len = sizeof(digest);
	TEE_Result res;

	res = measure(nonce, nonce_len, measurement);
	if (res == TEE_SUCCESS)
		res = load_or_create_key(&key);
	if (res == TEE_SUCCESS)
		res = TEE_AllocateOperation(&op, TEE_ALG_SHA256, TEE_MODE_DIGEST, 0);
	if (res == TEE_SUCCESS) {
		TEE_DigestUpdate(op, KMSGATE_ATTESTATION_DOMAIN,
				 sizeof(KMSGATE_ATTESTATION_DOMAIN) - 1);
		TEE_DigestUpdate(op, nonce, nonce_len);
		res = TEE_DigestDoFinal(op, measurement, KMSGATE_MEASUREMENT_BYTES, digest,
					&digest_len);
		TEE_FreeOperation(op);
	}
	if (res == TEE_SUCCESS)
		res = keys_ecdsa_p256_sign(key.priv, key.pub, digest, sig);
	if (res == TEE_SUCCESS)
		memcpy(pub, key.pub, KMSGATE_EC_PUBLIC_KEY_BYTES);
	TEE_MemFill(&key, 0, sizeof(key));
	return res;
}
