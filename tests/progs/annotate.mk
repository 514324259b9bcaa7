# annotate.mk — the test programs that include include/ctrace/annotate.h (annot_*.c): the
# header needs -Iinclude and nothing else (no library to link), and its compile test.
$(BUILD)/tests/progs/annot_%: tests/progs/annot_%.c tests/progs/burn.h include/ctrace/annotate.h
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -Iinclude -o $@ $<

# The benchmark program (tests/bench/bench_annotate.sh runs it) includes the header too.
$(BUILD)/tests/bench/bench_annotate: SAMPLE_CFLAGS += -Iinclude
