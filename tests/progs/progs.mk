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

EXTRA_TARGETS += $(BUILD)/tests/progs/libclosed.so
$(BUILD)/tests/progs/libclosed.so: tests/progs/lib/closed.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -fPIC -shared -o $@ $<

# A library whose constructor dlopens and dlcloses another (dl_race, test_cpu_edges).
EXTRA_TARGETS += $(BUILD)/tests/progs/libctor_dl.so
$(BUILD)/tests/progs/libctor_dl.so: tests/progs/lib/ctor_dl.c
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

# sig_tls (test_hook_events): a library with thread-local data, copied under several names,
# and an allocator layer preloaded after the agent that counts a signal handler's calls.
EXTRA_TARGETS += $(BUILD)/tests/progs/libtls_mod.so $(BUILD)/tests/progs/libcount_alloc.so
$(BUILD)/tests/progs/libtls_mod.so: tests/progs/lib/tls_mod.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -fPIC -shared -o $@ $<
$(BUILD)/tests/progs/libcount_alloc.so: tests/progs/lib/count_alloc.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -fPIC -shared -o $@ $<

# fork_lock (test_fork_exec): fork handlers preloaded after the agent that take a mutex.
EXTRA_TARGETS += $(BUILD)/tests/progs/libatfork_lock.so
$(BUILD)/tests/progs/libatfork_lock.so: tests/progs/lib/atfork_lock.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -fPIC -shared -o $@ $<
