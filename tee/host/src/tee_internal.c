// SPDX-License-Identifier: Apache-2.0
/*
 * The host build's TEE Internal Core API: the functions the kmsgate TA calls, with the
 * specification's semantics and result codes, on top of OpenSSL's libcrypto (the copy Node links
 * in; see tee/host/Makefile) and files. Persistent objects are sealed with AES-256-GCM under a
 * per-directory key, so a modified file reads as TEE_ERROR_CORRUPT_OBJECT as it would on OP-TEE;
 * a file restored whole from an older copy reads fine, which is what the TA's rollback counter is
 * for. Nothing here is secure: the key sits next to the files. It exists so CI runs the TA's code.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tee_internal_api.h>
#include <tee_internal_api_extensions.h>
#include <pta_attestation.h>
#include "host.h"

struct host_ctx *host_current;
jmp_buf *host_panic_target;

/* ---- memory ------------------------------------------------------------------------------- */

struct alloc {
	struct alloc *prev, *next;
	size_t size;
	max_align_t data[];
};

static struct alloc allocs = { &allocs, &allocs, 0 };

static void *track(size_t size)
{
	struct alloc *a = calloc(1, sizeof(*a) + (size ? size : 1));

	if (!a)
		return NULL;
	a->size = size;
	a->next = &allocs;
	a->prev = allocs.prev;
	allocs.prev->next = a;
	allocs.prev = a;
	return a->data;
}

static void untrack(void *p)
{
	struct alloc *a;

	if (!p)
		return;
	a = (struct alloc *)((char *)p - offsetof(struct alloc, data));
	a->prev->next = a->next;
	a->next->prev = a->prev;
	OPENSSL_cleanse(a->data, a->size);
	free(a);
}

void *TEE_Malloc(size_t size, uint32_t hint)
{
	(void)hint;	/* track() always zero-fills */
	return track(size);
}

void TEE_Free(void *buffer)
{
	untrack(buffer);
}

void TEE_MemFill(void *buffer, uint8_t x, size_t size)
{
	memset(buffer, x, size);
}

int32_t TEE_MemCompare(const void *a, const void *b, size_t size)
{
	/* Constant time, as OP-TEE's is; only equality matters to the TA. */
	return CRYPTO_memcmp(a, b, size) ? 1 : 0;
}

/* ---- faults and panics -------------------------------------------------------------------- */

static int64_t panic_on_sign = -1, panic_on_write = -1;
static uint64_t signatures;
static uint64_t storage_limit;

int kmsgate_host_fault(const char *kind, uint32_t skip)
{
	if (!strcmp(kind, "sign"))
		panic_on_sign = skip;
	else if (!strcmp(kind, "write"))
		panic_on_write = skip;
	else if (!strcmp(kind, "none"))
		panic_on_sign = panic_on_write = -1;
	else
		return -1;
	return 0;
}

uint64_t kmsgate_host_signatures(void)
{
	return signatures;
}

void kmsgate_host_set_storage_limit(uint64_t bytes)
{
	storage_limit = bytes;
}

static void maybe_panic(int64_t *armed)
{
	if (*armed < 0)
		return;
	if ((*armed)-- == 0)
		TEE_Panic(TEE_ERROR_GENERIC);
}

void TEE_Panic(TEE_Result code)
{
	kmsgate_host_trace("TA panic 0x%08x", code);
	if (!host_panic_target)
		abort();
	longjmp(*host_panic_target, 1);
}

