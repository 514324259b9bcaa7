# tools.mk — helper programs of the tests and benchmarks that link libtrace:
# tests/tools/X.c → $(BUILD)/tests/tools/X (built with `make all`).
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBTRACE_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(LIBTRACE_A) $(LDFLAGS_ALL) $(LIBTRACE_LIBS)

EXTRA_TARGETS += $(TOOL_BINS)
