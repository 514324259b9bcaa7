# ring.mk — builds the ring / stack-table benchmark (tests/bench/bench_ring.c) into
# $(BUILD)/tests/bench/bench_ring against libtrace.a; tests/bench/run runs it.
BENCH_RING := $(BUILD)/tests/bench/bench_ring

$(BENCH_RING): tests/bench/bench_ring.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

EXTRA_TARGETS += $(BENCH_RING)
