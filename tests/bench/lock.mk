# lock.mk — builds the lock hooks' benchmark program (run by tests/bench/bench_lock.sh).
BENCH_LOCK := $(BUILD)/tests/bench/bench_lock

$(BENCH_LOCK): tests/bench/bench_lock.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -o $@ $<

EXTRA_TARGETS += $(BENCH_LOCK)