void kmsgate_host_trace(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("kmsgate TA (host): ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void host_free_all(void)
{
	while (allocs.next != &allocs)
		untrack(allocs.next->data);
}

/* ---- objects ------------------------------------------------------------------------------ */

#define MAX_ATTR_BYTES 66

struct buf_attr {
	uint8_t bytes[MAX_ATTR_BYTES];
	size_t len;
	bool set;
};

struct __TEE_ObjectHandle {
	uint32_t type;
	bool persistent;
	bool initialized;
	uint32_t max_size;
	/* key objects */
	struct buf_attr priv, pub_x, pub_y, ed_pub;
	uint32_t curve;
	/* persistent data objects */
	uint8_t *data;
	size_t data_len, pos;
	uint32_t flags;
};

TEE_Result TEE_AllocateTransientObject(uint32_t type, uint32_t max_size, TEE_ObjectHandle *object)
{
	TEE_ObjectHandle o;

	if ((type != TEE_TYPE_ECDSA_KEYPAIR && type != TEE_TYPE_ED25519_KEYPAIR &&
	     type != TEE_TYPE_AES) || max_size != 256)
		return TEE_ERROR_NOT_SUPPORTED;
	o = track(sizeof(*o));
	if (!o)
		return TEE_ERROR_OUT_OF_MEMORY;
	o->type = type;
	o->max_size = max_size;
	*object = o;
	return TEE_SUCCESS;
}

void TEE_FreeTransientObject(TEE_ObjectHandle object)
{
	if (object && object->persistent)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	untrack(object);
}

void TEE_InitRefAttribute(TEE_Attribute *attr, uint32_t id, const void *buffer, size_t length)
{
	attr->attributeID = id;
	attr->content.ref.buffer = (void *)buffer;
	attr->content.ref.length = length;
}

void TEE_InitValueAttribute(TEE_Attribute *attr, uint32_t id, uint32_t a, uint32_t b)
{
	attr->attributeID = id;
	attr->content.value.a = a;
	attr->content.value.b = b;
}

static void set_attr(struct buf_attr *d, const void *p, size_t len)
{
	if (len > MAX_ATTR_BYTES)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	memcpy(d->bytes, p, len);
	d->len = len;
	d->set = true;
}

/* Big numbers as GP returns them: big-endian, without leading zero bytes. */
static void set_bignum(struct buf_attr *d, const uint8_t *p, size_t len)
{
	while (len > 1 && *p == 0) {
		p++;
		len--;
	}
	set_attr(d, p, len);
}

TEE_Result TEE_PopulateTransientObject(TEE_ObjectHandle o, const TEE_Attribute *attrs,
				       uint32_t count)
{
	if (o->initialized)
		TEE_Panic(TEE_ERROR_BAD_STATE);
	for (uint32_t i = 0; i < count; i++) {
		const TEE_Attribute *a = &attrs[i];

		switch (a->attributeID) {
		case TEE_ATTR_ECC_PRIVATE_VALUE:
			set_bignum(&o->priv, a->content.ref.buffer, a->content.ref.length);
			break;
		case TEE_ATTR_ECC_PUBLIC_VALUE_X:
			set_bignum(&o->pub_x, a->content.ref.buffer, a->content.ref.length);
			break;
		case TEE_ATTR_ECC_PUBLIC_VALUE_Y:
			set_bignum(&o->pub_y, a->content.ref.buffer, a->content.ref.length);
			break;
		case TEE_ATTR_ECC_CURVE:
			o->curve = a->content.value.a;
			break;
		case TEE_ATTR_ED25519_PRIVATE_VALUE:
			set_attr(&o->priv, a->content.ref.buffer, a->content.ref.length);
			break;
		case TEE_ATTR_ED25519_PUBLIC_VALUE:
			set_attr(&o->ed_pub, a->content.ref.buffer, a->content.ref.length);
			break;
		case TEE_ATTR_SECRET_VALUE:
			set_attr(&o->priv, a->content.ref.buffer, a->content.ref.length);
			break;
		default:
			TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
		}
	}
	if (o->type == TEE_TYPE_AES ? !(o->priv.set && o->priv.len == 32) :
	    o->type == TEE_TYPE_ECDSA_KEYPAIR ?
	    !(o->priv.set && o->pub_x.set && o->pub_y.set && o->curve == TEE_ECC_CURVE_NIST_P256) :
	    !(o->priv.set && o->priv.len == 32 && o->ed_pub.set && o->ed_pub.len == 32))
		return TEE_ERROR_BAD_PARAMETERS;
	o->initialized = true;
	return TEE_SUCCESS;
}

TEE_Result TEE_GenerateKey(TEE_ObjectHandle o, uint32_t key_size, const TEE_Attribute *params,
			   uint32_t count)
{
	EVP_PKEY *pkey = NULL;
	TEE_Result res = TEE_ERROR_GENERIC;

	if (o->initialized || key_size != 256)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	if (o->type == TEE_TYPE_AES) {
		uint8_t key[32];

		if (count != 0)
			return TEE_ERROR_BAD_PARAMETERS;
		if (RAND_bytes(key, sizeof(key)) == 1) {
			set_attr(&o->priv, key, sizeof(key));
			res = TEE_SUCCESS;
		}
		OPENSSL_cleanse(key, sizeof(key));
	} else if (o->type == TEE_TYPE_ECDSA_KEYPAIR) {
		uint8_t priv[32], point[65];
		BIGNUM *bn = NULL;
		size_t n = 0;

		if (count != 1 || params[0].attributeID != TEE_ATTR_ECC_CURVE ||
		    params[0].content.value.a != TEE_ECC_CURVE_NIST_P256)
			return TEE_ERROR_BAD_PARAMETERS;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (pkey && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) &&
		    BN_bn2binpad(bn, priv, 32) == 32 &&
		    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
						    sizeof(point), &n) && n == 65) {
			set_bignum(&o->priv, priv, 32);
			set_bignum(&o->pub_x, point + 1, 32);
			set_bignum(&o->pub_y, point + 33, 32);
			o->curve = TEE_ECC_CURVE_NIST_P256;
			res = TEE_SUCCESS;
		}
		BN_clear_free(bn);
		OPENSSL_cleanse(priv, sizeof(priv));
	} else {
		uint8_t priv[32], pub[32];
		size_t pl = 32, ql = 32;

		if (count != 0)
			return TEE_ERROR_BAD_PARAMETERS;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		if (pkey && EVP_PKEY_get_raw_private_key(pkey, priv, &pl) &&
		    EVP_PKEY_get_raw_public_key(pkey, pub, &ql) && pl == 32 && ql == 32) {
			set_attr(&o->priv, priv, 32);
			set_attr(&o->ed_pub, pub, 32);
			res = TEE_SUCCESS;
		}
		OPENSSL_cleanse(priv, sizeof(priv));
	}
	EVP_PKEY_free(pkey);
	if (res == TEE_SUCCESS)
		o->initialized = true;
	return res;
}

