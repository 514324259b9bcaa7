# trace.mk — builds the trace.ctr writer/reader benchmark (tests/bench/bench_trace.c) into
# $(BUILD)/tests/bench/bench_trace; tests/bench/run runs it.
BENCH_TRACE := $(BUILD)/tests/bench/bench_trace

$(BENCH_TRACE): tests/bench/bench_trace.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

EXTRA_TARGETS += $(BENCH_TRACE)
