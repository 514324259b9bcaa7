# bench.mk — builds every benchmark, tests/bench/bench_X.c → $(BUILD)/tests/bench/bench_X
# (tests/bench/run builds and runs them). A bench_X.c that has a driver script bench_X.sh
# is a program the driver runs under the agent: built like a sample, without libtrace.
# Any other is a libtrace benchmark, linked against libtrace.a.
BENCH_SRC   := $(wildcard tests/bench/bench_*.c)
BENCH_BINS  := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRC))
BENCH_PROGS := $(filter $(patsubst tests/bench/%.sh,$(BUILD)/tests/bench/%,\
                 $(wildcard tests/bench/bench_*.sh)),$(BENCH_BINS))
BENCH_LIBS  := $(filter-out $(BENCH_PROGS),$(BENCH_BINS))

$(BENCH_LIBS): $(BUILD)/tests/bench/%: tests/bench/%.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

$(BENCH_PROGS): $(BUILD)/tests/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -MMD -MP -o $@ $<

EXTRA_TARGETS += $(BENCH_BINS)
