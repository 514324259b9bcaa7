# pprof.mk — builds the pprof reader/writer benchmark (tests/bench/bench_pprof.c) into
# $(BUILD)/tests/bench/bench_pprof; tests/bench/run runs it.
BENCH_PPROF := $(BUILD)/tests/bench/bench_pprof

$(BENCH_PPROF): tests/bench/bench_pprof.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

EXTRA_TARGETS += $(BENCH_PPROF)
