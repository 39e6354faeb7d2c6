/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kmsgate trusted application's command interface: shared by the TA (tee/ta), the bridge
 * daemon (packages/tee-bridge/src/ta-interface.ts mirrors it; a test keeps the two in step) and
 * the host build. Every command id carries the interface version in its upper 16 bits, so a
 * daemon built for another interface gets TEE_ERROR_NOT_SUPPORTED instead of a misread buffer.
 */
#ifndef KMSGATE_TA_H
#define KMSGATE_TA_H

/* 254706e0-9fa3-434e-bda0-b49f1f20f93b: chosen once (random v4), never reused for another TA. */
#define TA_KMSGATE_UUID \
	{ 0x254706e0, 0x9fa3, 0x434e, \
		{ 0xbd, 0xa0, 0xb4, 0x9f, 0x1f, 0x20, 0xf9, 0x3b } }

#define KMSGATE_TA_INTERFACE_VERSION	1
#define KMSGATE_CMD(n)	((KMSGATE_TA_INTERFACE_VERSION << 16) | (n))

/*
 * Parameter layouts (p0..p3; NONE where not listed). An output memref smaller than needed gets
 * TEE_ERROR_SHORT_BUFFER with its size set to what is needed. Any other parameter type or length
 * gets TEE_ERROR_BAD_PARAMETERS and changes nothing.
 */

/* p0 VALUE_OUTPUT: a = interface version, b = keys held. Fails like a key command while the
 * stored state is refused (TEE_ERROR_SECURITY). */
#define KMSGATE_CMD_PING			KMSGATE_CMD(0x01)
/* p0 VALUE_INPUT a = key type; p1 MEMREF_INPUT label (1..64 bytes);
 * p2 MEMREF_OUTPUT handle (16 bytes); p3 MEMREF_OUTPUT public key (65 or 32 bytes). */
#define KMSGATE_CMD_GENERATE_KEY		KMSGATE_CMD(0x02)
/* p0 MEMREF_INPUT handle (16); p1 VALUE_OUTPUT a = key type; p2 MEMREF_OUTPUT public key. */
#define KMSGATE_CMD_GET_PUBLIC_KEY		KMSGATE_CMD(0x03)
/* p0 MEMREF_INPUT handle (16); p1 VALUE_INPUT a = algorithm; p2 MEMREF_INPUT digest (32) or
 * message (0..16384); p3 MEMREF_OUTPUT signature (64: r || s, or Ed25519 R || S). */
#define KMSGATE_CMD_SIGN			KMSGATE_CMD(0x04)
/* p0 MEMREF_INPUT handle (16); p1 VALUE_OUTPUT a = 1 deleted, 0 no such key. */
#define KMSGATE_CMD_DELETE_KEY			KMSGATE_CMD(0x05)
/* p0 MEMREF_OUTPUT 1..1024 bytes, filled from TEE_GenerateRandom. */
#define KMSGATE_CMD_RANDOM			KMSGATE_CMD(0x06)
/* p0 VALUE_OUTPUT a = counter low 32 bits, b = high 32 bits. */
#define KMSGATE_CMD_GET_ROLLBACK_COUNTER	KMSGATE_CMD(0x07)
/* p0 MEMREF_INPUT nonce (1..64); p1 MEMREF_OUTPUT measurement (32);
 * p2 MEMREF_OUTPUT attestation public key (65, SEC1 uncompressed P-256);
 * p3 MEMREF_OUTPUT signature (64, r || s) over
 * SHA-256(KMSGATE_ATTESTATION_DOMAIN || nonce || measurement). */
#define KMSGATE_CMD_GET_ATTESTATION		KMSGATE_CMD(0x08)
/* p0 VALUE_OUTPUT a = the key types GENERATE_KEY accepts, one bit each (1 << KMSGATE_KEY_*),
 * b = 0. Reads no storage, so it answers while the stored state is refused. A TA older than this
 * command answers TEE_ERROR_NOT_SUPPORTED. */
#define KMSGATE_CMD_GET_KEY_TYPES		KMSGATE_CMD(0x09)
/* p0 MEMREF_INPUT handle (16) of an AES_256 key; p1 MEMREF_INPUT AAD (0..256);
 * p2 MEMREF_INPUT plaintext (1..1024);
 * p3 MEMREF_OUTPUT sealed (plaintext + 28): nonce (12, TEE_GenerateRandom) || AES-256-GCM
 * ciphertext || tag (16). A key of another type: TEE_ERROR_BAD_PARAMETERS. */
#define KMSGATE_CMD_SEAL			KMSGATE_CMD(0x0a)
/* p0 MEMREF_INPUT handle (16) of an AES_256 key; p1 MEMREF_INPUT AAD (0..256);
 * p2 MEMREF_INPUT sealed (29..1052, as SEAL made it); p3 MEMREF_OUTPUT plaintext (sealed - 28).
 * A tag that does not verify (another key, AAD or any altered byte): TEE_ERROR_MAC_INVALID, and
 * nothing is written to p3. */
#define KMSGATE_CMD_UNSEAL			KMSGATE_CMD(0x0b)

/* Key types (GENERATE_KEY p0.a, GET_PUBLIC_KEY p1.a). */
#define KMSGATE_KEY_P256		1
#define KMSGATE_KEY_SECP256K1		2
#define KMSGATE_KEY_ED25519		3
/* A 256-bit AES key for SEAL/UNSEAL: no public key (GENERATE_KEY returns 0 bytes in p3;
 * GET_PUBLIC_KEY and SIGN refuse it with TEE_ERROR_BAD_PARAMETERS). */
#define KMSGATE_KEY_AES_256		4

/* Signature algorithms (SIGN p1.a). */
#define KMSGATE_ALG_ECDSA_SHA_256	1
#define KMSGATE_ALG_ED25519		2

#define KMSGATE_HANDLE_BYTES		16
#define KMSGATE_MAX_LABEL_BYTES		64
#define KMSGATE_DIGEST_BYTES		32
#define KMSGATE_MAX_MESSAGE_BYTES	16384
#define KMSGATE_SIGNATURE_BYTES		64
#define KMSGATE_EC_PUBLIC_KEY_BYTES	65
#define KMSGATE_ED25519_PUBLIC_KEY_BYTES 32
#define KMSGATE_MIN_RANDOM_BYTES	1
#define KMSGATE_MAX_RANDOM_BYTES	1024
#define KMSGATE_MIN_NONCE_BYTES		1
#define KMSGATE_MAX_NONCE_BYTES		64
#define KMSGATE_MEASUREMENT_BYTES	32
#define KMSGATE_AES_KEY_BYTES		32
#define KMSGATE_MIN_SEAL_BYTES		1
#define KMSGATE_MAX_SEAL_BYTES		1024
#define KMSGATE_MAX_AAD_BYTES		256
/* GCM nonce and tag: 96 bits (NIST SP 800-38D's recommended IV) and the full 128-bit tag. */
#define KMSGATE_SEAL_NONCE_BYTES	12
#define KMSGATE_SEAL_TAG_BYTES		16
#define KMSGATE_SEAL_OVERHEAD		(KMSGATE_SEAL_NONCE_BYTES + KMSGATE_SEAL_TAG_BYTES)

/* Prefixed to every attested nonce so the attestation key's signatures cannot be taken for
 * anything else. 26 bytes, no terminator. */
#define KMSGATE_ATTESTATION_DOMAIN	"kmsgate-tee-attestation/v2"

#endif /* KMSGATE_TA_H */
