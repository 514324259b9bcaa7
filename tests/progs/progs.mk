# progs.mk — small programs the integration tests run under the agent (edge cases).
PROG_SRC := $(wildcard tests/progs/*.c)
PROGS    := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(PROG_SRC))
EXTRA_TARGETS += $(PROGS) $(BUILD)/tests/progs/libthrower.so

$(BUILD)/tests/progs/%: tests/progs/%.c $(wildcard tests/progs/*.h)
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -o $@ $< -ldl

# A C++ library that throws and catches, dlopened by tests/progs/dlopen_cxx.c.
$(BUILD)/tests/progs/libthrower.so: tests/progs/thrower.cpp
	@mkdir -p $(@D)
	$(CXX) -O2 -g -fPIC -shared -o $@ $<

# A C++ program whose frames the live server must name demangled (test_live).
EXTRA_TARGETS += $(BUILD)/tests/progs/live_cxx
$(BUILD)/tests/progs/live_cxx: tests/progs/live_cxx.cpp
	@mkdir -p $(@D)
	$(CXX) -O2 -g -o $@ $<

# The libraries the programs load or preload, each described in its source:
# tests/progs/lib/X.c → $(BUILD)/tests/progs/libX.so.
PROG_LIBS := $(patsubst tests/progs/lib/%.c,$(BUILD)/tests/progs/lib%.so,\
               $(wildcard tests/progs/lib/*.c))
EXTRA_TARGETS += $(PROG_LIBS)
$(PROG_LIBS): $(BUILD)/tests/progs/lib%.so: tests/progs/lib/%.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -fPIC -shared -o $@ $<

# A statically linked program: the agent cannot load into it (test_record_cli).
EXTRA_TARGETS += $(BUILD)/tests/progs/touch_static
$(BUILD)/tests/progs/touch_static: tests/progs/static/touch_static.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -static -o $@ $<

# A Rust program whose std Mutex/Condvar wait with syscall(SYS_futex) (test_block_futex);
# built when rustc is installed.
ifneq ($(shell command -v rustc 2>/dev/null),)
EXTRA_TARGETS += $(BUILD)/tests/progs/futex_pingpong
$(BUILD)/tests/progs/futex_pingpong: tests/progs/rust/futex_pingpong.rs
	@mkdir -p $(@D)
	MAKEFLAGS= CARGO_MAKEFLAGS= rustc -O -g -C force-frame-pointers=yes -o $@ $<
endif
