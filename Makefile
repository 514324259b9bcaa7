# ctrace — top-level build. Plain GNU make, out of tree into $(BUILD), parallel-safe.
#
#   make            everything: build/bin/ctrace, build/lib/libctrace.so, build/lib/libtrace.a,
#                   build/samples/*
#   make test       every test: unit (gcc), ASan+UBSan unit, TSan ring/stack tests, fuzz
#                   smoke runs, clang build, format and size checks (tests/tools/shape-check),
#                   integration tests; ends with
#                   "N passed, N failed"
#   make unit-test | asan-test | tsan-test | fuzz-test | clang-test | format-check |
#        integration-test      one suite of `make test` alone, with its own count
#   make bench      benchmarks (tests/bench), "bench <name> <value> <unit>" lines
#   make demo       record samples/cpu_hot, samples/thread_states and
#                   samples/annotated_server, print their reports
#   make install PREFIX=/usr/local     make clean     make format
#
# Rooms add sources by dropping files in place: libtrace/*.c, agent/*.c, cli/*.c,
# samples/*.c (one program each), tests/unit/test_*.c (one Check suite each),
# tests/fuzz/fuzz_*.c, tests/integration/test_*.sh, tests/bench/bench_*.c (tests/bench/bench.mk).
# Anything special goes in a room's own fragment, <room>/*.mk, included below.

BUILD    ?= build
# Jobs for every build step (make test builds four configurations: gcc, ASan, TSan, clang):
# all cores unless JOBS=N says otherwise. Set once, by the top make; sub-makes share it.
JOBS     ?= $(shell nproc 2>/dev/null || echo 1)
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(JOBS)
endif
SAN      ?=
PREFIX   ?= /usr/local
CC       ?= cc
CXX      ?= g++

PKGS := libunwind libprotobuf-c zlib libdw check
DEB_DEPS := libunwind-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev libdw-dev libiberty-dev check pkg-config
DEB_TEST_DEPS := golang-go libxml2-utils clang libclang-rt-14-dev chromium google-perftools valgrind g++ binutils python3 curl \
                 redis-server redis-tools
# Benchmarks only: the tools ctrace is compared against.
DEB_BENCH_DEPS := heaptrack linux-perf

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow
CSTD     := -std=c11 -D_GNU_SOURCE
OPT      ?= -O2 -g
SANFLAGS_asan := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANFLAGS_tsan := -fsanitize=thread
SANFLAGS := $(SANFLAGS_$(SAN))
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -fPIC -pthread $(SANFLAGS) -I$(BUILD)/gen -I. $(CFLAGS)
LDFLAGS_ALL = -pthread $(SANFLAGS) $(LDFLAGS)

LIBTRACE_LIBS := -lprotobuf-c -lz -ldw -lelf -liberty -ldl -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

.SECONDARY:
.PHONY: all deps unit-bins test unit-test asan-test tsan-test fuzz-test clang-test \
        integration-test format-check bench demo install clean format
.DEFAULT_GOAL := all

# ---- dependencies -------------------------------------------------------------------
# $(call install_missing,PACKAGES,WHAT): installs the missing Debian packages when run as
# root; otherwise names the command to run and fails.
define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "ctrace: installing $(2)$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	  else echo "ctrace: missing $(2); run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
	@mkdir -p $(@D) && touch $@
endef

$(BUILD)/.deps-ok:
	$(call install_missing,$(DEB_DEPS),packages)

$(BUILD)/.test-deps-ok: $(BUILD)/.deps-ok
	$(call install_missing,$(DEB_TEST_DEPS),test packages)

$(BUILD)/.bench-deps-ok: $(BUILD)/.test-deps-ok
	$(call install_missing,$(DEB_BENCH_DEPS),benchmark packages)

deps: $(BUILD)/.deps-ok

