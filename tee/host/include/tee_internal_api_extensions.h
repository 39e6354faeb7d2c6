/* SPDX-License-Identifier: Apache-2.0 */
/* OP-TEE's extensions the kmsgate TA uses, for its host build: RPMB storage and error traces. */
#ifndef KMSGATE_HOST_TEE_INTERNAL_API_EXTENSIONS_H
#define KMSGATE_HOST_TEE_INTERNAL_API_EXTENSIONS_H

#include <tee_internal_api.h>

#define TEE_STORAGE_PRIVATE_RPMB	0x80000100

void kmsgate_host_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define EMSG(...)	kmsgate_host_trace(__VA_ARGS__)

#endif
