// SPDX-License-Identifier: Apache-2.0
/*
 * The kmsgate trusted application: entry points and one handler per command of
 * include/kmsgate_ta.h. Each handler first checks the exact parameter types and every length,
 * then loads the key state (refused after a rollback), and writes only through state_commit().
 * Private keys never leave the TA: no command returns one.
 */
#include <string.h>
#include <tee_internal_api.h>
#include <tee_internal_api_extensions.h>
#include "kmsgate_ta_private.h"

#define PT(a, b, c, d)	TEE_PARAM_TYPES(TEE_PARAM_TYPE_##a, TEE_PARAM_TYPE_##b, \
					TEE_PARAM_TYPE_##c, TEE_PARAM_TYPE_##d)

/* An output memref must hold need bytes; if not, it learns the size needed (GP convention). */
static TEE_Result check_out(TEE_Param *p, size_t need)
{
	if (p->memref.size < need) {
		p->memref.size = need;
		return TEE_ERROR_SHORT_BUFFER;
	}
	if (!p->memref.buffer)
		return TEE_ERROR_BAD_PARAMETERS;
	return TEE_SUCCESS;
}

static bool is_handle(const TEE_Param *p)
{
	return p->memref.buffer && p->memref.size == KMSGATE_HANDLE_BYTES;
}

/*
 * Loads the key state (refused after a rollback) and finds the key p names:
 * TEE_ERROR_ITEM_NOT_FOUND if there is none. The caller frees the state whatever the result.
 */
static TEE_Result load_key(struct key_state *st, const TEE_Param *p, struct key_record **rec)
{
	TEE_Result res = state_load(st);

	if (res != TEE_SUCCESS)
		return res;
	*rec = state_find(st, p->memref.buffer);
	return *rec ? TEE_SUCCESS : TEE_ERROR_ITEM_NOT_FOUND;
}

static TEE_Result cmd_ping(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	struct key_state st = { };
	TEE_Result res;

	if (types != PT(VALUE_OUTPUT, NONE, NONE, NONE))
		return TEE_ERROR_BAD_PARAMETERS;
	res = state_load(&st);
	if (res != TEE_SUCCESS)
		return res;
	params[0].value.a = KMSGATE_TA_INTERFACE_VERSION;
	params[0].value.b = st.count;
	state_free(&st);
	return TEE_SUCCESS;
}

static TEE_Result cmd_generate_key(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	struct key_state st = { };
	struct key_record *rec;
	uint32_t type;
	size_t label_len;
	TEE_Result res;

	if (types != PT(VALUE_INPUT, MEMREF_INPUT, MEMREF_OUTPUT, MEMREF_OUTPUT))
		return TEE_ERROR_BAD_PARAMETERS;
	type = params[0].value.a;
	label_len = params[1].memref.size;
	if (!params[1].memref.buffer || label_len < 1 || label_len > KMSGATE_MAX_LABEL_BYTES)
		return TEE_ERROR_BAD_PARAMETERS;
	if (!keys_type_known(type))
		return TEE_ERROR_BAD_PARAMETERS;
	res = check_out(&params[2], KMSGATE_HANDLE_BYTES);
	if (res == TEE_SUCCESS)
		res = check_out(&params[3], keys_public_len(type));
	if (res != TEE_SUCCESS)
		return res;

	res = state_load(&st);
	if (res != TEE_SUCCESS)
		return res;
	if (st.count >= CFG_KMSGATE_MAX_KEYS) {
		res = TEE_ERROR_STORAGE_NO_SPACE;
		goto out;
	}
	rec = &st.keys[st.count];
	/* rec is not counted yet, so state_find() only sees the other keys. */
	do {
		TEE_GenerateRandom(rec->handle, KMSGATE_HANDLE_BYTES);
	} while (state_find(&st, rec->handle));
	res = keys_generate((uint8_t)type, rec);
	if (res != TEE_SUCCESS)
		goto out;
	rec->label_len = (uint8_t)label_len;
	memcpy(rec->label, params[1].memref.buffer, label_len);
	st.count++;
	res = state_commit(&st);
	if (res != TEE_SUCCESS)
		goto out;
	memcpy(params[2].memref.buffer, rec->handle, KMSGATE_HANDLE_BYTES);
	params[2].memref.size = KMSGATE_HANDLE_BYTES;
	params[3].memref.size = keys_public_len(rec->type);
	if (params[3].memref.size)
		memcpy(params[3].memref.buffer, rec->pub, params[3].memref.size);
out:
	state_free(&st);
	return res;
}

