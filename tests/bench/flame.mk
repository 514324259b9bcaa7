# flame.mk — builds the flame graph writers' benchmark (tests/bench/bench_flame.c) into
# $(BUILD)/tests/bench/bench_flame; tests/bench/run runs it.
BENCH_FLAME := $(BUILD)/tests/bench/bench_flame

$(BENCH_FLAME): tests/bench/bench_flame.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

EXTRA_TARGETS += $(BENCH_FLAME)