TEE_Result TEE_GetObjectBufferAttribute(TEE_ObjectHandle o, uint32_t id, void *buffer,
					size_t *size)
{
	const struct buf_attr *a;

	switch (id) {
	case TEE_ATTR_ECC_PRIVATE_VALUE:
	case TEE_ATTR_ED25519_PRIVATE_VALUE:
		a = &o->priv;
		break;
	case TEE_ATTR_ECC_PUBLIC_VALUE_X:
		a = &o->pub_x;
		break;
	case TEE_ATTR_ECC_PUBLIC_VALUE_Y:
		a = &o->pub_y;
		break;
	case TEE_ATTR_ED25519_PUBLIC_VALUE:
		a = &o->ed_pub;
		break;
	case TEE_ATTR_SECRET_VALUE:
		if (o->type != TEE_TYPE_AES)
			return TEE_ERROR_ITEM_NOT_FOUND;
		a = &o->priv;
		break;
	default:
		return TEE_ERROR_ITEM_NOT_FOUND;
	}
	if (!o->initialized || !a->set)
		return TEE_ERROR_ITEM_NOT_FOUND;
	if (*size < a->len) {
		*size = a->len;
		return TEE_ERROR_SHORT_BUFFER;
	}
	memcpy(buffer, a->bytes, a->len);
	*size = a->len;
	return TEE_SUCCESS;
}

/* ---- persistent objects: sealed files --------------------------------------------------------- */

static const uint8_t FILE_MAGIC[4] = { 'K', 'G', 'H', 'S' };
#define IV_BYTES 12
#define TAG_BYTES 16

static const char *storage_dir(uint32_t storage)
{
	if (storage == TEE_STORAGE_PRIVATE)
		return "private";
	if (storage == TEE_STORAGE_PRIVATE_RPMB)
		return "rpmb";
	return NULL;
}

static TEE_Result object_path(uint32_t storage, const void *id, size_t id_len, char *out,
			      size_t out_len)
{
	const char *dir = storage_dir(storage);
	size_t n;

	if (!dir)
		return TEE_ERROR_ITEM_NOT_FOUND;
	if (!id || id_len == 0 || id_len > TEE_OBJECT_ID_MAX_LEN)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	n = (size_t)snprintf(out, out_len, "%s/%s/", host_current->root, dir);
	for (size_t i = 0; i < id_len && n + 3 < out_len; i++)
		n += (size_t)snprintf(out + n, out_len - n, "%02x", ((const uint8_t *)id)[i]);
	return TEE_SUCCESS;
}

/* "private/<hex id>": the part of the path that names the object. */
static const char *aad_of(const char *path)
{
	return path + strlen(host_current->root) + 1;
}

/* The AAD binds a sealed file to its storage and object id: renaming one onto another fails. */
static int seal_crypt(bool enc, const char *aad, const uint8_t *iv, const uint8_t *in, size_t len,
		      uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok, n = 0, f = 0;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, host_current->huk, iv, enc) &&
	     EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) &&
	     (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len)) &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag)) &&
	     EVP_CipherFinal_ex(c, out + (len ? n : 0), &f) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag));
	EVP_CIPHER_CTX_free(c);
	return ok;
}