# ---- generated protobuf code ----------------------------------------------------------
PROTO_SRC := $(wildcard proto/*.proto)
PROTO_C   := $(patsubst proto/%.proto,$(BUILD)/gen/proto/%.pb-c.c,$(PROTO_SRC))
PROTO_H   := $(PROTO_C:.c=.h)

$(BUILD)/gen/proto/%.pb-c.c $(BUILD)/gen/proto/%.pb-c.h: proto/%.proto $(BUILD)/.deps-ok
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $<

# ---- libtrace -------------------------------------------------------------------------
LIBTRACE_SRC := $(wildcard libtrace/*.c)
LIBTRACE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIBTRACE_SRC)) \
                $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(PROTO_C))
LIBTRACE_A   := $(BUILD)/lib/libtrace.a

$(BUILD)/obj/%.o: %.c $(PROTO_H) $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) -fPIC $(SANFLAGS) -I$(BUILD)/gen -c $< -o $@

$(LIBTRACE_A): $(LIBTRACE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# ---- agent: libctrace.so -------------------------------------------------------------
AGENT_SRC := $(wildcard agent/*.c)
AGENT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_SRC))
AGENT_SO  := $(BUILD)/lib/libctrace.so

$(BUILD)/obj/agent/%.o: CFLAGS_ALL += -fvisibility=hidden -ftls-model=initial-exec

# Only functions marked CT_EXPORT (the hooks) are visible: agent objects are compiled
# with hidden visibility, libtrace's symbols are hidden by --exclude-libs, and the
# section bounds the source registry uses by agent/agent.map. libiberty (a static, PIC
# archive: its demanglers name the live server's frames) is hidden the same way.
# agent/hot.ld puts the hooks' hot data on a page of its own (agent/hot.h).
$(AGENT_SO): $(AGENT_OBJ) $(LIBTRACE_A) agent/agent.map agent/hot.ld
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(AGENT_OBJ) $(LIBTRACE_A) -Wl,--exclude-libs,ALL \
	  -Wl,--version-script=agent/agent.map -Wl,-T,agent/hot.ld -Wl,-z,nodelete \
	  -Wl,--no-undefined $(LDFLAGS_ALL) \
	  -lprotobuf-c -lz -liberty -ldl -lrt

# ---- cli: ctrace ---------------------------------------------------------------------
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))
CTRACE  := $(BUILD)/bin/ctrace

$(CTRACE): $(CLI_OBJ) $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $(CLI_OBJ) $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

# ---- samples -------------------------------------------------------------------------
SAMPLE_SRC := $(wildcard samples/*.c)
SAMPLES    := $(patsubst samples/%.c,$(BUILD)/samples/%,$(SAMPLE_SRC))
SAMPLE_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread

$(BUILD)/samples/%: samples/%.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -o $@ $< $(SAMPLE_LDLIBS_$*) -lm

# ---- tests ---------------------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS) $(CHECK_LIBS)

-include $(wildcard */*.mk tests/*/*.mk)
-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)

all: $(LIBTRACE_A) $(AGENT_SO) $(CTRACE) $(SAMPLES) $(EXTRA_TARGETS)

unit-bins: $(UNIT_BIN)

# ---- test suites ---------------------------------------------------------------------
# Each suite appends PASS/FAIL lines to $(BUILD)/test-results (tests/run-suite). Run alone
# (`make unit-test`), a suite starts a fresh results file and ends with "N passed, N
# failed"; `make test` runs them all in order and counts once at the end.
TEST_SUITES := unit-test asan-test tsan-test fuzz-test clang-test format-check integration-test
RESULTS := $(BUILD)/test-results
suite_begin = @[ -n "$(CT_GATE)" ] || rm -f $(RESULTS)
suite_end = @[ -n "$(CT_GATE)" ] || tests/summarize $(RESULTS)

test: $(BUILD)/.test-deps-ok
	@rm -f $(RESULTS)
	@for s in $(TEST_SUITES); do $(MAKE) --no-print-directory CT_GATE=1 $$s || exit 1; done
	@tests/summarize $(RESULTS)

unit-test: all unit-bins
	$(suite_begin)
	@tests/run-suite $(BUILD) unit tests/run-unit $(BUILD)
	$(suite_end)

asan-test: all
	$(suite_begin)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=asan OPT='-O1 -g' unit-bins \
	  $(BUILD)/asan/bin/ctrace
	@tests/run-suite $(BUILD) asan     tests/run-unit $(BUILD)/asan
	@tests/run-suite $(BUILD) asan     tests/asan-cli $(BUILD) $(BUILD)/asan
	$(suite_end)

TSAN_SUITES := test_ring test_stacks
tsan-test:
	$(suite_begin)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan SAN=tsan OPT='-O1 -g' \
	  $(addprefix $(BUILD)/tsan/tests/unit/,$(TSAN_SUITES))
	@tests/run-suite $(BUILD) tsan     tests/run-unit $(BUILD)/tsan $(TSAN_SUITES)
	$(suite_end)

fuzz-test:
	$(suite_begin)
	@tests/run-suite $(BUILD) fuzz     tests/fuzz/run $(BUILD)
	$(suite_end)

clang-test:
	$(suite_begin)
	@tests/run-suite $(BUILD) clang    $(MAKE) --no-print-directory BUILD=$(BUILD)/clang CC=clang all
	$(suite_end)

integration-test: all
	$(suite_begin)
	@tests/run-suite $(BUILD) integration tests/run-integration $(BUILD)
	$(suite_end)

# The C sources clang-format decides the layout of (.clang-format).
FORMAT_SRC := $(wildcard libtrace/*.[ch] agent/*.[ch] cli/*.[ch] include/ctrace/*.h \
                samples/*.c samples/*/*.c samples/lib/*.c \
                tests/*/*.[ch] tests/*/*/*.c)

