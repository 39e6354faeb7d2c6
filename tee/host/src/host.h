/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the host TEE Internal Core API (tee_internal.c) and the host libteec (teec.c). */
#ifndef KMSGATE_HOST_H
#define KMSGATE_HOST_H

#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <openssl/evp.h>

#define HUK_BYTES 32

/* One TEEC context: a storage directory standing in for the board's secure storage. */
struct host_ctx {
	char root[PATH_MAX];
	uint8_t huk[HUK_BYTES];	/* seals every object file, as OP-TEE's HUK-derived keys do */
};

/* The context whose TA call is running (set by teec.c under its lock). */
extern struct host_ctx *host_current;
/* Where TEE_Panic() returns to: the TA call in progress, or NULL outside one. */
extern jmp_buf *host_panic_target;

/* An EC key pair of an OpenSSL group ("P-256", "secp256k1") from its scalar and SEC1 point. */
EVP_PKEY *host_ec_keypair(const char *group, const uint8_t *priv, size_t priv_len,
			  const uint8_t point[65]);
/* ECDSA over a 32-byte digest as r || s, each 32 bytes; 1 on success. */
int host_ecdsa_sign(EVP_PKEY *pkey, const uint8_t digest[32], uint8_t sig[64]);
/* Counts a signature the TA made; a "sign" fault panics here, before the TA can return it. */
void host_signature_made(void);

/* Every allocation the TA holds through the Internal Core API, freed at once when it panics. */
void host_free_all(void);

/* Fault injection (tests only): panic at the (skip+1)-th "sign" or "write" from now. */
int kmsgate_host_fault(const char *kind, uint32_t skip);
/* Signatures TEE_AsymmetricSignDigest has computed in this process. */
uint64_t kmsgate_host_signatures(void);
/* Bytes the storage directory may hold in all; 0 = no limit. Beyond: TEE_ERROR_STORAGE_NO_SPACE. */
void kmsgate_host_set_storage_limit(uint64_t bytes);
/* Puts OP-TEE's attestation PTA in place, reporting `digest` (32 bytes) as the TA's measurement;
 * NULL takes it away again (the default: a TEE built without CFG_ATTESTATION_PTA). */
int kmsgate_host_attestation_pta(const uint8_t *digest);
/* The TA UUID the PTA was last asked to measure. */
void kmsgate_host_attestation_pta_asked(uint8_t uuid[16]);
/* 1: TA calls that start from now wait (a TA that takes its time) until it is set back to 0. */
void kmsgate_host_hold(int on);

#endif