static uint64_t stored_bytes(const char *except)
{
	static const char *const dirs[] = { "private", "rpmb" };
	uint64_t total = 0;
	char path[PATH_MAX + 300];

	for (size_t d = 0; d < 2; d++) {
		DIR *dir;
		struct dirent *e;
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", host_current->root, dirs[d]);
		dir = opendir(path);
		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			snprintf(path, sizeof(path), "%s/%s/%s", host_current->root, dirs[d],
				 e->d_name);
			if (e->d_name[0] != '.' && strcmp(path, except) && !stat(path, &st))
				total += (uint64_t)st.st_size;
		}
		closedir(dir);
	}
	return total;
}

static TEE_Result write_sealed(const char *path, const char *aad, const uint8_t *data, size_t len)
{
	size_t total = sizeof(FILE_MAGIC) + IV_BYTES + len + TAG_BYTES;
	uint8_t *blob;
	char tmp[PATH_MAX + 8];
	TEE_Result res = TEE_SUCCESS;
	int fd;

	if (storage_limit && stored_bytes(path) + total > storage_limit)
		return TEE_ERROR_STORAGE_NO_SPACE;
	blob = malloc(total);
	if (!blob)
		return TEE_ERROR_OUT_OF_MEMORY;
	memcpy(blob, FILE_MAGIC, sizeof(FILE_MAGIC));
	if (RAND_bytes(blob + 4, IV_BYTES) != 1 ||
	    !seal_crypt(true, aad, blob + 4, data, len, blob + 4 + IV_BYTES,
			blob + 4 + IV_BYTES + len)) {
		free(blob);
		return TEE_ERROR_GENERIC;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, blob, total) != (ssize_t)total || fsync(fd)) {
		res = errno == ENOSPC || errno == EDQUOT ? TEE_ERROR_STORAGE_NO_SPACE :
							  TEE_ERROR_STORAGE_NOT_AVAILABLE;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	} else if (close(fd) || rename(tmp, path)) {
		res = TEE_ERROR_STORAGE_NOT_AVAILABLE;
		unlink(tmp);
	} else {
		/* The rename itself must survive a power cut, as OP-TEE's atomic replace does. */
		char dir[PATH_MAX + 8];
		int dfd;

		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	OPENSSL_cleanse(blob, total);
	free(blob);
	return res;
}

static TEE_Result read_sealed(const char *path, const char *aad, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *blob = NULL, *plain = NULL;
	long size;
	TEE_Result res = TEE_ERROR_CORRUPT_OBJECT;

	if (!f)
		return errno == ENOENT ? TEE_ERROR_ITEM_NOT_FOUND : TEE_ERROR_STORAGE_NOT_AVAILABLE;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return TEE_ERROR_STORAGE_NOT_AVAILABLE;
	}
	if ((size_t)size >= sizeof(FILE_MAGIC) + IV_BYTES + TAG_BYTES && size < (1L << 24)) {
		size_t n = (size_t)size - sizeof(FILE_MAGIC) - IV_BYTES - TAG_BYTES;

		blob = malloc((size_t)size);
		plain = track(n);
		if (blob && plain && fread(blob, 1, (size_t)size, f) == (size_t)size &&
		    !memcmp(blob, FILE_MAGIC, 4) &&
		    seal_crypt(false, aad, blob + 4, blob + 4 + IV_BYTES, n, plain,
			       blob + 4 + IV_BYTES + n)) {
			*data = plain;
			*len = n;
			plain = NULL;
			res = TEE_SUCCESS;
		}
	}
	fclose(f);
	free(blob);
	untrack(plain);
	return res;
}

TEE_Result TEE_OpenPersistentObject(uint32_t storage, const void *id, size_t id_len,
				    uint32_t flags, TEE_ObjectHandle *object)
{
	char path[PATH_MAX + 300];
	TEE_ObjectHandle o;
	TEE_Result res;

	*object = TEE_HANDLE_NULL;
	res = object_path(storage, id, id_len, path, sizeof(path));
	if (res != TEE_SUCCESS)
		return res;
	o = track(sizeof(*o));
	if (!o)
		return TEE_ERROR_OUT_OF_MEMORY;
	res = read_sealed(path, aad_of(path),
			  &o->data, &o->data_len);
	if (res != TEE_SUCCESS) {
		untrack(o);
		return res;
	}
	o->persistent = true;
	o->initialized = true;
	o->flags = flags;
	*object = o;
	return TEE_SUCCESS;
}

