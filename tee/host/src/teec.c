// SPDX-License-Identifier: Apache-2.0
/*
 * The host build's TEE Client API: runs the kmsgate TA in this process, as OP-TEE runs it in the
 * secure world. A context's name is the storage directory (the board's secure storage). The TA is
 * one instance shared by all sessions (TA_FLAG_SINGLE_INSTANCE) and executes one call at a time;
 * temporary memory references are copied in and out, as through OP-TEE's shared memory, so the TA
 * never touches the caller's buffers. TEE_Panic() kills the instance: the call answers
 * TEEC_ERROR_TARGET_DEAD (origin TEE), every session of it is dead, and a new session starts a
 * new instance.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <tee_client_api.h>
#include <tee_internal_api.h>
#include <kmsgate_ta.h>
#include "host.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static bool held;

void kmsgate_host_hold(int on)
{
	pthread_mutex_lock(&hold_lock);
	held = on != 0;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_lock);
}

/* Called with the TA's lock held: the call has started, as a slow TA command would have. */
static void wait_while_held(void)
{
	pthread_mutex_lock(&hold_lock);
	while (held)
		pthread_cond_wait(&hold_cond, &hold_lock);
	pthread_mutex_unlock(&hold_lock);
}
static bool ta_alive;
static uint64_t ta_generation;
static unsigned int ta_sessions;

struct host_sess {
	struct host_ctx *ctx;
	uint64_t generation;
	void *ta_ctx;
};

static int ensure_dir(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* The directory's sealing key, created once (the board's hardware-unique key). */
static int load_huk(struct host_ctx *c)
{
	char path[PATH_MAX + 8];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/huk", c->root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ok = read(fd, c->huk, HUK_BYTES) == HUK_BYTES;
		close(fd);
		return ok ? 0 : -1;
	}
	if (errno != ENOENT || RAND_bytes(c->huk, HUK_BYTES) != 1)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = write(fd, c->huk, HUK_BYTES) == HUK_BYTES && fsync(fd) == 0;
	close(fd);
	return ok ? 0 : -1;
}

TEEC_Result TEEC_InitializeContext(const char *name, TEEC_Context *context)
{
	struct host_ctx *c;
	char sub[PATH_MAX + 16];

	if (!context || !name || !*name || strlen(name) >= PATH_MAX - 64)
		return TEEC_ERROR_BAD_PARAMETERS;
	c = calloc(1, sizeof(*c));
	if (!c)
		return TEEC_ERROR_OUT_OF_MEMORY;
	snprintf(c->root, sizeof(c->root), "%s", name);
	snprintf(sub, sizeof(sub), "%s/private", name);
	if (ensure_dir(c->root) || ensure_dir(sub) || load_huk(c)) {
		free(c);
		return TEEC_ERROR_ITEM_NOT_FOUND;
	}
	snprintf(sub, sizeof(sub), "%s/rpmb", name);
	if (ensure_dir(sub)) {
		free(c);
		return TEEC_ERROR_ITEM_NOT_FOUND;
	}
	context->imp = c;
	return TEEC_SUCCESS;
}

void TEEC_FinalizeContext(TEEC_Context *context)
{
	if (!context || !context->imp)
		return;
	OPENSSL_cleanse(context->imp, sizeof(struct host_ctx));
	free(context->imp);
	context->imp = NULL;
}

struct shadow {
	void *buf;
	size_t size;
};

/* TEEC operation -> TEE parameters, memrefs copied into fresh buffers. */
static TEEC_Result params_in(TEEC_Operation *op, uint32_t *types, TEE_Param p[4],
			     struct shadow sh[4])
{
	memset(p, 0, 4 * sizeof(*p));
	memset(sh, 0, 4 * sizeof(*sh));
	*types = op ? op->paramTypes : 0;
	for (int i = 0; i < 4; i++) {
		uint32_t t = TEEC_PARAM_TYPE_GET(*types, i);
		TEEC_Parameter *q = op ? &op->params[i] : NULL;

		switch (t) {
		case TEEC_NONE:
			break;
		case TEEC_VALUE_INPUT:
		case TEEC_VALUE_INOUT:
			p[i].value.a = q->value.a;
			p[i].value.b = q->value.b;
			break;
		case TEEC_VALUE_OUTPUT:
			break;
		case TEEC_MEMREF_TEMP_INPUT:
		case TEEC_MEMREF_TEMP_OUTPUT:
		case TEEC_MEMREF_TEMP_INOUT:
			if (!q->tmpref.buffer && q->tmpref.size)
				return TEEC_ERROR_BAD_PARAMETERS;
			if (q->tmpref.buffer) {
				sh[i].size = q->tmpref.size;
				sh[i].buf = calloc(1, sh[i].size ? sh[i].size : 1);
				if (!sh[i].buf)
					return TEEC_ERROR_OUT_OF_MEMORY;
				if (t != TEEC_MEMREF_TEMP_OUTPUT)
					memcpy(sh[i].buf, q->tmpref.buffer, sh[i].size);
			}
			p[i].memref.buffer = sh[i].buf;
			p[i].memref.size = q->tmpref.size;
			break;
		default:
			/* Registered shared memory: not needed by the kmsgate daemon. */
			return TEEC_ERROR_NOT_IMPLEMENTED;
		}
	}
	return TEEC_SUCCESS;
}

