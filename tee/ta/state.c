// SPDX-License-Identifier: Apache-2.0
/*
 * The TA's persistent state: one object in TEE_STORAGE_PRIVATE holding every key, written whole
 * (OP-TEE replaces an object created with TEE_DATA_FLAG_OVERWRITE atomically), and a monotonic
 * counter in replay-protected storage. Every state write carries counter + 1 and is followed by
 * the counter update, so a restored older copy of the state is detected on load and refused
 * (docs/tee-bridge-protocol.md, getRollbackCounter).
 */
#include <string.h>
#include <tee_internal_api.h>
#include <tee_internal_api_extensions.h>
#include "kmsgate_ta_private.h"

static const char STATE_ID[] = "kmsgate.state";
static const char COUNTER_ID[] = "kmsgate.counter";
static const uint8_t STATE_MAGIC[4] = { 'K', 'G', 'S', 'T' };
static const uint8_t COUNTER_MAGIC[4] = { 'K', 'G', 'C', 'T' };
#define STATE_FORMAT		1
#define STATE_HEADER_BYTES	24	/* magic, format u32, epoch u64, count u32, reserved u32 */
#define COUNTER_BYTES		12	/* magic, counter u64 */
#define STATE_MAX_BYTES		(STATE_HEADER_BYTES + \
				 CFG_KMSGATE_MAX_KEYS * sizeof(struct key_record))

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Reads a whole object of at most max bytes. *len gets its size. An object larger than max is
 * not ours: TEE_ERROR_SECURITY.
 */
static TEE_Result read_object(uint32_t storage, const char *id, uint8_t *buf, size_t max,
			      size_t *len)
{
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	TEE_ObjectInfo info = { };
	TEE_Result res;
	size_t n = 0;

	res = TEE_OpenPersistentObject(storage, id, strlen(id),
				       TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_SHARE_READ,
				       &obj);
	if (res != TEE_SUCCESS)
		return res;
	res = TEE_GetObjectInfo1(obj, &info);
	if (res == TEE_SUCCESS && info.dataSize > max)
		res = TEE_ERROR_SECURITY;
	if (res == TEE_SUCCESS)
		res = TEE_ReadObjectData(obj, buf, info.dataSize, &n);
	if (res == TEE_SUCCESS && n != info.dataSize)
		res = TEE_ERROR_SECURITY;
	TEE_CloseObject(obj);
	if (res == TEE_SUCCESS)
		*len = n;
	return res;
}

static TEE_Result write_object(uint32_t storage, const char *id, const uint8_t *buf, size_t len)
{
	TEE_ObjectHandle obj = TEE_HANDLE_NULL;
	TEE_Result res;

	res = TEE_CreatePersistentObject(storage, id, strlen(id),
					 TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE |
					 TEE_DATA_FLAG_ACCESS_WRITE_META |
					 TEE_DATA_FLAG_OVERWRITE,
					 TEE_HANDLE_NULL, buf, len, &obj);
	if (res == TEE_SUCCESS)
		TEE_CloseObject(obj);
	return res;
}

TEE_Result state_read_counter(uint64_t *counter)
{
	uint8_t buf[COUNTER_BYTES];
	size_t len = 0;
	TEE_Result res;

	res = read_object(CFG_KMSGATE_COUNTER_STORAGE, COUNTER_ID, buf, sizeof(buf), &len);
	if (res == TEE_ERROR_ITEM_NOT_FOUND) {
		*counter = 0;	/* a device that never wrote a key */
		return TEE_SUCCESS;
	}
	if (res == TEE_ERROR_CORRUPT_OBJECT)
		return TEE_ERROR_SECURITY;
	if (res != TEE_SUCCESS)
		return res;
	if (len != COUNTER_BYTES || memcmp(buf, COUNTER_MAGIC, 4))
		return TEE_ERROR_SECURITY;
	*counter = get_u64(buf + 4);
	return TEE_SUCCESS;
}

static TEE_Result write_counter(uint64_t counter)
{
	uint8_t buf[COUNTER_BYTES];

	memcpy(buf, COUNTER_MAGIC, 4);
	put_u64(buf + 4, counter);
	return write_object(CFG_KMSGATE_COUNTER_STORAGE, COUNTER_ID, buf, sizeof(buf));
}

void state_free(struct key_state *st)
{
	if (st->keys) {
		/* Private keys must not linger in freed heap. */
		TEE_MemFill(st->keys, 0, CFG_KMSGATE_MAX_KEYS * sizeof(struct key_record));
		TEE_Free(st->keys);
	}
	st->keys = NULL;
	st->count = 0;
}