TEE_Result TEE_CreatePersistentObject(uint32_t storage, const void *id, size_t id_len,
				      uint32_t flags, TEE_ObjectHandle attributes,
				      const void *data, size_t len, TEE_ObjectHandle *object)
{
	char path[PATH_MAX + 300];
	struct stat st;
	TEE_ObjectHandle o;
	TEE_Result res;

	*object = TEE_HANDLE_NULL;
	if (attributes != TEE_HANDLE_NULL)
		return TEE_ERROR_NOT_SUPPORTED;	/* the TA stores data objects only */
	res = object_path(storage, id, id_len, path, sizeof(path));
	if (res != TEE_SUCCESS)
		return res;
	if (!(flags & TEE_DATA_FLAG_OVERWRITE) && !stat(path, &st))
		return TEE_ERROR_ACCESS_CONFLICT;
	maybe_panic(&panic_on_write);
	res = write_sealed(path, aad_of(path),
			   data, len);
	if (res != TEE_SUCCESS)
		return res;
	o = track(sizeof(*o));
	if (!o)
		return TEE_ERROR_OUT_OF_MEMORY;
	o->persistent = true;
	o->initialized = true;
	o->flags = flags;
	*object = o;
	return TEE_SUCCESS;
}

TEE_Result TEE_GetObjectInfo1(TEE_ObjectHandle o, TEE_ObjectInfo *info)
{
	memset(info, 0, sizeof(*info));
	info->objectType = o->persistent ? 0xA00000BF /* TEE_TYPE_DATA */ : o->type;
	info->dataSize = o->data_len;
	info->dataPosition = o->pos;
	info->handleFlags = o->flags;
	return TEE_SUCCESS;
}

TEE_Result TEE_ReadObjectData(TEE_ObjectHandle o, void *buffer, size_t size, size_t *count)
{
	size_t n;

	if (!o->persistent || !(o->flags & TEE_DATA_FLAG_ACCESS_READ))
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	n = o->data_len - o->pos < size ? o->data_len - o->pos : size;
	memcpy(buffer, o->data + o->pos, n);
	o->pos += n;
	*count = n;
	return TEE_SUCCESS;
}

void TEE_CloseObject(TEE_ObjectHandle o)
{
	if (!o)
		return;
	if (!o->persistent)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	untrack(o->data);
	untrack(o);
}

/* ---- operations ----------------------------------------------------------------------------- */

struct __TEE_OperationHandle {
	uint32_t alg, mode;
	TEE_ObjectHandle key;	/* a private copy */
	EVP_MD_CTX *md;
	EVP_CIPHER_CTX *aead;	/* between TEE_AEInit and the final call */
};

TEE_Result TEE_AllocateOperation(TEE_OperationHandle *op, uint32_t alg, uint32_t mode,
				 uint32_t max_key_size)
{
	TEE_OperationHandle o;

	if (!((alg == TEE_ALG_SHA256 && mode == TEE_MODE_DIGEST) ||
	      ((alg == TEE_ALG_ECDSA_SHA256 || alg == TEE_ALG_ED25519) && mode == TEE_MODE_SIGN &&
	       max_key_size == 256) ||
	      (alg == TEE_ALG_AES_GCM && (mode == TEE_MODE_ENCRYPT || mode == TEE_MODE_DECRYPT) &&
	       max_key_size == 256)))
		return TEE_ERROR_NOT_SUPPORTED;
	o = track(sizeof(*o));
	if (!o)
		return TEE_ERROR_OUT_OF_MEMORY;
	o->alg = alg;
	o->mode = mode;
	if (mode == TEE_MODE_DIGEST) {
		o->md = EVP_MD_CTX_new();
		if (!o->md || !EVP_DigestInit_ex(o->md, EVP_sha256(), NULL)) {
			EVP_MD_CTX_free(o->md);
			untrack(o);
			return TEE_ERROR_OUT_OF_MEMORY;
		}
	}
	*op = o;
	return TEE_SUCCESS;
}

void TEE_FreeOperation(TEE_OperationHandle op)
{
	if (!op)
		return;
	EVP_MD_CTX_free(op->md);
	EVP_CIPHER_CTX_free(op->aead);
	untrack(op->key);
	untrack(op);
}

TEE_Result TEE_SetOperationKey(TEE_OperationHandle op, TEE_ObjectHandle key)
{
	uint32_t want = op->alg == TEE_ALG_ED25519 ? TEE_TYPE_ED25519_KEYPAIR :
			op->alg == TEE_ALG_AES_GCM ? TEE_TYPE_AES : TEE_TYPE_ECDSA_KEYPAIR;

	if (op->mode == TEE_MODE_DIGEST || !key || !key->initialized || key->type != want)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	untrack(op->key);
	op->key = track(sizeof(*key));
	if (!op->key)
		return TEE_ERROR_OUT_OF_MEMORY;
	memcpy(op->key, key, sizeof(*key));
	return TEE_SUCCESS;
}