static TEE_Result cmd_get_public_key(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	struct key_state st = { };
	struct key_record *rec;
	TEE_Result res;

	if (types != PT(MEMREF_INPUT, VALUE_OUTPUT, MEMREF_OUTPUT, NONE) || !is_handle(&params[0]))
		return TEE_ERROR_BAD_PARAMETERS;
	res = load_key(&st, &params[0], &rec);
	if (res == TEE_SUCCESS && !keys_public_len(rec->type))
		res = TEE_ERROR_BAD_PARAMETERS;	/* an AES key has no public part */
	if (res == TEE_SUCCESS)
		res = check_out(&params[2], keys_public_len(rec->type));
	if (res == TEE_SUCCESS) {
		params[1].value.a = rec->type;
		params[1].value.b = 0;
		params[2].memref.size = keys_public_len(rec->type);
		memcpy(params[2].memref.buffer, rec->pub, params[2].memref.size);
	}
	state_free(&st);
	return res;
}

static TEE_Result cmd_sign(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	struct key_state st = { };
	struct key_record *rec;
	uint32_t alg;
	size_t input_len;
	TEE_Result res;

	if (types != PT(MEMREF_INPUT, VALUE_INPUT, MEMREF_INPUT, MEMREF_OUTPUT) ||
	    !is_handle(&params[0]))
		return TEE_ERROR_BAD_PARAMETERS;
	alg = params[1].value.a;
	input_len = params[2].memref.size;
	if (input_len && !params[2].memref.buffer)
		return TEE_ERROR_BAD_PARAMETERS;
	if (alg == KMSGATE_ALG_ECDSA_SHA_256 ? input_len != KMSGATE_DIGEST_BYTES :
	    alg == KMSGATE_ALG_ED25519 ? input_len > KMSGATE_MAX_MESSAGE_BYTES : true)
		return TEE_ERROR_BAD_PARAMETERS;
	res = check_out(&params[3], KMSGATE_SIGNATURE_BYTES);
	if (res != TEE_SUCCESS)
		return res;
	res = load_key(&st, &params[0], &rec);
	if (res == TEE_SUCCESS)
		res = keys_sign(rec, alg, params[2].memref.buffer, input_len,
				params[3].memref.buffer);
	if (res == TEE_SUCCESS)
		params[3].memref.size = KMSGATE_SIGNATURE_BYTES;
	state_free(&st);
	return res;
}

static TEE_Result cmd_delete_key(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	struct key_state st = { };
	struct key_record *rec;
	TEE_Result res;

	if (types != PT(MEMREF_INPUT, VALUE_OUTPUT, NONE, NONE) || !is_handle(&params[0]))
		return TEE_ERROR_BAD_PARAMETERS;
	res = state_load(&st);
	if (res != TEE_SUCCESS)
		return res;
	rec = state_find(&st, params[0].memref.buffer);
	params[1].value.a = 0;
	params[1].value.b = 0;
	if (rec) {
		struct key_record *last = &st.keys[st.count - 1];

		if (rec != last)
			memcpy(rec, last, sizeof(*rec));
		TEE_MemFill(last, 0, sizeof(*last));
		st.count--;
		res = state_commit(&st);
		if (res == TEE_SUCCESS)
			params[1].value.a = 1;
	}
	state_free(&st);
	return res;
}

