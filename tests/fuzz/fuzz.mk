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

# Seed corpora are generated, never committed: tests/fuzz/seeds/ holds their sources.
# $(FUZZ_DIR)/seeds/<name>/ is what tests/fuzz/run copies into a target's scratch corpus.
FUZZ_SEEDS := $(FUZZ_DIR)/seeds

# A seed generator tests/fuzz/seeds/gen_<name>.c writes the corpus $(FUZZ_SEEDS)/<name>/.
FUZZ_GENS := pprof trace ckpt

$(FUZZ_GENS:%=$(FUZZ_DIR)/gen_%): $(FUZZ_DIR)/gen_%: tests/fuzz/seeds/gen_%.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

$(FUZZ_GENS:%=$(FUZZ_SEEDS)/%/.done): $(FUZZ_SEEDS)/%/.done: $(FUZZ_DIR)/gen_%
	@rm -rf $(@D) && mkdir -p $(@D)
	$< $(@D)
	@touch $@

# Small shared objects: plain, with DWARF (and an inlined function), stripped, built by
# clang (DWARF 5, no .debug_aranges), and C++.
$(FUZZ_SEEDS)/elf/.done: tests/fuzz/seeds/elf_seed.c tests/fuzz/seeds/elf_seed.cpp
	@rm -rf $(@D) && mkdir -p $(@D)
	$(CC) -O2 -fPIC -shared -o $(@D)/plain.so tests/fuzz/seeds/elf_seed.c
	$(CC) -g -O2 -fPIC -shared -o $(@D)/dwarf.so tests/fuzz/seeds/elf_seed.c
	strip -o $(@D)/stripped.so $(@D)/dwarf.so
	clang -g -O1 -fPIC -shared -o $(@D)/clang.so tests/fuzz/seeds/elf_seed.c
	$(CXX) -g -O2 -fPIC -shared -o $(@D)/cxx.so tests/fuzz/seeds/elf_seed.cpp
	@touch $@

# Requests as go tool pprof, curl and Prometheus-style scrapers send them, and broken ones.
$(FUZZ_SEEDS)/http/.done: tests/fuzz/fuzz.mk
	@rm -rf $(@D) && mkdir -p $(@D)
	printf 'GET /debug/pprof/profile?seconds=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n' > $(@D)/go
	printf 'POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0x401000+0x' > $(@D)/symbol
	printf 'GET /debug/pprof/heap?seconds=%%33&debug=1&a+b=c%%20d HTTP/1.0\r\n\r\n' > $(@D)/query
	printf 'GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' > $(@D)/chunked
	printf 'GET /x HTTP/1.1\nHost: x\n\n' > $(@D)/bare_lf
	@touch $@

# The ELF seeds above (plain, DWARF, stripped, clang, C++ shared objects).
$(FUZZ_SEEDS)/elfsym/.done: $(FUZZ_SEEDS)/elf/.done
	@rm -rf $(@D) && mkdir -p $(@D)
	cp $(FUZZ_SEEDS)/elf/*.so $(@D)/
	@touch $@

# The ELF seeds' .eh_frame_hdr and .eh_frame, dumped as the memory image they make (the
# header first, the frames after it), as the agent's unwinder reads them in place.
$(FUZZ_SEEDS)/cfi/.done: $(FUZZ_SEEDS)/elf/.done
	@rm -rf $(@D) && mkdir -p $(@D)
	for f in $(FUZZ_SEEDS)/elf/*.so; do \
	  objcopy -O binary --only-section=.eh_frame_hdr --only-section=.eh_frame \
	    $$f $(@D)/$$(basename $$f .so).img || exit 1; done
	@touch $@
