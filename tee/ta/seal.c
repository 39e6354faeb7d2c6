// SPDX-License-Identifier: Apache-2.0
/*
 * SEAL and UNSEAL: AES-256-GCM (TEE_ALG_AES_GCM) under an AES_256 key that never leaves the TA.
 * Sealed = nonce (12) || ciphertext || tag (16). The nonce is random per call from
 * TEE_GenerateRandom: with 96-bit random nonces NIST SP 800-38D (8.3) allows 2^32 seals per key,
 * far beyond one key's use by kmsgate (one seal per Encrypt or GenerateDataKey).
 */
#include <string.h>
#include <tee_internal_api.h>
#include "kmsgate_ta_private.h"

#define TAG_BITS	(KMSGATE_SEAL_TAG_BYTES * 8)

/* An AE operation of `mode` keyed with `key`, initialised with the nonce and fed the AAD. */
static TEE_Result gcm_begin(const uint8_t key[KMSGATE_AES_KEY_BYTES], uint32_t mode,
			    const uint8_t nonce[KMSGATE_SEAL_NONCE_BYTES], const uint8_t *aad,
			    size_t aad_len, size_t payload_len, TEE_OperationHandle *op)
{
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	TEE_Attribute attr;
	TEE_Result res;

	*op = TEE_HANDLE_NULL;
	res = TEE_AllocateTransientObject(TEE_TYPE_AES, 256, &obj);
	if (res != TEE_SUCCESS)
		return res;
	TEE_InitRefAttribute(&attr, TEE_ATTR_SECRET_VALUE, key, KMSGATE_AES_KEY_BYTES);
	res = TEE_PopulateTransientObject(obj, &attr, 1);
	if (res == TEE_SUCCESS)
		res = TEE_AllocateOperation(op, TEE_ALG_AES_GCM, mode, 256);
	/* The operation keeps its own copy of the key: the object can go at once. */
	if (res == TEE_SUCCESS)
		res = TEE_SetOperationKey(*op, obj);
	TEE_FreeTransientObject(obj);
	if (res == TEE_SUCCESS)
		res = TEE_AEInit(*op, nonce, KMSGATE_SEAL_NONCE_BYTES, TAG_BITS, aad_len, payload_len);
	if (res == TEE_SUCCESS && aad_len)
		TEE_AEUpdateAAD(*op, aad, aad_len);
	if (res != TEE_SUCCESS && *op != TEE_HANDLE_NULL) {
		TEE_FreeOperation(*op);
		*op = TEE_HANDLE_NULL;
	}
	return res;
}

TEE_Result seal_aes_gcm(const uint8_t key[KMSGATE_AES_KEY_BYTES], const uint8_t *aad,
			size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out)
{
	uint8_t *ct = out + KMSGATE_SEAL_NONCE_BYTES;
	size_t ct_len = in_len, tag_len = KMSGATE_SEAL_TAG_BYTES;
	TEE_OperationHandle op;
	TEE_Result res;

	TEE_GenerateRandom(out, KMSGATE_SEAL_NONCE_BYTES);
	res = gcm_begin(key, TEE_MODE_ENCRYPT, out, aad, aad_len, in_len, &op);
	if (res != TEE_SUCCESS)
		return res;
	res = TEE_AEEncryptFinal(op, in, in_len, ct, &ct_len, ct + in_len, &tag_len);
	if (res == TEE_SUCCESS && (ct_len != in_len || tag_len != KMSGATE_SEAL_TAG_BYTES))
		res = TEE_ERROR_GENERIC;
	TEE_FreeOperation(op);
	return res;
}

TEE_Result unseal_aes_gcm(const uint8_t key[KMSGATE_AES_KEY_BYTES], const uint8_t *aad,
			  size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out)
{
	size_t ct_len = in_len - KMSGATE_SEAL_OVERHEAD, out_len = ct_len;
	const uint8_t *ct = in + KMSGATE_SEAL_NONCE_BYTES;
	TEE_OperationHandle op;
	TEE_Result res;

	res = gcm_begin(key, TEE_MODE_DECRYPT, in, aad, aad_len, ct_len, &op);
	if (res != TEE_SUCCESS)
		return res;
	/* The tag argument is not const in the GP signature; it is only read. */
	res = TEE_AEDecryptFinal(op, ct, ct_len, out, &out_len, (void *)(ct + ct_len),
				 KMSGATE_SEAL_TAG_BYTES);
	if (res == TEE_SUCCESS && out_len != ct_len)
		res = TEE_ERROR_GENERIC;
	if (res != TEE_SUCCESS)
		TEE_MemFill(out, 0, ct_len);
	TEE_FreeOperation(op);
	return res;
}
