/*
 * perfmap.c — reading perf maps (see perfmap.h).
 *
 * The regions are sorted by start address; a lookup binary-searches the last region
 * starting at or before the address and looks back a bounded number of regions for one
 * that covers it, preferring the line written last (code that moved or was replaced).
 * A final line without its newline is being written by a live JIT and is skipped.
 */
#include "libtrace/perfmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtrace/intern.h"
#include "libtrace/safefile.h"
#include "libtrace/vec.h"

enum { LOOK_BACK = 64 }; /* regions examined before the candidate, for overlaps */

struct region {
	uint64_t start, end;
	const char *name; /* interned */
	size_t seq;	  /* line order */
};

struct ct_perfmap {
	struct region *r;
	size_t n, cap;
	ct_intern names;
};

static int cmp_region(const void *a, const void *b)
{
	const struct region *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Parses "START SIZE name" (hex numbers, name to the end) into *r. False when malformed. */
static bool parse_line(ct_perfmap *m, char *line, struct region *r)
{
	char *end;
	errno = 0;
	r->start = strtoull(line, &end, 16);
	if (end == line || *end != ' ' || errno)
		return false;
	char *p = end + 1;
	uint64_t size = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || errno || !end[1] || size == 0 || r->start + size < r->start)
		return false;
	r->end = r->start + size;
	r->name = ct_intern_str(&m->names, end + 1);
	return true;
}

static int parse(ct_perfmap *m, FILE *f, const char *path, ct_error *err)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	long long at = 0;
	ssize_t n;
	int rc = 0;
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n')
			break; /* still being written */
		line[n - 1] = '\0';
		struct region r = {.seq = m->n};
		if (!parse_line(m, line, &r))
			rc = ct_error_set(err, EINVAL, at,
					  "%s: line %zu is not \"START SIZE name\" at byte %lld",
					  path, lineno, at);
		else if (!r.name || CT_VEC_RESERVE(m->r, m->cap, m->n + 1))
			rc = ct_error_set(err, ENOMEM, -1, "out of memory reading %s", path);
		else
			m->r[m->n++] = r;
		at += n;
	}
	free(line);
	if (!rc && ferror(f))
		rc = ct_error_set(err, EIO, at, "%s: read error at byte %lld", path, at);
	return rc;
}

int ct_perfmap_load(const char *path, ct_perfmap **out, ct_error *err)
{
	*out = NULL;
	int fd = ct_open_regular(path);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ct_error_set(err, e, -1, "cannot open %s: %s", path,
				    e == EINVAL ? "not a regular file" : strerror(e));
	}
	ct_perfmap *m = calloc(1, sizeof(*m));
	if (!m) {
		fclose(f);
		return ct_error_set(err, ENOMEM, -1, "out of memory reading %s", path);
	}
	ct_intern_init(&m->names, true);
	int rc = parse(m, f, path, err);
	fclose(f);
	if (rc) {
		ct_perfmap_free(m);
		return rc;
	}
	if (m->n)
		qsort(m->r, m->n, sizeof(*m->r), cmp_region);
	*out = m;
	return 0;
}

void ct_perfmap_free(ct_perfmap *m)
{
	if (!m)
		return;
	free(m->r);
	ct_intern_free(&m->names);
	free(m);
}

const char *ct_perfmap_lookup(const ct_perfmap *m, uint64_t addr)
{
	size_t lo = CT_VEC_UPPER_BOUND(m->r, m->n, start, addr);
	const struct region *best = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < LOOK_BACK; i--, k++) {
		const struct region *r = &m->r[i - 1];
		if (addr < r->end && (!best || r->seq > best->seq))
			best = r;
	}
	return best ? best->name : NULL;
}

size_t ct_perfmap_count(const ct_perfmap *m)
{
	return m->n;
}