static TEE_Result parse_state(struct key_state *st, const uint8_t *buf, size_t len)
{
	uint32_t count;

	if (len < STATE_HEADER_BYTES || memcmp(buf, STATE_MAGIC, 4) ||
	    get_u32(buf + 4) != STATE_FORMAT)
		return TEE_ERROR_SECURITY;
	count = get_u32(buf + 16);
	if (count > CFG_KMSGATE_MAX_KEYS ||
	    len != STATE_HEADER_BYTES + (size_t)count * sizeof(struct key_record))
		return TEE_ERROR_SECURITY;
	st->epoch = get_u64(buf + 8);
	st->count = count;
	memcpy(st->keys, buf + STATE_HEADER_BYTES, count * sizeof(struct key_record));
	for (uint32_t i = 0; i < count; i++) {
		const struct key_record *k = &st->keys[i];

		if (!keys_type_known(k->type))
			return TEE_ERROR_SECURITY;
		if (k->label_len < 1 || k->label_len > KMSGATE_MAX_LABEL_BYTES)
			return TEE_ERROR_SECURITY;
	}
	return TEE_SUCCESS;
}

/*
 * Loads the key state and checks it against the rollback counter. A state that is older than
 * the counter (restored), newer than counter + 1, missing while the counter says keys were
 * written, or not authentic is TEE_ERROR_SECURITY, and is never written over.
 */
TEE_Result state_load(struct key_state *st)
{
	uint8_t *buf = NULL;
	uint64_t counter = 0;
	size_t len = 0;
	TEE_Result res;

	st->keys = TEE_Malloc(CFG_KMSGATE_MAX_KEYS * sizeof(struct key_record),
			      TEE_MALLOC_FILL_ZERO);
	st->count = 0;
	st->epoch = 0;
	if (!st->keys)
		return TEE_ERROR_OUT_OF_MEMORY;
	res = state_read_counter(&counter);
	if (res != TEE_SUCCESS)
		goto out;
	buf = TEE_Malloc(STATE_MAX_BYTES, 0);
	if (!buf) {
		res = TEE_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	res = read_object(TEE_STORAGE_PRIVATE, STATE_ID, buf, STATE_MAX_BYTES, &len);
	if (res == TEE_ERROR_ITEM_NOT_FOUND) {
		res = counter == 0 ? TEE_SUCCESS : TEE_ERROR_SECURITY;
		goto out;
	}
	if (res == TEE_ERROR_CORRUPT_OBJECT)
		res = TEE_ERROR_SECURITY;
	if (res == TEE_SUCCESS)
		res = parse_state(st, buf, len);
	if (res != TEE_SUCCESS)
		goto out;
	if (st->epoch < counter || st->epoch > counter + 1) {
		EMSG("kmsgate: key state at epoch %llu, rollback counter %llu: refused",
		     (unsigned long long)st->epoch, (unsigned long long)counter);
		res = TEE_ERROR_SECURITY;
	} else if (st->epoch == counter + 1) {
		/* The state was written, the counter update was not (a crash between): roll on. */
		res = write_counter(st->epoch);
	}
out:
	if (buf) {
		TEE_MemFill(buf, 0, STATE_MAX_BYTES);
		TEE_Free(buf);
	}
	if (res != TEE_SUCCESS)
		state_free(st);
	return res;
}

/* Writes the state under epoch + 1, then advances the counter to it. */
TEE_Result state_commit(struct key_state *st)
{
	size_t len = STATE_HEADER_BYTES + (size_t)st->count * sizeof(struct key_record);
	uint64_t epoch = st->epoch + 1;
	uint8_t *buf;
	TEE_Result res;

	buf = TEE_Malloc(len, TEE_MALLOC_FILL_ZERO);
	if (!buf)
		return TEE_ERROR_OUT_OF_MEMORY;
	memcpy(buf, STATE_MAGIC, 4);
	put_u32(buf + 4, STATE_FORMAT);
	put_u64(buf + 8, epoch);
	put_u32(buf + 16, st->count);
	memcpy(buf + STATE_HEADER_BYTES, st->keys, st->count * sizeof(struct key_record));
	res = write_object(TEE_STORAGE_PRIVATE, STATE_ID, buf, len);
	TEE_MemFill(buf, 0, len);
	TEE_Free(buf);
	if (res != TEE_SUCCESS)
		return res;
	st->epoch = epoch;
	return write_counter(epoch);
}

struct key_record *state_find(struct key_state *st, const uint8_t *handle)
{
	for (uint32_t i = 0; i < st->count; i++)
		if (!TEE_MemCompare(st->keys[i].handle, handle, KMSGATE_HANDLE_BYTES))
			return &st->keys[i];
	return NULL;
}
