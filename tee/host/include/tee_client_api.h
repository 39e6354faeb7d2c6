/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The GlobalPlatform TEE Client API (GPD_SPE_007 v1.0) as the host build implements it: the
 * structure layouts of OP-TEE's libteec (optee_client), so the bridge daemon fills the same
 * TEEC_Operation for either library. Only temporary memory references and values are supported.
 */
#ifndef KMSGATE_HOST_TEE_CLIENT_API_H
#define KMSGATE_HOST_TEE_CLIENT_API_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t TEEC_Result;

#define TEEC_SUCCESS			0x00000000
#define TEEC_ERROR_GENERIC		0xFFFF0000
#define TEEC_ERROR_BAD_PARAMETERS	0xFFFF0006
#define TEEC_ERROR_BAD_STATE		0xFFFF0007
#define TEEC_ERROR_ITEM_NOT_FOUND	0xFFFF0008
#define TEEC_ERROR_NOT_IMPLEMENTED	0xFFFF0009
#define TEEC_ERROR_OUT_OF_MEMORY	0xFFFF000C
#define TEEC_ERROR_COMMUNICATION	0xFFFF000E
#define TEEC_ERROR_TARGET_DEAD		0xFFFF3024

#define TEEC_ORIGIN_API			1
#define TEEC_ORIGIN_COMMS		2
#define TEEC_ORIGIN_TEE			3
#define TEEC_ORIGIN_TRUSTED_APP		4

#define TEEC_NONE			0x0
#define TEEC_VALUE_INPUT		0x1
#define TEEC_VALUE_OUTPUT		0x2
#define TEEC_VALUE_INOUT		0x3
#define TEEC_MEMREF_TEMP_INPUT		0x5
#define TEEC_MEMREF_TEMP_OUTPUT		0x6
#define TEEC_MEMREF_TEMP_INOUT		0x7
#define TEEC_PARAM_TYPE_GET(p, i)	(((p) >> ((i) * 4)) & 0xF)

#define TEEC_LOGIN_PUBLIC		0

typedef struct {
	void *imp;	/* the host TEE's context */
} TEEC_Context;

typedef struct {
	uint32_t timeLow;
	uint16_t timeMid;
	uint16_t timeHiAndVersion;
	uint8_t clockSeqAndNode[8];
} TEEC_UUID;

typedef struct {
	void *buffer;
	size_t size;
} TEEC_TempMemoryReference;

typedef struct {
	void *parent;
	size_t size;
	size_t offset;
} TEEC_RegisteredMemoryReference;

typedef struct {
	uint32_t a;
	uint32_t b;
} TEEC_Value;

typedef union {
	TEEC_TempMemoryReference tmpref;
	TEEC_RegisteredMemoryReference memref;
	TEEC_Value value;
} TEEC_Parameter;

typedef struct {
	void *imp;	/* the host TEE's session */
} TEEC_Session;

typedef struct {
	uint32_t started;
	uint32_t paramTypes;
	TEEC_Parameter params[4];
	TEEC_Session *session;
} TEEC_Operation;

TEEC_Result TEEC_InitializeContext(const char *name, TEEC_Context *context);
void TEEC_FinalizeContext(TEEC_Context *context);
TEEC_Result TEEC_OpenSession(TEEC_Context *context, TEEC_Session *session,
			     const TEEC_UUID *destination, uint32_t connectionMethod,
			     const void *connectionData, TEEC_Operation *operation,
			     uint32_t *returnOrigin);
void TEEC_CloseSession(TEEC_Session *session);
TEEC_Result TEEC_InvokeCommand(TEEC_Session *session, uint32_t commandID,
			       TEEC_Operation *operation, uint32_t *returnOrigin);

#endif
