/* SPDX-License-Identifier: Apache-2.0 */
/* What the TA's source files share; nothing here crosses the TA boundary. */
#ifndef KMSGATE_TA_PRIVATE_H
#define KMSGATE_TA_PRIVATE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <tee_internal_api.h>
#include <kmsgate_ta.h>

#ifndef CFG_KMSGATE_MAX_KEYS
#define CFG_KMSGATE_MAX_KEYS		256
#endif
/*
 * Where the rollback counter lives. RPMB is OP-TEE's replay-protected storage; a board without
 * RPMB (CFG_RPMB_FS=n) builds with CFG_KMSGATE_COUNTER_STORAGE=TEE_STORAGE_PRIVATE and gets no
 * protection against a restored copy of the whole REE file system (docs/tee-board.md).
 */
#ifndef CFG_KMSGATE_COUNTER_STORAGE
#define CFG_KMSGATE_COUNTER_STORAGE	TEE_STORAGE_PRIVATE_RPMB
#endif

#define EC_COORD_BYTES		32
#define PRIVATE_KEY_BYTES	32
/* An AES_256 key is kept in key_record.priv. */
_Static_assert(KMSGATE_AES_KEY_BYTES == PRIVATE_KEY_BYTES, "an AES key fills key_record.priv");

/* One key as stored: fixed size, bytes only, so the layout needs no packing rules. */
struct key_record {
	uint8_t handle[KMSGATE_HANDLE_BYTES];
	uint8_t type;
	uint8_t label_len;
	uint8_t reserved[2];
	uint8_t label[KMSGATE_MAX_LABEL_BYTES];
	uint8_t priv[PRIVATE_KEY_BYTES];
	uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES];
	uint8_t pad[3];
};

/* The sealed key state as loaded: the epoch it was written under and its keys. */
struct key_state {
	uint64_t epoch;
	uint32_t count;
	struct key_record *keys;	/* CFG_KMSGATE_MAX_KEYS entries */
};

/* state.c: the one persistent key-state object and the monotonic rollback counter. */
TEE_Result state_load(struct key_state *st);
TEE_Result state_commit(struct key_state *st);
void state_free(struct key_state *st);
TEE_Result state_read_counter(uint64_t *counter);
struct key_record *state_find(struct key_state *st, const uint8_t *handle);

/* keys.c: key generation and signing through the GP crypto API. */
bool keys_type_known(uint32_t type);
TEE_Result keys_generate(uint8_t type, struct key_record *rec);
uint32_t keys_types(void);
/* 65 (EC), 32 (Ed25519) or 0 (AES: no public key). */
size_t keys_public_len(uint32_t type);
TEE_Result keys_sign(const struct key_record *rec, uint32_t alg, const void *input,
		     size_t input_len, uint8_t sig[KMSGATE_SIGNATURE_BYTES]);
TEE_Result keys_ecdsa_p256_sign(const uint8_t priv[PRIVATE_KEY_BYTES],
				const uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES],
				const uint8_t digest[KMSGATE_DIGEST_BYTES],
				uint8_t sig[KMSGATE_SIGNATURE_BYTES]);

/* secp256k1.c: secp256k1 through the dev kit's mbed TLS (not a GP curve). */
TEE_Result k1_generate(uint8_t priv[PRIVATE_KEY_BYTES], uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES]);
TEE_Result k1_sign(const uint8_t priv[PRIVATE_KEY_BYTES], const uint8_t digest[KMSGATE_DIGEST_BYTES],
		   uint8_t sig[KMSGATE_SIGNATURE_BYTES]);

/* seal.c: AES-256-GCM under an AES_256 key (priv holds its 32 bytes). `out` is TA memory of
 * in_len + KMSGATE_SEAL_OVERHEAD bytes (seal) or in_len - KMSGATE_SEAL_OVERHEAD (unseal); the
 * lengths are the caller's to check. */
TEE_Result seal_aes_gcm(const uint8_t key[KMSGATE_AES_KEY_BYTES], const uint8_t *aad,
			size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out);
TEE_Result unseal_aes_gcm(const uint8_t key[KMSGATE_AES_KEY_BYTES], const uint8_t *aad,
			  size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out);

/* attest.c */
TEE_Result attest(const uint8_t *nonce, size_t nonce_len,
		  uint8_t measurement[KMSGATE_MEASUREMENT_BYTES],
		  uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES],
		  uint8_t sig[KMSGATE_SIGNATURE_BYTES]);

#endif /* KMSGATE_TA_PRIVATE_H */
