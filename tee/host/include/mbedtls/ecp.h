/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mbed TLS elliptic-curve functions the kmsgate TA calls, for its host build (see bignum.h).
 * The host has the one curve the TA uses mbed TLS for: secp256k1.
 */
#ifndef KMSGATE_HOST_MBEDTLS_ECP_H
#define KMSGATE_HOST_MBEDTLS_ECP_H

#include <mbedtls/bignum.h>

#define MBEDTLS_ERR_ECP_BAD_INPUT_DATA		-0x4F80
#define MBEDTLS_ERR_ECP_BUFFER_TOO_SMALL	-0x4F00
#define MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE	-0x4E80
#define MBEDTLS_ERR_ECP_ALLOC_FAILED		-0x4D80
#define MBEDTLS_ERR_ECP_RANDOM_FAILED		-0x4D00

#define MBEDTLS_ECP_PF_UNCOMPRESSED	0

typedef enum {
	MBEDTLS_ECP_DP_NONE = 0,
	MBEDTLS_ECP_DP_SECP256K1 = 12,
} mbedtls_ecp_group_id;

typedef int mbedtls_f_rng_t(void *p_rng, unsigned char *output, size_t output_size);

typedef struct mbedtls_ecp_group {
	mbedtls_ecp_group_id id;
	struct ec_group_st *host_group;
} mbedtls_ecp_group;

typedef struct mbedtls_ecp_point {
	struct ec_point_st *host_point;
} mbedtls_ecp_point;

void mbedtls_ecp_group_init(mbedtls_ecp_group *grp);
void mbedtls_ecp_group_free(mbedtls_ecp_group *grp);
int mbedtls_ecp_group_load(mbedtls_ecp_group *grp, mbedtls_ecp_group_id id);
void mbedtls_ecp_point_init(mbedtls_ecp_point *pt);
void mbedtls_ecp_point_free(mbedtls_ecp_point *pt);
int mbedtls_ecp_gen_keypair(mbedtls_ecp_group *grp, mbedtls_mpi *d, mbedtls_ecp_point *Q,
			    mbedtls_f_rng_t *f_rng, void *p_rng);
int mbedtls_ecp_point_write_binary(const mbedtls_ecp_group *grp, const mbedtls_ecp_point *P,
				   int format, size_t *olen, unsigned char *buf, size_t buflen);

#endif
