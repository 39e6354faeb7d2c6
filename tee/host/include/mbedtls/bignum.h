/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few mbed TLS big-number functions the kmsgate TA calls (tee/ta/secp256k1.c), declared with
 * mbed TLS 3.x's public signatures and error values for the TA's host build; implemented on
 * OpenSSL's libcrypto in tee/host/src/mbedtls.c. Not mbed TLS: on a board the TA is built against
 * the mbed TLS that the OP-TEE TA dev kit ships, and this file is never used there.
 */
#ifndef KMSGATE_HOST_MBEDTLS_BIGNUM_H
#define KMSGATE_HOST_MBEDTLS_BIGNUM_H

#include <stddef.h>

#define MBEDTLS_ERR_MPI_BAD_INPUT_DATA		-0x0004
#define MBEDTLS_ERR_MPI_BUFFER_TOO_SMALL	-0x0008
#define MBEDTLS_ERR_MPI_ALLOC_FAILED		-0x0010

/* The host's big number is an OpenSSL BIGNUM; the TA never looks inside. */
typedef struct mbedtls_mpi {
	struct bignum_st *host_bn;
} mbedtls_mpi;

void mbedtls_mpi_init(mbedtls_mpi *X);
void mbedtls_mpi_free(mbedtls_mpi *X);
int mbedtls_mpi_read_binary(mbedtls_mpi *X, const unsigned char *buf, size_t buflen);
int mbedtls_mpi_write_binary(const mbedtls_mpi *X, unsigned char *buf, size_t buflen);

#endif
