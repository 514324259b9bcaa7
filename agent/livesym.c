/*
 * livesym.c — function names for the profiles the live server sends, from the modules'
 * ELF symbol tables (libtrace/elfsym.h; no libdw in the target).
 *
 * Each module's table is read once, on a server thread, the first time one of its
 * addresses needs a name, and kept for the life of the process (a table that cannot be
 * read — [vdso], a deleted file — is remembered as such). Locations get one line naming
 * the function (no file, no line number): C++ and Rust symbols demangled with libiberty,
 * as libtrace/demangle.h does for the CLI (the mangled symbol is the function's
 * system_name); mappings with a name found are marked
 * has_functions, so pprof clients use the names instead of asking for symbols. The files
 * written at exit keep only addresses (ctrace record symbolizes them fully with libdw).
 *
 * Thread-safety: the cache is shared by the handler threads under one mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal.h"
#include "agent/live.h"
#include "libtrace/demangle.h"
#include "libtrace/elfsym.h"

#define MAX_MODULES 512

static struct {
	char path[512];
	ct_elfsym *tab; /* NULL: unreadable */
} cache[MAX_MODULES];
static int ncache;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* The table of path, read on first use; NULL when unreadable. Under cache_mu. */
static const ct_elfsym *table_for(const char *path)
{
	for (int i = 0; i < ncache; i++)
		if (strcmp(cache[i].path, path) == 0)
			return cache[i].tab;
	ct_elfsym *t = NULL;
	if (path[0] == '/' && ct_elfsym_open(path, &t) < 0)
		t = NULL;
	if (ncache < MAX_MODULES) {
		snprintf(cache[ncache].path, sizeof(cache[ncache].path), "%s", path);
		cache[ncache++].tab = t;
	} else {
		ct_elfsym_free(t); /* no room to keep it: unnamed */
		t = NULL;
	}
	return t;
}

const char *ct_live_symbol(const ct_mapping *m, uint64_t addr, uint64_t *offset)
{
	if (addr < m->memory_start || addr >= m->memory_limit)
		return NULL;
	pthread_mutex_lock(&cache_mu);
	const ct_elfsym *t = table_for(m->filename);
	uint64_t off = addr - m->memory_start + m->file_offset, start = off;
	const char *name = t ? ct_elfsym_lookup(t, off, &start) : NULL;
	if (offset)
		*offset = off - start;
	pthread_mutex_unlock(&cache_mu);
	return name; /* tables are never freed: the name stays valid */
}

const char *ct_live_pretty(const char *name, char *out, size_t len)
{
	char *d = ct_demangle(name);
	if (!d)
		return name;
	snprintf(out, len, "%s", d);
	free(d);
	return out;
}

void ct_live_symbolize(ct_profile *p)
{
	for (uint32_t i = 0; i < p->nlocations; i++) {
		ct_location *l = &p->locations[i];
		if (!l->address || !l->mapping || l->nlines)
			continue;
		ct_mapping *m = &p->mappings[l->mapping - 1];
		const char *name = ct_live_symbol(m, l->address, NULL);
		if (!name)
			continue;
		char pretty[1024];
		uint32_t fn = ct_profile_add_function(
			p, ct_live_pretty(name, pretty, sizeof(pretty)), name, "", 0);
		if (fn == UINT32_MAX)
			return;
		ct_line line = {.function = fn, .line = 0};
		if (ct_profile_set_lines(p, i, &line, 1) < 0)
			return;
		m->has_functions = true;
	}
}
