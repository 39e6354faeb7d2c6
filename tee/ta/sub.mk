global-incdirs-y += include
srcs-y += kmsgate_ta.c
srcs-y += state.c
srcs-y += keys.c
srcs-y += secp256k1.c
srcs-y += attest.c
srcs-y += seal.c

# Build options (docs/tee-board.md): the number of keys the TA holds (default 256), and where the
# rollback counter lives (default RPMB; y puts it in the REE file system, for boards without RPMB).
ifneq ($(CFG_KMSGATE_MAX_KEYS),)
cppflags-y += -DCFG_KMSGATE_MAX_KEYS=$(CFG_KMSGATE_MAX_KEYS)
endif
ifeq ($(CFG_KMSGATE_COUNTER_IN_REE_FS),y)
cppflags-y += -DCFG_KMSGATE_COUNTER_STORAGE=TEE_STORAGE_PRIVATE
endif