void TEE_DigestUpdate(TEE_OperationHandle op, const void *chunk, size_t len)
{
	if (!op->md || !EVP_DigestUpdate(op->md, chunk, len))
		TEE_Panic(TEE_ERROR_BAD_STATE);
}

TEE_Result TEE_DigestDoFinal(TEE_OperationHandle op, const void *chunk, size_t len, void *hash,
			     size_t *hash_len)
{
	unsigned int n = 0;

	if (*hash_len < 32) {
		*hash_len = 32;
		return TEE_ERROR_SHORT_BUFFER;
	}
	if (!op->md || !EVP_DigestUpdate(op->md, chunk, len) ||
	    !EVP_DigestFinal_ex(op->md, hash, &n))
		TEE_Panic(TEE_ERROR_BAD_STATE);
	*hash_len = n;
	return TEE_SUCCESS;
}

EVP_PKEY *host_ec_keypair(const char *group, const uint8_t *priv, size_t priv_len,
			  const uint8_t point[65])
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = BN_bin2bn(priv, (int)priv_len, NULL);

	if (!b || !bn ||
	    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, bn) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, 65))
		goto out;
	params = OSSL_PARAM_BLD_to_param(b);
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !c || EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(bn);
	return pkey;
}

int host_ecdsa_sign(EVP_PKEY *pkey, const uint8_t digest[32], uint8_t sig[64])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
	uint8_t der[80];
	const uint8_t *p = der;
	size_t n = sizeof(der);
	ECDSA_SIG *s = NULL;
	int ok;

	ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, der, &n, digest, 32) == 1 &&
	     (s = d2i_ECDSA_SIG(NULL, &p, (long)n)) &&
	     BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 &&
	     BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32;
	ECDSA_SIG_free(s);
	EVP_PKEY_CTX_free(c);
	return ok;
}

void host_signature_made(void)
{
	signatures++;
	/* A panic here is a TA that died with a signature made but not returned: "mid-sign". */
	maybe_panic(&panic_on_sign);
}

static EVP_PKEY *ec_key(const TEE_ObjectHandle k)
{
	uint8_t point[65] = { 0x04 };

	if (k->pub_x.len > 32 || k->pub_y.len > 32)
		return NULL;
	memcpy(point + 1 + 32 - k->pub_x.len, k->pub_x.bytes, k->pub_x.len);
	memcpy(point + 33 + 32 - k->pub_y.len, k->pub_y.bytes, k->pub_y.len);
	return host_ec_keypair("P-256", k->priv.bytes, k->priv.len, point);
}

TEE_Result TEE_AsymmetricSignDigest(TEE_OperationHandle op, const TEE_Attribute *params,
				    uint32_t count, const void *digest, size_t digest_len,
				    void *signature, size_t *sig_len)
{
	EVP_PKEY *pkey = NULL;
	TEE_Result res = TEE_ERROR_GENERIC;

	(void)params;	/* no algorithm the TA uses takes any (count is checked to be 0) */
	if (op->mode != TEE_MODE_SIGN || !op->key || count != 0 || (!digest && digest_len))
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	if (*sig_len < 64) {
		*sig_len = 64;
		return TEE_ERROR_SHORT_BUFFER;
	}
	if (op->alg == TEE_ALG_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		size_t n = 64;

		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, op->key->priv.bytes, 32);
		if (md && pkey && EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestSign(md, signature, &n, digest, digest_len) == 1 && n == 64)
			res = TEE_SUCCESS;
		EVP_MD_CTX_free(md);
	} else {
		if (digest_len != 32)
			return TEE_ERROR_BAD_PARAMETERS;
		pkey = ec_key(op->key);
		if (pkey && host_ecdsa_sign(pkey, digest, signature))
			res = TEE_SUCCESS;
	}
	EVP_PKEY_free(pkey);
	if (res != TEE_SUCCESS)
		return res;
	*sig_len = 64;
	host_signature_made();
	return TEE_SUCCESS;
}

/*
 * AES-GCM as GP specifies it (GPD_SPE_010 6.6), for the one shape the TA uses: a 96-bit nonce and
 * a 128-bit tag (other valid GCM nonce and tag lengths answer TEE_ERROR_NOT_SUPPORTED here, which
 * the specification allows). TEE_AEDecryptFinal writes the plaintext before it checks the tag and
 * leaves it there on TEE_ERROR_MAC_INVALID, as OP-TEE's implementation may: the TA must not rely
 * on the output being clean after a failure.
 */
