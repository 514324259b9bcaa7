# pprof.mk — test_pprof injects allocation failures into libtrace: the linker's --wrap
# sends every malloc/calloc/realloc call made by the objects linked into the test (the
# test itself and libtrace's members, not shared libraries) to wrappers in the test.
$(BUILD)/tests/unit/test_pprof: LDFLAGS += -Wl,--wrap=malloc -Wl,--wrap=calloc \
  -Wl,--wrap=realloc
