# fuzz.mk — libFuzzer targets: tests/fuzz/fuzz_<name>.c → $(BUILD)/fuzz/fuzz_<name>.
#
# Each target defines LLVMFuzzerTestOneInput and is linked by clang with
# -fsanitize=fuzzer,address,undefined against a copy of libtrace compiled the same way
# (coverage-instrumented, ASan+UBSan, every UB report fatal). That copy is built by a
# recursive make into $(BUILD)/fuzz (its own objects, generated code and dependency
# files), so every libtrace rule — generated protobuf code, rooms' generated includes —
# applies unchanged. Warnings stay on but are not fatal there: the clang gate step
# (`make CC=clang`) is where clang warnings fail the build.
#
#   make fuzz-bins                      build every target
#   make build/fuzz/fuzz_pprof          build one
#   tests/fuzz/run build [NAME...]      build and run them (what `make test` does)
#
# A target needing more libraries than libtrace's sets FUZZ_LDLIBS_<name>.

FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_LIB    := $(FUZZ_DIR)/lib/libtrace.a
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(CSTD) -Wall -Wextra -O1 -g $(FUZZ_SAN) -I$(FUZZ_DIR)/gen -I.

.PHONY: fuzz-bins fuzz-lib-force

fuzz-bins: $(FUZZ_BINS)

# Always ask the sub-make; it relinks the archive only when a source changed, so the
# targets below relink only then.
$(FUZZ_LIB): fuzz-lib-force
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR) CC=clang OPT='-O1 -g' \
	  WARN='-Wall -Wextra' SANFLAGS='-fsanitize=fuzzer-no-link $(FUZZ_SAN)' $(FUZZ_LIB)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBTRACE_LIBS) \
	  $(FUZZ_LDLIBS_$*)
