/* SPDX-License-Identifier: Apache-2.0 */
/* The interface of OP-TEE's attestation pseudo-TA (CFG_ATTESTATION_PTA), for the host build. The
 * host has none unless a test puts one in place (tee_internal.c): opening it answers
 * TEE_ERROR_ITEM_NOT_FOUND, as on a board built without it. */
#ifndef KMSGATE_HOST_PTA_ATTESTATION_H
#define KMSGATE_HOST_PTA_ATTESTATION_H

#define PTA_ATTESTATION_UUID { 0x39800861, 0x182a, 0x4720, \
		{ 0x9b, 0x67, 0x2b, 0xcd, 0x62, 0x2b, 0xc0, 0xb5 } }
#define PTA_ATTESTATION_GET_TA_SHDR_DIGEST	0x1

#endif
