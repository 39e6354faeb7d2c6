/* SPDX-License-Identifier: Apache-2.0 */
/* The mbed TLS ECDSA function the kmsgate TA calls, for its host build (see bignum.h). */
#ifndef KMSGATE_HOST_MBEDTLS_ECDSA_H
#define KMSGATE_HOST_MBEDTLS_ECDSA_H

#include <mbedtls/ecp.h>

int mbedtls_ecdsa_sign(mbedtls_ecp_group *grp, mbedtls_mpi *r, mbedtls_mpi *s,
		       const mbedtls_mpi *d, const unsigned char *buf, size_t blen,
		       mbedtls_f_rng_t *f_rng, void *p_rng);

#endif
