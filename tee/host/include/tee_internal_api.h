/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The subset of the GlobalPlatform TEE Internal Core API (GPD_SPE_010 v1.3.1) that the kmsgate TA
 * uses, for its host build (tee/host). Values are the specification's; types follow the 1.3.1
 * signatures (size_t lengths) that OP-TEE 4.x compiles TAs against. On a board the TA is built
 * against the OP-TEE TA dev kit's own headers instead; this file is never used there.
 */
#ifndef KMSGATE_HOST_TEE_INTERNAL_API_H
#define KMSGATE_HOST_TEE_INTERNAL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t TEE_Result;

typedef struct {
	uint32_t timeLow;
	uint16_t timeMid;
	uint16_t timeHiAndVersion;
	uint8_t clockSeqAndNode[8];
} TEE_UUID;

typedef union {
	struct {
		void *buffer;
		size_t size;
	} memref;
	struct {
		uint32_t a;
		uint32_t b;
	} value;
} TEE_Param;

typedef struct {
	uint32_t attributeID;
	union {
		struct {
			void *buffer;
			size_t length;
		} ref;
		struct {
			uint32_t a, b;
		} value;
	} content;
} TEE_Attribute;

typedef struct {
	uint32_t objectType;
	uint32_t objectSize;
	uint32_t maxObjectSize;
	uint32_t objectUsage;
	size_t dataSize;
	size_t dataPosition;
	uint32_t handleFlags;
} TEE_ObjectInfo;

typedef struct __TEE_ObjectHandle *TEE_ObjectHandle;
typedef struct __TEE_OperationHandle *TEE_OperationHandle;
typedef struct __TEE_TASessionHandle *TEE_TASessionHandle;

#define TEE_HANDLE_NULL			0
#define TEE_NUM_PARAMS			4
#define TEE_TIMEOUT_INFINITE		0xFFFFFFFF

#define TEE_SUCCESS			0x00000000
#define TEE_ERROR_CORRUPT_OBJECT	0xF0100001
#define TEE_ERROR_STORAGE_NOT_AVAILABLE	0xF0100003
#define TEE_ERROR_GENERIC		0xFFFF0000
#define TEE_ERROR_ACCESS_DENIED		0xFFFF0001
#define TEE_ERROR_ACCESS_CONFLICT	0xFFFF0003
#define TEE_ERROR_BAD_PARAMETERS	0xFFFF0006
#define TEE_ERROR_BAD_STATE		0xFFFF0007
#define TEE_ERROR_ITEM_NOT_FOUND	0xFFFF0008
#define TEE_ERROR_NOT_IMPLEMENTED	0xFFFF0009
#define TEE_ERROR_NOT_SUPPORTED		0xFFFF000A
#define TEE_ERROR_OUT_OF_MEMORY		0xFFFF000C
#define TEE_ERROR_SECURITY		0xFFFF000F
#define TEE_ERROR_SHORT_BUFFER		0xFFFF0010
#define TEE_ERROR_TARGET_DEAD		0xFFFF3024
#define TEE_ERROR_STORAGE_NO_SPACE	0xFFFF3041
#define TEE_ERROR_MAC_INVALID		0xFFFF3071

#define TEE_PARAM_TYPE_NONE		0
#define TEE_PARAM_TYPE_VALUE_INPUT	1
#define TEE_PARAM_TYPE_VALUE_OUTPUT	2
#define TEE_PARAM_TYPE_VALUE_INOUT	3
#define TEE_PARAM_TYPE_MEMREF_INPUT	5
#define TEE_PARAM_TYPE_MEMREF_OUTPUT	6
#define TEE_PARAM_TYPE_MEMREF_INOUT	7
#define TEE_PARAM_TYPES(t0, t1, t2, t3) \
	((t0) | ((t1) << 4) | ((t2) << 8) | ((t3) << 12))
#define TEE_PARAM_TYPE_GET(t, i)	((((uint32_t)(t)) >> ((i) * 4)) & 0xF)

#define TEE_MALLOC_FILL_ZERO		0x00000000

#define TEE_STORAGE_PRIVATE		0x00000001
#define TEE_DATA_FLAG_ACCESS_READ	0x00000001
#define TEE_DATA_FLAG_ACCESS_WRITE	0x00000002
#define TEE_DATA_FLAG_ACCESS_WRITE_META	0x00000004
#define TEE_DATA_FLAG_SHARE_READ	0x00000010
#define TEE_DATA_FLAG_SHARE_WRITE	0x00000020
#define TEE_DATA_FLAG_OVERWRITE		0x00000400
#define TEE_OBJECT_ID_MAX_LEN		64

#define TEE_MODE_ENCRYPT		0x00000000
#define TEE_MODE_DECRYPT		0x00000001
#define TEE_MODE_SIGN			0x00000002
#define TEE_MODE_DIGEST			0x00000005

#define TEE_ALG_SHA256			0x50000004
#define TEE_ALG_ECDSA_SHA256		0x70003042
#define TEE_ALG_ECDSA_P256		TEE_ALG_ECDSA_SHA256
#define TEE_ALG_ED25519			0x70006043
#define TEE_ALG_AES_GCM			0x40000810

#define TEE_TYPE_ECDSA_KEYPAIR		0xA1000041
#define TEE_TYPE_ED25519_KEYPAIR	0xA1000043
#define TEE_TYPE_AES			0xA0000010

#define TEE_ATTR_SECRET_VALUE		0xC0000000