TEE_Result TEE_AEInit(TEE_OperationHandle op, const void *nonce, size_t nonce_len,
		      uint32_t tag_bits, size_t aad_len, size_t payload_len)
{
	(void)aad_len;	/* GCM needs neither length in advance (CCM does) */
	(void)payload_len;
	if (op->alg != TEE_ALG_AES_GCM || !op->key || !nonce)
		TEE_Panic(TEE_ERROR_BAD_STATE);
	if (nonce_len != 12 || tag_bits != 128)
		return TEE_ERROR_NOT_SUPPORTED;
	EVP_CIPHER_CTX_free(op->aead);
	op->aead = EVP_CIPHER_CTX_new();
	if (!op->aead || !EVP_CipherInit_ex(op->aead, EVP_aes_256_gcm(), NULL, op->key->priv.bytes,
					    nonce, op->mode == TEE_MODE_ENCRYPT))
		TEE_Panic(TEE_ERROR_GENERIC);
	return TEE_SUCCESS;
}

void TEE_AEUpdateAAD(TEE_OperationHandle op, const void *aad, size_t len)
{
	int n = 0;

	if (!op->aead || len > INT_MAX || !EVP_CipherUpdate(op->aead, NULL, &n, aad, (int)len))
		TEE_Panic(TEE_ERROR_BAD_STATE);
}

/* The payload through the cipher into dest; the operation stays initialised for the final step. */
static void ae_payload(TEE_OperationHandle op, const void *src, size_t len, void *dest)
{
	int n = 0;

	if (!op->aead || len > INT_MAX || (len && !src))
		TEE_Panic(TEE_ERROR_BAD_STATE);
	if (len && !EVP_CipherUpdate(op->aead, dest, &n, src, (int)len))
		TEE_Panic(TEE_ERROR_GENERIC);
}

TEE_Result TEE_AEEncryptFinal(TEE_OperationHandle op, const void *src, size_t src_len, void *dest,
			      size_t *dest_len, void *tag, size_t *tag_len)
{
	int f = 0;

	if (op->mode != TEE_MODE_ENCRYPT)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	if (*dest_len < src_len || *tag_len < 16) {
		*dest_len = src_len;
		*tag_len = 16;
		return TEE_ERROR_SHORT_BUFFER;
	}
	ae_payload(op, src, src_len, dest);
	if (!EVP_CipherFinal_ex(op->aead, (uint8_t *)dest + src_len, &f) || f != 0 ||
	    !EVP_CIPHER_CTX_ctrl(op->aead, EVP_CTRL_GCM_GET_TAG, 16, tag))
		TEE_Panic(TEE_ERROR_GENERIC);
	EVP_CIPHER_CTX_free(op->aead);
	op->aead = NULL;
	*dest_len = src_len;
	*tag_len = 16;
	return TEE_SUCCESS;
}

TEE_Result TEE_AEDecryptFinal(TEE_OperationHandle op, const void *src, size_t src_len, void *dest,
			      size_t *dest_len, void *tag, size_t tag_len)
{
	TEE_Result res = TEE_SUCCESS;
	int f = 0;

	if (op->mode != TEE_MODE_DECRYPT)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	if (*dest_len < src_len) {
		*dest_len = src_len;
		return TEE_ERROR_SHORT_BUFFER;
	}
	ae_payload(op, src, src_len, dest);
	if (tag_len != 16 || !EVP_CIPHER_CTX_ctrl(op->aead, EVP_CTRL_GCM_SET_TAG, 16, tag) ||
	    EVP_CipherFinal_ex(op->aead, (uint8_t *)dest + src_len, &f) != 1)
		res = TEE_ERROR_MAC_INVALID;
	EVP_CIPHER_CTX_free(op->aead);
	op->aead = NULL;
	*dest_len = src_len;
	return res;
}

void TEE_GenerateRandom(void *buffer, size_t length)
{
	if (RAND_bytes(buffer, (int)length) != 1)
		TEE_Panic(TEE_ERROR_GENERIC);
}

/* ---- other TAs: OP-TEE's attestation PTA, absent unless a test puts it there ---------------- */