static TEE_Result cmd_random(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	size_t n = params[0].memref.size;

	if (types != PT(MEMREF_OUTPUT, NONE, NONE, NONE) || !params[0].memref.buffer ||
	    n < KMSGATE_MIN_RANDOM_BYTES || n > KMSGATE_MAX_RANDOM_BYTES)
		return TEE_ERROR_BAD_PARAMETERS;
	TEE_GenerateRandom(params[0].memref.buffer, n);
	return TEE_SUCCESS;
}

static TEE_Result cmd_get_rollback_counter(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	uint64_t counter = 0;
	TEE_Result res;

	if (types != PT(VALUE_OUTPUT, NONE, NONE, NONE))
		return TEE_ERROR_BAD_PARAMETERS;
	res = state_read_counter(&counter);
	if (res != TEE_SUCCESS)
		return res;
	params[0].value.a = (uint32_t)counter;
	params[0].value.b = (uint32_t)(counter >> 32);
	return TEE_SUCCESS;
}

static TEE_Result cmd_get_attestation(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	size_t nonce_len = params[0].memref.size;
	TEE_Result res;

	if (types != PT(MEMREF_INPUT, MEMREF_OUTPUT, MEMREF_OUTPUT, MEMREF_OUTPUT) ||
	    !params[0].memref.buffer || nonce_len < KMSGATE_MIN_NONCE_BYTES ||
	    nonce_len > KMSGATE_MAX_NONCE_BYTES)
		return TEE_ERROR_BAD_PARAMETERS;
	res = check_out(&params[1], KMSGATE_MEASUREMENT_BYTES);
	if (res == TEE_SUCCESS)
		res = check_out(&params[2], KMSGATE_EC_PUBLIC_KEY_BYTES);
	if (res == TEE_SUCCESS)
		res = check_out(&params[3], KMSGATE_SIGNATURE_BYTES);
	if (res != TEE_SUCCESS)
		return res;
	res = attest(params[0].memref.buffer, nonce_len, params[1].memref.buffer,
		     params[2].memref.buffer, params[3].memref.buffer);
	if (res == TEE_SUCCESS) {
		params[1].memref.size = KMSGATE_MEASUREMENT_BYTES;
		params[2].memref.size = KMSGATE_EC_PUBLIC_KEY_BYTES;
		params[3].memref.size = KMSGATE_SIGNATURE_BYTES;
	}
	return res;
}

/*
 * SEAL and UNSEAL share one layout: handle, AAD, input, output. Inputs are copied out of the
 * shared buffers before use (the normal world can change those while the TA reads them), the
 * output is made in TA memory and copied out only on success, so a failed UNSEAL never exposes
 * the unauthenticated plaintext that some GCM implementations write before checking the tag.
 */
