// SPDX-License-Identifier: Apache-2.0
/*
 * The host build's mbed TLS: exactly the functions the kmsgate TA calls for secp256k1
 * (tee/ta/secp256k1.c), with mbed TLS 3.x's documented semantics and error codes, on OpenSSL's
 * libcrypto (the copy Node links in, as for tee_internal.c). It is not mbed TLS and shares no code
 * with it; on a board the TA links the dev kit's libmbedtls instead.
 *
 * The private scalar is drawn through the TA's RNG callback, as mbed TLS draws it (rejection
 * sampling in [1, n-1]), so the callback the board runs is exercised here too. The ECDSA nonce
 * comes from OpenSSL's RNG: OpenSSL takes no caller nonce, and the callback is still required.
 */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include "host.h"

#define K1_BYTES	32
#define K1_POINT_BYTES	65
/* mbed TLS gives up after this many out-of-range draws (ecp.c, mbedtls_ecp_gen_privkey_sw). */
#define KEYGEN_TRIES	30

void mbedtls_mpi_init(mbedtls_mpi *X)
{
	X->host_bn = NULL;
}

void mbedtls_mpi_free(mbedtls_mpi *X)
{
	BN_clear_free(X->host_bn);
	X->host_bn = NULL;
}

int mbedtls_mpi_read_binary(mbedtls_mpi *X, const unsigned char *buf, size_t buflen)
{
	BIGNUM *bn;

	if (buflen > (1u << 16))
		return MBEDTLS_ERR_MPI_BAD_INPUT_DATA;
	bn = BN_bin2bn(buf, (int)buflen, X->host_bn);
	if (!bn)
		return MBEDTLS_ERR_MPI_ALLOC_FAILED;
	X->host_bn = bn;
	return 0;
}

/* Big-endian, left-padded with zeros to buflen; an mpi never set is 0. */
int mbedtls_mpi_write_binary(const mbedtls_mpi *X, unsigned char *buf, size_t buflen)
{
	if (!X->host_bn) {
		memset(buf, 0, buflen);
		return 0;
	}
	if ((size_t)BN_num_bytes(X->host_bn) > buflen)
		return MBEDTLS_ERR_MPI_BUFFER_TOO_SMALL;
	return BN_bn2binpad(X->host_bn, buf, (int)buflen) == (int)buflen ? 0 :
									  MBEDTLS_ERR_MPI_BAD_INPUT_DATA;
}

void mbedtls_ecp_group_init(mbedtls_ecp_group *grp)
{
	grp->id = MBEDTLS_ECP_DP_NONE;
	grp->host_group = NULL;
}

void mbedtls_ecp_group_free(mbedtls_ecp_group *grp)
{
	EC_GROUP_free(grp->host_group);
	mbedtls_ecp_group_init(grp);
}

int mbedtls_ecp_group_load(mbedtls_ecp_group *grp, mbedtls_ecp_group_id id)
{
	mbedtls_ecp_group_free(grp);
	if (id != MBEDTLS_ECP_DP_SECP256K1)
		return MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE;
	grp->host_group = EC_GROUP_new_by_curve_name(NID_secp256k1);
	if (!grp->host_group)
		return MBEDTLS_ERR_ECP_ALLOC_FAILED;
	grp->id = id;
	return 0;
}

void mbedtls_ecp_point_init(mbedtls_ecp_point *pt)
{
	pt->host_point = NULL;
}

void mbedtls_ecp_point_free(mbedtls_ecp_point *pt)
{
	EC_POINT_clear_free(pt->host_point);
	pt->host_point = NULL;
}

