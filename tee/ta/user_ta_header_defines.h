/* SPDX-License-Identifier: Apache-2.0 */
/* TA properties read by OP-TEE's TA dev kit (user_ta_header.c). */
#ifndef USER_TA_HEADER_DEFINES_H
#define USER_TA_HEADER_DEFINES_H

#include <kmsgate_ta.h>

#define TA_UUID				TA_KMSGATE_UUID
/*
 * One instance shared by every session, which OP-TEE runs one command at a time: the key state's
 * read-modify-write needs no lock. Not kept alive: nothing is cached between commands.
 */
#define TA_FLAGS			(TA_FLAG_SINGLE_INSTANCE | TA_FLAG_MULTI_SESSION)
#define TA_STACK_SIZE			(16 * 1024)
/* The key state (CFG_KMSGATE_MAX_KEYS records of 184 bytes) twice, plus the crypto library. */
#define TA_DATA_SIZE			(256 * 1024)
#define TA_VERSION			"1.0"
#define TA_DESCRIPTION			"kmsgate signing keys"

#endif /* USER_TA_HEADER_DEFINES_H */