static TEE_Result cmd_aes_gcm(uint32_t types, TEE_Param params[TEE_NUM_PARAMS], bool seal)
{
	size_t aad_len = params[1].memref.size;
	size_t in_len = params[2].memref.size;
	size_t min = KMSGATE_MIN_SEAL_BYTES + (seal ? 0 : KMSGATE_SEAL_OVERHEAD);
	size_t max = KMSGATE_MAX_SEAL_BYTES + (seal ? 0 : KMSGATE_SEAL_OVERHEAD);
	struct key_state st = { };
	struct key_record *rec;
	size_t out_len, total;
	uint8_t *buf;
	TEE_Result res;

	if (types != PT(MEMREF_INPUT, MEMREF_INPUT, MEMREF_INPUT, MEMREF_OUTPUT) ||
	    !is_handle(&params[0]) || aad_len > KMSGATE_MAX_AAD_BYTES ||
	    (aad_len && !params[1].memref.buffer) || !params[2].memref.buffer ||
	    in_len < min || in_len > max)
		return TEE_ERROR_BAD_PARAMETERS;
	/* Bounded above (at most 256 + 2 * 1052 bytes in all): nothing here can wrap. */
	out_len = seal ? in_len + KMSGATE_SEAL_OVERHEAD : in_len - KMSGATE_SEAL_OVERHEAD;
	total = aad_len + in_len + out_len;
	res = check_out(&params[3], out_len);
	if (res != TEE_SUCCESS)
		return res;
	res = load_key(&st, &params[0], &rec);
	if (res == TEE_SUCCESS && rec->type != KMSGATE_KEY_AES_256)
		res = TEE_ERROR_BAD_PARAMETERS;
	buf = res == TEE_SUCCESS ? TEE_Malloc(total, TEE_MALLOC_FILL_ZERO) : NULL;
	if (res == TEE_SUCCESS && !buf)
		res = TEE_ERROR_OUT_OF_MEMORY;
	if (res == TEE_SUCCESS) {
		if (aad_len)
			memcpy(buf, params[1].memref.buffer, aad_len);
		memcpy(buf + aad_len, params[2].memref.buffer, in_len);
		res = (seal ? seal_aes_gcm : unseal_aes_gcm)(rec->priv, buf, aad_len, buf + aad_len,
							     in_len, buf + aad_len + in_len);
	}
	if (res == TEE_SUCCESS) {
		memcpy(params[3].memref.buffer, buf + aad_len + in_len, out_len);
		params[3].memref.size = out_len;
	}
	if (buf) {
		TEE_MemFill(buf, 0, total);
		TEE_Free(buf);
	}
	state_free(&st);
	return res;
}

static TEE_Result cmd_get_key_types(uint32_t types, TEE_Param params[TEE_NUM_PARAMS])
{
	if (types != PT(VALUE_OUTPUT, NONE, NONE, NONE))
		return TEE_ERROR_BAD_PARAMETERS;
	params[0].value.a = keys_types();
	params[0].value.b = 0;
	return TEE_SUCCESS;
}

TEE_Result TA_CreateEntryPoint(void)
{
	return TEE_SUCCESS;
}

void TA_DestroyEntryPoint(void)
{
}

TEE_Result TA_OpenSessionEntryPoint(uint32_t types, TEE_Param params[TEE_NUM_PARAMS],
				    void **sess_ctx)
{
	(void)params;
	*sess_ctx = NULL;
	if (types != PT(NONE, NONE, NONE, NONE))
		return TEE_ERROR_BAD_PARAMETERS;
	return TEE_SUCCESS;
}

void TA_CloseSessionEntryPoint(void *sess_ctx)
{
	(void)sess_ctx;
}

TEE_Result TA_InvokeCommandEntryPoint(void *sess_ctx, uint32_t cmd, uint32_t types,
				      TEE_Param params[TEE_NUM_PARAMS])
{
	(void)sess_ctx;
	switch (cmd) {
	case KMSGATE_CMD_PING:
		return cmd_ping(types, params);
	case KMSGATE_CMD_GENERATE_KEY:
		return cmd_generate_key(types, params);
	case KMSGATE_CMD_GET_PUBLIC_KEY:
		return cmd_get_public_key(types, params);
	case KMSGATE_CMD_SIGN:
		return cmd_sign(types, params);
	case KMSGATE_CMD_DELETE_KEY:
		return cmd_delete_key(types, params);
	case KMSGATE_CMD_RANDOM:
		return cmd_random(types, params);
	case KMSGATE_CMD_GET_ROLLBACK_COUNTER:
		return cmd_get_rollback_counter(types, params);
	case KMSGATE_CMD_GET_ATTESTATION:
		return cmd_get_attestation(types, params);
	case KMSGATE_CMD_GET_KEY_TYPES:
		return cmd_get_key_types(types, params);
	case KMSGATE_CMD_SEAL:
		return cmd_aes_gcm(types, params, true);
	case KMSGATE_CMD_UNSEAL:
		return cmd_aes_gcm(types, params, false);
	default:
		/* Another interface version, or no command at all. */
		return TEE_ERROR_NOT_SUPPORTED;
	}
}
