// SPDX-License-Identifier: Apache-2.0
/*
 * secp256k1 keys. It is not a GlobalPlatform curve, so the GP crypto API cannot do it; the mbed TLS
 * library that every OP-TEE TA dev kit links into TAs (lib/libmbedtls, CFG_TA_MBEDTLS, mbed TLS
 * 3.4 in optee_os 4.0-4.2, 3.6 since 4.3) is configured with MBEDTLS_ECP_DP_SECP256K1_ENABLED and
 * MBEDTLS_ECDSA_C (lib/libmbedtls/include/mbedtls_config_uta.h). Only the public mbed TLS API below
 * is used, the same in 3.4 and 3.6; the host build implements exactly these functions
 * (tee/host/src/mbedtls.c). That config has no HMAC_DRBG, so no RFC 6979: the nonce k comes from
 * TEE_GenerateRandom, as the GP API's own ECDSA does. Signatures are not low-S normalised (AWS KMS
 * and the YubiHSM 2 do not normalise either; the chain encoders do, docs/tee-bridge-protocol.md).
 */
#include <string.h>
#include <tee_internal_api.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include "kmsgate_ta_private.h"

/* mbed TLS's RNG callback over the TEE's RNG (TEE_GenerateRandom cannot fail: it panics). */
static int tee_rng(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	TEE_GenerateRandom(out, len);
	return 0;
}

static TEE_Result from_mbedtls(int ret)
{
	if (!ret)
		return TEE_SUCCESS;
	if (ret == MBEDTLS_ERR_MPI_ALLOC_FAILED || ret == MBEDTLS_ERR_ECP_ALLOC_FAILED)
		return TEE_ERROR_OUT_OF_MEMORY;
	return TEE_ERROR_GENERIC;
}

TEE_Result k1_generate(uint8_t priv[PRIVATE_KEY_BYTES], uint8_t pub[KMSGATE_EC_PUBLIC_KEY_BYTES])
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi d;
	size_t len = 0;
	int ret;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&d);
	ret = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256K1);
	if (!ret)
		ret = mbedtls_ecp_gen_keypair(&grp, &d, &q, tee_rng, NULL);
	if (!ret)
		ret = mbedtls_mpi_write_binary(&d, priv, PRIVATE_KEY_BYTES);
	if (!ret)
		ret = mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &len, pub,
						     KMSGATE_EC_PUBLIC_KEY_BYTES);
	if (!ret && len != KMSGATE_EC_PUBLIC_KEY_BYTES)
		ret = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	mbedtls_mpi_free(&d);	/* mbed TLS zeroes an mpi as it frees it */
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	if (ret)
		TEE_MemFill(priv, 0, PRIVATE_KEY_BYTES);
	return from_mbedtls(ret);
}

TEE_Result k1_sign(const uint8_t priv[PRIVATE_KEY_BYTES], const uint8_t digest[KMSGATE_DIGEST_BYTES],
		   uint8_t sig[KMSGATE_SIGNATURE_BYTES])
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d, r, s;
	int ret;

	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256K1);
	if (!ret)
		ret = mbedtls_mpi_read_binary(&d, priv, PRIVATE_KEY_BYTES);
	if (!ret)
		ret = mbedtls_ecdsa_sign(&grp, &r, &s, &d, digest, KMSGATE_DIGEST_BYTES, tee_rng, NULL);
	/* r, s < n < 2^256: each fits its 32 bytes, left-padded with zeros (r || s, as the GP API). */
	if (!ret)
		ret = mbedtls_mpi_write_binary(&r, sig, EC_COORD_BYTES);
	if (!ret)
		ret = mbedtls_mpi_write_binary(&s, sig + EC_COORD_BYTES, EC_COORD_BYTES);
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_group_free(&grp);
	return from_mbedtls(ret);
}