format-check:
	$(suite_begin)
	@mkdir -p $(BUILD)
	@tests/run-suite $(BUILD) format   clang-format --dry-run -Werror $(FORMAT_SRC)
	@tests/run-suite $(BUILD) shape    tests/tools/shape-check
	$(suite_end)

bench: all $(BUILD)/.bench-deps-ok
	@tests/bench/run $(BUILD)

demo: all
	@rm -rf $(BUILD)/demo
	$(CTRACE) record -o $(BUILD)/demo -- $(BUILD)/samples/cpu_hot
	$(CTRACE) report $(BUILD)/demo
	$(CTRACE) report --flame $(BUILD)/demo/cpu.html $(BUILD)/demo/cpu.pb.gz
	@echo "flame graph: $(BUILD)/demo/cpu.html (open it in a browser)"
	@rm -rf $(BUILD)/demo-threads
	$(CTRACE) record -o $(BUILD)/demo-threads -- $(BUILD)/samples/thread_states
	$(CTRACE) report --sched $(BUILD)/demo-threads
	$(CTRACE) report --chrome $(BUILD)/demo-threads/trace.json $(BUILD)/demo-threads
	@echo "trace: $(BUILD)/demo-threads/trace.json (open it in ui.perfetto.dev)"
	$(CTRACE) report --timeline $(BUILD)/demo-threads/timeline.html $(BUILD)/demo-threads
	@echo "timeline: $(BUILD)/demo-threads/timeline.html (open it in a browser)"
	@rm -rf $(BUILD)/demo-annotated
	$(CTRACE) record -o $(BUILD)/demo-annotated -- $(BUILD)/samples/annotated_server
	$(CTRACE) report --tag endpoint=/render $(BUILD)/demo-annotated/cpu.pb.gz
	@echo "labels: go tool pprof -tags $(BUILD)/demo-annotated/cpu.pb.gz (docs/annotate.md)"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	  $(DESTDIR)$(PREFIX)/include/ctrace/libtrace $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CTRACE) $(DESTDIR)$(PREFIX)/bin/ctrace
	install -m 755 $(AGENT_SO) $(DESTDIR)$(PREFIX)/lib/libctrace.so
	install -m 644 $(LIBTRACE_A) $(DESTDIR)$(PREFIX)/lib/libtrace.a
	install -m 644 libtrace/*.h $(DESTDIR)$(PREFIX)/include/ctrace/libtrace/
	install -m 644 include/ctrace/annotate.h $(DESTDIR)$(PREFIX)/include/ctrace/
	install -m 644 docs/ctrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/ctrace.1

format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)