static void params_out(TEEC_Operation *op, uint32_t types, const TEE_Param p[4],
		       const struct shadow sh[4], bool copy)
{
	for (int i = 0; copy && op && i < 4; i++) {
		uint32_t t = TEEC_PARAM_TYPE_GET(types, i);
		TEEC_Parameter *q = &op->params[i];

		if (t == TEEC_VALUE_OUTPUT || t == TEEC_VALUE_INOUT) {
			q->value.a = p[i].value.a;
			q->value.b = p[i].value.b;
		} else if (t == TEEC_MEMREF_TEMP_OUTPUT || t == TEEC_MEMREF_TEMP_INOUT) {
			if (sh[i].buf && p[i].memref.size <= sh[i].size)
				memcpy(q->tmpref.buffer, sh[i].buf, p[i].memref.size);
			q->tmpref.size = p[i].memref.size;
		}
	}
	for (int i = 0; i < 4; i++) {
		if (sh[i].buf) {
			OPENSSL_cleanse(sh[i].buf, sh[i].size);
			free(sh[i].buf);
		}
	}
}

/* The instance died: what it held is gone, and so are its sessions. */
static void ta_died(void)
{
	host_free_all();
	ta_alive = false;
	ta_sessions = 0;
}

TEEC_Result TEEC_OpenSession(TEEC_Context *context, TEEC_Session *session,
			     const TEEC_UUID *destination, uint32_t method, const void *data,
			     TEEC_Operation *op, uint32_t *origin)
{
	static const TEEC_UUID kmsgate = TA_KMSGATE_UUID;
	struct host_sess *s;
	struct shadow sh[4];
	TEE_Param p[4];
	uint32_t types, o = TEEC_ORIGIN_API;
	TEEC_Result res;
	jmp_buf jb;

	if (!context || !context->imp || !session || !destination || data ||
	    method != TEEC_LOGIN_PUBLIC) {
		res = TEEC_ERROR_BAD_PARAMETERS;
		goto out;
	}
	if (memcmp(destination, &kmsgate, sizeof(kmsgate))) {
		/* As OP-TEE answers when /lib/optee_armtz has no such TA. */
		res = TEEC_ERROR_ITEM_NOT_FOUND;
		o = TEEC_ORIGIN_TEE;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		res = TEEC_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	pthread_mutex_lock(&lock);
	res = params_in(op, &types, p, sh);
	if (res != TEEC_SUCCESS) {
		params_out(op, types, p, sh, false);
		pthread_mutex_unlock(&lock);
		free(s);
		goto out;
	}
	host_current = context->imp;
	host_panic_target = &jb;
	if (setjmp(jb)) {
		ta_died();
		res = TEEC_ERROR_TARGET_DEAD;
		o = TEEC_ORIGIN_TEE;
	} else {
		o = TEEC_ORIGIN_TRUSTED_APP;
		res = ta_alive ? TEE_SUCCESS : TA_CreateEntryPoint();
		if (res == TEE_SUCCESS && !ta_alive) {
			ta_alive = true;
			ta_generation++;
		}
		if (res == TEE_SUCCESS)
			res = TA_OpenSessionEntryPoint(types, p, &s->ta_ctx);
	}
	host_panic_target = NULL;
	host_current = NULL;
	params_out(op, types, p, sh, res != TEEC_ERROR_TARGET_DEAD);
	if (res == TEEC_SUCCESS) {
		s->ctx = context->imp;
		s->generation = ta_generation;
		ta_sessions++;
		session->imp = s;
	} else {
		free(s);
	}
	pthread_mutex_unlock(&lock);
out:
	if (origin)
		*origin = o;
	return res;
}

static bool sess_alive(const struct host_sess *s)
{
	return ta_alive && s->generation == ta_generation;
}

void TEEC_CloseSession(TEEC_Session *session)
{
	struct host_sess *s;
	jmp_buf jb;

	if (!session || !session->imp)
		return;
	s = session->imp;
	pthread_mutex_lock(&lock);
	if (sess_alive(s)) {
		host_current = s->ctx;
		host_panic_target = &jb;
		if (setjmp(jb)) {
			ta_died();
		} else {
			TA_CloseSessionEntryPoint(s->ta_ctx);
			if (--ta_sessions == 0) {
				TA_DestroyEntryPoint();
				ta_died();
			}
		}
		host_panic_target = NULL;
		host_current = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(s);
	session->imp = NULL;
}

TEEC_Result TEEC_InvokeCommand(TEEC_Session *session, uint32_t cmd, TEEC_Operation *op,
			       uint32_t *origin)
{
	struct host_sess *s;
	struct shadow sh[4];
	TEE_Param p[4];
	uint32_t types, o = TEEC_ORIGIN_API;
	TEEC_Result res;
	jmp_buf jb;

	if (!session || !session->imp) {
		res = TEEC_ERROR_BAD_PARAMETERS;
		goto out;
	}
	s = session->imp;
	pthread_mutex_lock(&lock);
	if (!sess_alive(s)) {
		pthread_mutex_unlock(&lock);
		res = TEEC_ERROR_TARGET_DEAD;
		o = TEEC_ORIGIN_TEE;
		goto out;
	}
	if (op)
		op->started = 1;
	res = params_in(op, &types, p, sh);
	if (res != TEEC_SUCCESS) {
		params_out(op, types, p, sh, false);
		pthread_mutex_unlock(&lock);
		goto out;
	}
	wait_while_held();
	host_current = s->ctx;
	host_panic_target = &jb;
	if (setjmp(jb)) {
		ta_died();
		res = TEEC_ERROR_TARGET_DEAD;
		o = TEEC_ORIGIN_TEE;
	} else {
		res = TA_InvokeCommandEntryPoint(s->ta_ctx, cmd, types, p);
		o = TEEC_ORIGIN_TRUSTED_APP;
	}
	host_panic_target = NULL;
	host_current = NULL;
	params_out(op, types, p, sh, res != TEEC_ERROR_TARGET_DEAD);
	pthread_mutex_unlock(&lock);
out:
	if (origin)
		*origin = res == TEEC_SUCCESS ? TEEC_ORIGIN_TRUSTED_APP : o;
	return res;
}
