global-incdirs-y += include
srcs-y += kmsgate_ta.c
srcs-y += state.c
srcs-y += keys.c
srcs-y += attest.c