int mbedtls_ecp_gen_keypair(mbedtls_ecp_group *grp, mbedtls_mpi *d, mbedtls_ecp_point *Q,
			    mbedtls_f_rng_t *f_rng, void *p_rng)
{
	const BIGNUM *n;
	uint8_t buf[K1_BYTES];
	int ret = MBEDTLS_ERR_ECP_RANDOM_FAILED;

	if (!grp->host_group || !f_rng)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	n = EC_GROUP_get0_order(grp->host_group);
	for (int i = 0; i < KEYGEN_TRIES; i++) {
		if (f_rng(p_rng, buf, sizeof(buf)))
			break;
		ret = mbedtls_mpi_read_binary(d, buf, sizeof(buf));
		if (ret)
			break;
		ret = MBEDTLS_ERR_ECP_RANDOM_FAILED;
		if (!BN_is_zero(d->host_bn) && BN_cmp(d->host_bn, n) < 0) {
			ret = 0;
			break;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (ret)
		return ret;
	if (!Q->host_point)
		Q->host_point = EC_POINT_new(grp->host_group);
	if (!Q->host_point ||
	    !EC_POINT_mul(grp->host_group, Q->host_point, d->host_bn, NULL, NULL, NULL))
		return MBEDTLS_ERR_ECP_ALLOC_FAILED;
	return 0;
}

int mbedtls_ecp_point_write_binary(const mbedtls_ecp_group *grp, const mbedtls_ecp_point *P,
				   int format, size_t *olen, unsigned char *buf, size_t buflen)
{
	size_t len;

	if (!grp->host_group || !P->host_point || format != MBEDTLS_ECP_PF_UNCOMPRESSED)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	len = EC_POINT_point2oct(grp->host_group, P->host_point, POINT_CONVERSION_UNCOMPRESSED,
				 NULL, 0, NULL);
	if (!len)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	*olen = len;
	if (buflen < len)
		return MBEDTLS_ERR_ECP_BUFFER_TOO_SMALL;
	return EC_POINT_point2oct(grp->host_group, P->host_point, POINT_CONVERSION_UNCOMPRESSED,
				  buf, len, NULL) == len ? 0 : MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
}

int mbedtls_ecdsa_sign(mbedtls_ecp_group *grp, mbedtls_mpi *r, mbedtls_mpi *s,
		       const mbedtls_mpi *d, const unsigned char *buf, size_t blen,
		       mbedtls_f_rng_t *f_rng, void *p_rng)
{
	uint8_t priv[K1_BYTES], point[K1_POINT_BYTES], sig[2 * K1_BYTES];
	mbedtls_ecp_point q = { NULL };
	EVP_PKEY *pkey = NULL;
	size_t len = 0;
	int ret;

	(void)p_rng;
	/* The TA signs SHA-256 digests only; mbed TLS would truncate a longer hash, the TA never sends one. */
	if (!grp->host_group || !d->host_bn || !f_rng || blen != K1_BYTES || BN_is_zero(d->host_bn) ||
	    BN_cmp(d->host_bn, EC_GROUP_get0_order(grp->host_group)) >= 0)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	ret = mbedtls_mpi_write_binary(d, priv, sizeof(priv));
	q.host_point = EC_POINT_new(grp->host_group);
	if (!ret && (!q.host_point ||
		     !EC_POINT_mul(grp->host_group, q.host_point, d->host_bn, NULL, NULL, NULL)))
		ret = MBEDTLS_ERR_ECP_ALLOC_FAILED;
	if (!ret)
		ret = mbedtls_ecp_point_write_binary(grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &len, point,
						     sizeof(point));
	if (!ret) {
		pkey = host_ec_keypair("secp256k1", priv, sizeof(priv), point);
		ret = pkey && host_ecdsa_sign(pkey, buf, sig) ? 0 : MBEDTLS_ERR_ECP_ALLOC_FAILED;
	}
	if (!ret)
		ret = mbedtls_mpi_read_binary(r, sig, K1_BYTES);
	if (!ret)
		ret = mbedtls_mpi_read_binary(s, sig + K1_BYTES, K1_BYTES);
	EVP_PKEY_free(pkey);
	mbedtls_ecp_point_free(&q);
	OPENSSL_cleanse(priv, sizeof(priv));
	if (!ret)
		host_signature_made();
	return ret;
}