#define TEE_ATTR_ECC_PUBLIC_VALUE_X	0xD0000141
#define TEE_ATTR_ECC_PUBLIC_VALUE_Y	0xD0000241
#define TEE_ATTR_ECC_PRIVATE_VALUE	0xC0000341
#define TEE_ATTR_ECC_CURVE		0xF0000441
#define TEE_ATTR_ED25519_PUBLIC_VALUE	0xD0000743
#define TEE_ATTR_ED25519_PRIVATE_VALUE	0xC0000843
#define TEE_ECC_CURVE_NIST_P256		0x00000003

/* Trusted Core Framework */
void TEE_Panic(TEE_Result code) __attribute__((noreturn));
void *TEE_Malloc(size_t size, uint32_t hint);
void TEE_Free(void *buffer);
void TEE_MemFill(void *buffer, uint8_t x, size_t size);
int32_t TEE_MemCompare(const void *a, const void *b, size_t size);
TEE_Result TEE_OpenTASession(const TEE_UUID *destination, uint32_t timeout,
			     uint32_t paramTypes, TEE_Param params[TEE_NUM_PARAMS],
			     TEE_TASessionHandle *session, uint32_t *returnOrigin);
void TEE_CloseTASession(TEE_TASessionHandle session);
TEE_Result TEE_InvokeTACommand(TEE_TASessionHandle session, uint32_t timeout,
			       uint32_t commandID, uint32_t paramTypes,
			       TEE_Param params[TEE_NUM_PARAMS], uint32_t *returnOrigin);

/* Trusted Storage */
TEE_Result TEE_AllocateTransientObject(uint32_t objectType, uint32_t maxObjectSize,
				       TEE_ObjectHandle *object);
void TEE_FreeTransientObject(TEE_ObjectHandle object);
void TEE_InitRefAttribute(TEE_Attribute *attr, uint32_t id, const void *buffer, size_t length);
void TEE_InitValueAttribute(TEE_Attribute *attr, uint32_t id, uint32_t a, uint32_t b);
TEE_Result TEE_PopulateTransientObject(TEE_ObjectHandle object, const TEE_Attribute *attrs,
				       uint32_t attrCount);
TEE_Result TEE_GenerateKey(TEE_ObjectHandle object, uint32_t keySize,
			   const TEE_Attribute *params, uint32_t paramCount);
TEE_Result TEE_GetObjectBufferAttribute(TEE_ObjectHandle object, uint32_t attributeID,
					void *buffer, size_t *size);
TEE_Result TEE_GetObjectInfo1(TEE_ObjectHandle object, TEE_ObjectInfo *info);
TEE_Result TEE_OpenPersistentObject(uint32_t storageID, const void *objectID,
				    size_t objectIDLen, uint32_t flags, TEE_ObjectHandle *object);
TEE_Result TEE_CreatePersistentObject(uint32_t storageID, const void *objectID,
				      size_t objectIDLen, uint32_t flags,
				      TEE_ObjectHandle attributes, const void *initialData,
				      size_t initialDataLen, TEE_ObjectHandle *object);
TEE_Result TEE_ReadObjectData(TEE_ObjectHandle object, void *buffer, size_t size,
			      size_t *count);
void TEE_CloseObject(TEE_ObjectHandle object);

/* Cryptographic Operations */
TEE_Result TEE_AllocateOperation(TEE_OperationHandle *operation, uint32_t algorithm,
				 uint32_t mode, uint32_t maxKeySize);
void TEE_FreeOperation(TEE_OperationHandle operation);
TEE_Result TEE_SetOperationKey(TEE_OperationHandle operation, TEE_ObjectHandle key);
void TEE_DigestUpdate(TEE_OperationHandle operation, const void *chunk, size_t chunkSize);
TEE_Result TEE_DigestDoFinal(TEE_OperationHandle operation, const void *chunk,
			     size_t chunkLen, void *hash, size_t *hashLen);
TEE_Result TEE_AsymmetricSignDigest(TEE_OperationHandle operation, const TEE_Attribute *params,
				    uint32_t paramCount, const void *digest, size_t digestLen,
				    void *signature, size_t *signatureLen);
TEE_Result TEE_AEInit(TEE_OperationHandle operation, const void *nonce, size_t nonceLen,
		      uint32_t tagLen, size_t AADLen, size_t payloadLen);
void TEE_AEUpdateAAD(TEE_OperationHandle operation, const void *AADdata, size_t AADdataLen);
TEE_Result TEE_AEEncryptFinal(TEE_OperationHandle operation, const void *srcData, size_t srcLen,
			      void *destData, size_t *destLen, void *tag, size_t *tagLen);
TEE_Result TEE_AEDecryptFinal(TEE_OperationHandle operation, const void *srcData, size_t srcLen,
			      void *destData, size_t *destLen, void *tag, size_t tagLen);
void TEE_GenerateRandom(void *buffer, size_t length);

/* The TA's entry points (GPD_SPE_010 §4.3), called by the host TEE Client API. */
TEE_Result TA_CreateEntryPoint(void);
void TA_DestroyEntryPoint(void);
TEE_Result TA_OpenSessionEntryPoint(uint32_t paramTypes, TEE_Param params[TEE_NUM_PARAMS],
				    void **sessionContext);
void TA_CloseSessionEntryPoint(void *sessionContext);
TEE_Result TA_InvokeCommandEntryPoint(void *sessionContext, uint32_t commandID,
				      uint32_t paramTypes, TEE_Param params[TEE_NUM_PARAMS]);

#endif
