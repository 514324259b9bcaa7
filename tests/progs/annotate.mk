# annotate.mk — the test programs that include include/ctrace/annotate.h (annot_*.c): the
# header needs -Iinclude and nothing else (no library to link), and its compile test.
$(BUILD)/tests/progs/annot_%: tests/progs/annot_%.c tests/progs/burn.h include/ctrace/annotate.h
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -Iinclude -o $@ $<