/*
 * Off by default, as on a board built without CFG_ATTESTATION_PTA: opening it answers
 * TEE_ERROR_ITEM_NOT_FOUND. kmsgate_host_attestation_pta() puts one in place, which answers
 * PTA_ATTESTATION_GET_TA_SHDR_DIGEST as core/pta/attestation.c does (the same parameter checks,
 * digest || RSASSA-PSS-SHA256 signature with a 32-byte salt over SHA-256(nonce || digest), a
 * 3072-bit key as CFG_ATTESTATION_PTA_KEY_SIZE's default), except that the digest is the one the
 * test gave: the host has no signed TA header to hash.
 */
static struct __TEE_TASessionHandle {
	int unused;
} pta_session;
static const TEE_UUID pta_uuid = PTA_ATTESTATION_UUID;
static bool pta_present;
static uint8_t pta_digest[32];
static uint8_t pta_asked[sizeof(TEE_UUID)];
static EVP_PKEY *pta_key;

int kmsgate_host_attestation_pta(const uint8_t *digest)
{
	pta_present = digest != NULL;
	if (digest)
		memcpy(pta_digest, digest, sizeof(pta_digest));
	if (pta_present && !pta_key)
		pta_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	return pta_present && !pta_key ? -1 : 0;
}

void kmsgate_host_attestation_pta_asked(uint8_t uuid[16])
{
	memcpy(uuid, pta_asked, sizeof(pta_asked));
}

TEE_Result TEE_OpenTASession(const TEE_UUID *destination, uint32_t timeout, uint32_t types,
			     TEE_Param params[TEE_NUM_PARAMS], TEE_TASessionHandle *session,
			     uint32_t *origin)
{
	(void)timeout;
	(void)params;
	*session = TEE_HANDLE_NULL;
	*origin = 3;	/* TEE_ORIGIN_TEE */
	if (!pta_present || memcmp(destination, &pta_uuid, sizeof(pta_uuid)))
		return TEE_ERROR_ITEM_NOT_FOUND;
	if (types != TEE_PARAM_TYPES(TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE,
				     TEE_PARAM_TYPE_NONE))
		return TEE_ERROR_BAD_PARAMETERS;
	*session = &pta_session;
	return TEE_SUCCESS;
}

void TEE_CloseTASession(TEE_TASessionHandle session)
{
	if (session && session != &pta_session)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
}

TEE_Result TEE_InvokeTACommand(TEE_TASessionHandle session, uint32_t timeout, uint32_t cmd,
			       uint32_t types, TEE_Param params[TEE_NUM_PARAMS], uint32_t *origin)
{
	size_t out_sz = params[2].memref.size, sig_len = 0;
	uint8_t hash[32];
	EVP_PKEY_CTX *c = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned int n = 0;
	TEE_Result res = TEE_ERROR_GENERIC;

	(void)timeout;
	if (session != &pta_session)
		TEE_Panic(TEE_ERROR_BAD_PARAMETERS);
	*origin = 4;	/* the PTA's own answer: TEE_ORIGIN_TRUSTED_APP */
	if (cmd != PTA_ATTESTATION_GET_TA_SHDR_DIGEST)
		return TEE_ERROR_NOT_SUPPORTED;
	if (types != TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_INPUT,
				     TEE_PARAM_TYPE_MEMREF_OUTPUT, TEE_PARAM_TYPE_NONE) ||
	    params[0].memref.size != sizeof(TEE_UUID) || !params[1].memref.buffer ||
	    !params[1].memref.size || (!params[2].memref.buffer && out_sz))
		return TEE_ERROR_BAD_PARAMETERS;
	memcpy(pta_asked, params[0].memref.buffer, sizeof(pta_asked));
	sig_len = (size_t)EVP_PKEY_get_size(pta_key);
	params[2].memref.size = sizeof(pta_digest) + sig_len;
	if (out_sz < sizeof(pta_digest) + sig_len)
		return TEE_ERROR_SHORT_BUFFER;
	memcpy(params[2].memref.buffer, pta_digest, sizeof(pta_digest));
	md = EVP_MD_CTX_new();
	c = EVP_PKEY_CTX_new(pta_key, NULL);
	if (md && c && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, params[1].memref.buffer, params[1].memref.size) &&
	    EVP_DigestUpdate(md, pta_digest, sizeof(pta_digest)) &&
	    EVP_DigestFinal_ex(md, hash, &n) && EVP_PKEY_sign_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32) == 1 &&
	    EVP_PKEY_sign(c, (uint8_t *)params[2].memref.buffer + sizeof(pta_digest), &sig_len,
			  hash, n) == 1)
		res = TEE_SUCCESS;
	EVP_PKEY_CTX_free(c);
	EVP_MD_CTX_free(md);
	return res;
}
