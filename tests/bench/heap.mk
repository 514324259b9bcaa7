# heap.mk — builds the heap hooks' benchmark program (run by tests/bench/bench_heap.sh).
BENCH_HEAP := $(BUILD)/tests/bench/bench_heap

$(BENCH_HEAP): tests/bench/bench_heap.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -o $@ $<

EXTRA_TARGETS += $(BENCH_HEAP)
