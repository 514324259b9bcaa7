/*
 * tracenames.c — the trace's names of new threads (tracenames.h): the process's name and a
 * table of the live threads named otherwise, open addressing with linear probing and
 * deletion by moving later entries back (no tombstones: a storm of short threads would
 * fill the table with them).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/tracenames.h"

#define TN_CAP 2048 /* live threads named unlike the process; a power of two */

typedef struct {
	uint32_t tid; /* 0: empty */
	char name[CT_TN_LEN];
} tn_entry;

static struct {
	char process[CT_TN_LEN];
	int overflow; /* an entry could not be added: the table is no longer complete */
	uint32_t n;
	tn_entry e[TN_CAP];
} tn;

static uint32_t tn_home(uint32_t tid)
{
	return (tid * 2654435761u) & (TN_CAP - 1);
}

static tn_entry *tn_find(uint32_t tid)
{
	for (uint32_t i = tn_home(tid);; i = (i + 1) & (TN_CAP - 1)) {
		if (tn.e[i].tid == tid)
			return &tn.e[i];
		if (!tn.e[i].tid)
			return NULL;
	}
}

static void tn_copy(char *dst, const char *src)
{
	size_t n = strnlen(src, CT_TN_LEN - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Adds or updates tid's entry; a full table (kept at most 3/4 full) sets overflow. */
static void tn_put(uint32_t tid, const char *name)
{
	tn_entry *e = tn_find(tid);
	if (!e) {
		if ((tn.n + 1) * 4 > TN_CAP * 3) {
			tn.overflow = 1;
			return;
		}
		uint32_t i = tn_home(tid);
		while (tn.e[i].tid)
			i = (i + 1) & (TN_CAP - 1);
		e = &tn.e[i];
		e->tid = tid;
		tn.n++;
	}
	tn_copy(e->name, name);
}

void ct_tn_reset(const char *name)
{
	/* Only the entries in use: in a forked child the table is the parent's, and writing
	 * all of it copied ten pages. */
	for (uint32_t i = 0; i < TN_CAP && tn.n; i++)
		if (tn.e[i].tid) {
			tn.e[i].tid = 0;
			tn.n--;
		}
	tn.n = 0;
	tn.overflow = 0;
	tn_copy(tn.process, name);
}

void ct_tn_gone(uint32_t tid)
{
	tn_entry *e = tid ? tn_find(tid) : NULL;
	if (!e)
		return;
	uint32_t i = (uint32_t)(e - tn.e);
	e->tid = 0;
	tn.n--;
	for (uint32_t j = (i + 1) & (TN_CAP - 1); tn.e[j].tid; j = (j + 1) & (TN_CAP - 1)) {
		tn_entry m = tn.e[j];
		tn.e[j].tid = 0;
		uint32_t k = tn_home(m.tid);
		while (tn.e[k].tid)
			k = (k + 1) & (TN_CAP - 1);
		tn.e[k] = m;
	}
}

void ct_tn_set(uint32_t tid, const char *name)
{
	if (!tid)
		return;
	char n[CT_TN_LEN];
	tn_copy(n, name);
	if (strcmp(n, tn.process) == 0)
		ct_tn_gone(tid); /* named like the process: no entry needed */
	else
		tn_put(tid, n);
}

int ct_tn_read(uint32_t tid, char *name)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, name, CT_TN_LEN - 1);
	close(fd);
	if (n <= 0)
		return 0;
	name[n] = 0;
	name[strcspn(name, "\n")] = 0;
	return 1;
}

int ct_tn_new_thread(uint32_t creator, uint32_t child, bool ended, char *out)
{
	int named = 0;
	if (!tn.overflow) {
		const tn_entry *c = creator ? tn_find(creator) : NULL;
		tn_copy(out, c ? c->name : tn.process);
		ct_tn_set(child, out); /* also drops a left-over entry of an earlier life */
		named = 1;
	} else if (!ended) {
		named = ct_tn_read(child, out);
	}
	if (ended)
		ct_tn_gone(child);
	return named;
}
