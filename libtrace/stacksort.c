/*
 * stacksort.c — the radix sort of stacks behind the report tree (see stacksort.h).
 */
#include "libtrace/stacksort.h"

#include <errno.h>
#include <stdlib.h>

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Puts the ns stacks (their frames already turned into ranks) into order: root-first
 * lexicographic, a stack before the stacks it is a prefix of; lcp[i] is how many frames
 * order[i] shares with order[i - 1]. A radix sort, most significant frame first but one
 * level at a time for all groups: the stacks that share their first d frames form a group
 * at positions [lo, lo + size) of the result; at level d each group is split by frame d
 * (the digit: rank + 1, or 0 for a stack that ends there, which sorts first) with a
 * counting sort over the digits that occur in it, and a subgroup that ended or holds one
 * stack is placed for good. Each level reads one frame per stack still in a group, so the
 * work is the stacks' distinguishing prefixes, where a comparison sort would re-read
 * shared prefixes at every comparison. */
typedef struct {
	const uint32_t *r; /* the stack's ranks */
	uint32_t len, k;   /* its length and index */
	uint32_t lo;	   /* where its group starts in the result */
	uint32_t digit;
} sort_item;

int ct_stacks_sort(const uint32_t *seq, const size_t *soff, uint32_t ns, uint32_t nf,
		   uint32_t *order, uint32_t *lcp)
{
	uint32_t n = ns;
	sort_item *it = malloc((ns ? ns : 1) * sizeof(*it)),
		  *tmp = malloc((ns ? ns : 1) * sizeof(*tmp));
	uint32_t *cnt = calloc((size_t)nf + 1, sizeof(*cnt));
	uint32_t *seen = malloc(((size_t)nf + 1) * sizeof(*seen));
	int rc = -ENOMEM;
	if (!it || !tmp || !cnt || !seen)
		goto out;
	if (ns)
		lcp[0] = 0;
	for (uint32_t i = 0; i < ns; i++)
		it[i] = (sort_item){
			.r = seq + soff[i], .len = (uint32_t)(soff[i + 1] - soff[i]), .k = i};
	for (uint32_t d = 0; n; d++) {
		for (uint32_t i = 0; i < n; i++)
			it[i].digit = d < it[i].len ? it[i].r[d] + 1 : 0;
		uint32_t next = 0; /* the stacks still grouped, rewritten in place */
		for (uint32_t a = 0, b; a < n; a = b) {
			uint32_t nseen = 0;
			for (b = a; b < n && it[b].lo == it[a].lo; b++)
				if (cnt[it[b].digit]++ == 0)
					seen[nseen++] = it[b].digit;
			qsort(seen, nseen, sizeof(*seen), cmp_u32);
			for (uint32_t j = 0, sum = a; j < nseen; j++) {
				uint32_t c = cnt[seen[j]];
				cnt[seen[j]] = sum;
				sum += c;
			}
			for (uint32_t i = a; i < b; i++)
				tmp[cnt[it[i].digit]++] = it[i];
			for (uint32_t j = 0; j < nseen; j++)
				cnt[seen[j]] = 0;
			/* Runs of one digit are the subgroups; tmp[i] goes to position lo + i - a.
			 * A run shares d frames with the one before it; the first run, what its
			 * group shared with the stack before the group. */
			uint32_t base = it[a].lo;
			for (uint32_t r = a, e; r < b; r = e) {
				for (e = r + 1; e < b && tmp[e].digit == tmp[r].digit;)
					e++;
				if (r > a)
					lcp[base + r - a] = d;
				for (uint32_t i = r; i < e; i++) {
					if (i > r && tmp[r].digit == 0)
						lcp[base + i - a] = d; /* the same stack again */
					if (tmp[r].digit == 0 || e - r == 1) {
						order[base + i - a] = tmp[i].k;
					} else {
						it[next] = tmp[i];
						it[next++].lo = base + r - a;
					}
				}
			}
		}
		n = next;
	}
	rc = 0;
out:
	free(it);
	free(tmp);
	free(cnt);
	free(seen);
	return rc;
}
