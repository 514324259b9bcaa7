/*
 * tracefix.h — test fixture shared by the trace suites (test_tracefmt, test_tracemodel,
 * test_tracereport): a trace writer on an anonymous file with its own stack table, and
 * reading back what it wrote (and the model built from it).
 */
#ifndef CT_TEST_TRACEFIX_H
#define CT_TEST_TRACEFIX_H

#include <check.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libtrace/tracemodel.h"
#include "libtrace/traceread.h"
#include "libtrace/tracewrite.h"

typedef struct {
	ct_tw *w;
	int fd;
	ct_stacks *stacks;
} tfix;

/* Module of the fixture: /usr/bin/app mapped at [0x400000, 0x500000) from offset 0x1000. */
#define TFIX_BASE 0x400000u

static inline void tfix_open(tfix *f, bool switches)
{
	f->fd = memfd_create("trace", 0);
	ck_assert_int_ge(f->fd, 0);
	f->stacks = ct_stacks_create(1024, 1 << 16);
	ck_assert_ptr_nonnull(f->stacks);
	const char *argv[] = {"/usr/bin/app", "--flag"};
	ct_tw_info info = {.pid = 100,
			   .argv = argv,
			   .argc = 2,
			   .engine = switches ? "perf" : "timer",
			   .has_switches = switches,
			   .sample_period_ns = 1000000,
			   .anchor = {.mono_ns = 1000, .wall_ns = 1700000000000000000ull},
			   .stacks = f->stacks};
	ck_assert_int_eq(ct_tw_open(&f->w, f->fd, &info), 0);
	ct_tw_module m = {.path = "/usr/bin/app",
			  .build_id = "abcdef",
			  .start = TFIX_BASE,
			  .end = TFIX_BASE + 0x100000,
			  .file_offset = 0x1000};
	ck_assert_int_eq(ct_tw_set_modules(f->w, &m, 1), 0);
}

/* Interns a stack of n PCs inside the module: TFIX_BASE + pcs[i]. */
static inline uint32_t tfix_stack(tfix *f, const uintptr_t *offsets, size_t n)
{
	uintptr_t pcs[16];
	for (size_t i = 0; i < n; i++)
		pcs[i] = TFIX_BASE + offsets[i];
	uint32_t id = ct_stacks_intern(f->stacks, pcs, n);
	ck_assert_uint_ne(id, 0);
	return id;
}

/* The bytes written so far (malloc'd). */
static inline uint8_t *tfix_bytes(const tfix *f, size_t *len)
{
	off_t n = lseek(f->fd, 0, SEEK_END);
	ck_assert_int_ge(n, 0);
	uint8_t *buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(f->fd, buf, (size_t)n, 0), n);
	*len = (size_t)n;
	return buf;
}

/* Closes the writer at end (footer written unless end == 0: then abandoned, as when
 * killed), frees the fixture, returns the file's bytes. */
static inline uint8_t *tfix_finish(tfix *f, uint64_t end, size_t *len)
{
	if (end)
		ck_assert_int_eq(ct_tw_close(f->w, end), 0);
	else
		ct_tw_free(f->w);
	uint8_t *buf = tfix_bytes(f, len);
	close(f->fd);
	ct_stacks_destroy(f->stacks);
	return buf;
}

/* Closes at end and decodes; the decode must succeed. */
static inline ct_trace *tfix_read(tfix *f, uint64_t end)
{
	size_t len;
	uint8_t *buf = tfix_finish(f, end, &len);
	ct_trace *t = NULL;
	ct_error err = {.offset = -1};
	int rc = ct_trace_decode(buf, len, &t, &err);
	if (rc)
		ck_abort_msg("decode failed: %s", err.msg);
	free(buf);
	return t;
}

/* A decoded trace and the model built from it. */
typedef struct {
	ct_trace *t;
	ct_trace_model *m;
} tfix_built;

/* Closes at end, decodes and builds the model; both must succeed. */
static inline tfix_built tfix_build(tfix *f, uint64_t end)
{
	tfix_built b = {.t = tfix_read(f, end)};
	ck_assert_int_eq(ct_trace_model_build(b.t, &b.m), 0);
	return b;
}

static inline void tfix_release(tfix_built *b)
{
	ct_trace_model_free(b->m);
	ct_trace_free(b->t);
}

#endif
